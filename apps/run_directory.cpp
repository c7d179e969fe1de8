#include "apps/run_directory.h"

#include <torch/torch.h>
#include <torch/version.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/atomic_file.h"
#include "core/device.h"
#include "core/error.h"
#include "trainers/checkpoint.h"
#include "trainers/trainer.h"

namespace dgm {
namespace fs = std::filesystem;

namespace {
constexpr int kRunFormat = 1;
}

std::string libtorch_version() {
  return fmt::format("{}.{}.{}", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH);
}

void write_run_files(const std::string& dir, const Config& config, const RunMetadata& metadata) {
  fs::create_directories(dir);
  write_text_atomically((fs::path(dir) / "config.yaml").string(), config_to_yaml(config));
  nlohmann::json run{{"format", kRunFormat},
                     {"dgm_version", metadata.dgm_version},
                     {"libtorch_version", metadata.libtorch_version},
                     {"data_dim", metadata.data_dim},
                     {"image_shape", metadata.image_shape}};
  write_text_atomically((fs::path(dir) / "run.json").string(), run.dump(2) + "\n");
}

RunMetadata read_run_metadata(const std::string& dir) {
  const std::string path = (fs::path(dir) / "run.json").string();
  if (!fs::exists(path)) fail("{} is not a dgm run directory: it has no run.json (make one with `dgm train`)", dir);
  nlohmann::json run;
  try {
    run = nlohmann::json::parse(read_text_file(path));
  } catch (const nlohmann::json::exception& e) {
    fail("{} is not valid JSON: {}", path, e.what());
  }
  try {
    const int format = run.at("format").get<int>();
    if (format > kRunFormat)
      fail("{} was written by a newer dgm (run format {}, this dgm {} reads up to {}); upgrade dgm", path, format,
           DGM_VERSION, kRunFormat);
    RunMetadata metadata;
    metadata.dgm_version = run.at("dgm_version").get<std::string>();
    metadata.libtorch_version = run.at("libtorch_version").get<std::string>();
    metadata.data_dim = run.at("data_dim").get<int64_t>();
    metadata.image_shape = run.at("image_shape").get<std::vector<int64_t>>();
    return metadata;
  } catch (const nlohmann::json::exception& e) {
    fail("{} lacks a field or has one of the wrong type: {}", path, e.what());
  }
}

LoadedRun load_run(const std::string& dir, const torch::Device& device) {
  if (!fs::is_directory(dir)) fail("run directory {} does not exist", dir);
  LoadedRun run;
  run.metadata = read_run_metadata(dir);
  run.config = load_config((fs::path(dir) / "config.yaml").string());
  run.model = Vae(VaeOptions::from_config(run.config.model, run.metadata.data_dim, run.metadata.image_shape));
  run.model->to(device, resolve_dtype(run.config.train.dtype));
  run.checkpoint = best_checkpoint_path(dir);
  if (!fs::exists(run.checkpoint)) run.checkpoint = last_checkpoint_path(dir);
  if (!fs::exists(run.checkpoint)) fail("run directory {} has no checkpoint (best.pt or last.pt)", dir);
  try {
    load_checkpoint(run.checkpoint, *run.model);
  } catch (const Error& e) {
    if (run.metadata.libtorch_version != libtorch_version())
      fail("{} (the run was written with LibTorch {}, this dgm uses {})", e.what(), run.metadata.libtorch_version,
           libtorch_version());
    throw;
  }
  run.model->eval();
  return run;
}

}  // namespace dgm
