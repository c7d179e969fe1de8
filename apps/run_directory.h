#pragma once
// A run directory holds everything `dgm eval` and `dgm sample` need: the
// resolved config.yaml, run.json (versions, data shape), best.pt / last.pt,
// metrics.jsonl and the PNG grids.

#include <torch/types.h>

#include <string>
#include <vector>

#include "core/config.h"
#include "models/vae.h"

namespace dgm {

struct RunMetadata {
  std::string dgm_version;
  std::string libtorch_version;
  int64_t data_dim = 0;
  std::vector<int64_t> image_shape;
};

/// The LibTorch version this program was built against, e.g. "1.13.1".
std::string libtorch_version();

/// Writes config.yaml and run.json into `dir` (atomically).
void write_run_files(const std::string& dir, const Config& config, const RunMetadata& metadata);

/// Reads run.json; a missing or malformed file is a dgm::Error that says why.
RunMetadata read_run_metadata(const std::string& dir);

/// A trained model loaded from a run directory.
struct LoadedRun {
  Config config;
  RunMetadata metadata;
  Vae model{nullptr};
  std::string checkpoint;  ///< the file the weights came from
};

/// Loads config, metadata and the best checkpoint (last.pt when there is no
/// best.pt yet) onto `device`, in eval mode.
LoadedRun load_run(const std::string& dir, const torch::Device& device);

}  // namespace dgm
