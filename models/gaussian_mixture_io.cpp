#include "models/gaussian_mixture_io.h"

#include <torch/serialize.h>
#include <torch/torch.h>

#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/npy.h"
#include "core/torch_archive.h"

namespace dgm {
namespace fs = std::filesystem;

void save_mixture(const std::string& dir, const GaussianMixture& mixture, const nlohmann::json& summary) {
  fs::create_directories(dir);
  // All five files change together: a failed save (a full disk) leaves the
  // mixture that was in `dir` loadable, and gmm.json, renamed last, never
  // describes parameters that are not there.
  AtomicFileSet files;
  torch::serialize::OutputArchive archive;
  archive.write("weights", mixture.weights().cpu());
  archive.write("means", mixture.means().cpu());
  archive.write("precision_cholesky", mixture.precision_cholesky().cpu());
  write_sink_atomically(files.temporary((fs::path(dir) / "gmm.pt").string()),
                        [&](const ByteSink& sink) { archive.save_to(sink); });
  // The same parameters as NumPy files under scikit-learn's names, for use
  // elsewhere (GaussianMixture(weights_init=..., means_init=..., precisions_init=...)).
  write_npy(files.temporary((fs::path(dir) / "weights.npy").string()), mixture.weights().cpu());
  write_npy(files.temporary((fs::path(dir) / "means.npy").string()), mixture.means().cpu());
  write_npy(files.temporary((fs::path(dir) / "precisions_cholesky.npy").string()), mixture.precision_cholesky().cpu());
  nlohmann::json meta = summary;
  meta["format"] = 1;
  meta["covariance_type"] = to_string(mixture.type());
  meta["components"] = mixture.components();
  meta["dimensions"] = mixture.data_dim();
  write_text_atomically(files.temporary((fs::path(dir) / "gmm.json").string()), meta.dump(2) + "\n");
  files.commit();
}

GaussianMixture load_mixture(const std::string& dir, torch::Device device, torch::Dtype dtype) {
  const std::string meta_path = (fs::path(dir) / "gmm.json").string();
  const std::string tensor_path = (fs::path(dir) / "gmm.pt").string();
  if (!fs::exists(meta_path) || !fs::exists(tensor_path))
    fail("{} holds no fitted mixture (gmm.json and gmm.pt); make one with `dgm gmm fit --out {}`", dir, dir);
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(read_text_file(meta_path));
  } catch (const nlohmann::json::exception& e) {
    fail("{} is not valid JSON: {}", meta_path, without_tag(e.what()));
  }
  CovarianceType type;
  try {
    type = parse_enum<CovarianceType>(meta.at("covariance_type").get<std::string>());
  } catch (const nlohmann::json::exception& e) {
    fail("{} lacks covariance_type: {}", meta_path, without_tag(e.what()));
  }
  torch::Tensor weights, means, precision;
  check_torchscript_archive(tensor_path);
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(tensor_path);
    archive.read("weights", weights);
    archive.read("means", means);
    archive.read("precision_cholesky", precision);
  } catch (const c10::Error& e) {
    fail("{} cannot be read (damaged?): {}", tensor_path, first_line(e.what_without_backtrace()));
  }
  try {
    return GaussianMixture(weights.to(device, dtype), means.to(device, dtype), precision.to(device, dtype), type);
  } catch (const Error& e) {
    fail("{} does not hold a consistent mixture: {}", tensor_path, without_tag(e.what()));
  } catch (const c10::Error& e) {
    fail("{} does not hold a consistent mixture: {}", tensor_path, first_line(e.what_without_backtrace()));
  }
}

}  // namespace dgm
