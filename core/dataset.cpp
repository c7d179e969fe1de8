#include "core/dataset.h"

#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "core/idx.h"
#include "core/npy.h"
#include "core/random.h"

namespace dgm {
namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string missing_data_hint(const std::string& path) {
  if (path.rfind(kFashionMnistDir, 0) == 0)
    return "; it comes with Debian's package dataset-fashion-mnist: apt-get install dataset-fashion-mnist";
  return "; set data.path to an IDX directory or an IDX/NPY file";
}

}  // namespace

ImageSet load_examples(DataConfig config, const std::string& path, const std::string& split, int64_t n) {
  std::error_code ec;
  ImageSet set;
  if (!path.empty() && !fs::is_directory(path, ec)) {
    set = read_images(path);
  } else {
    if (!path.empty()) config.path = path;
    set = load_images(config, split);
  }
  if (n > 0 && n < set.size()) set.x = set.x.slice(0, 0, n);
  return set;
}

std::string images_file(const DataConfig& config, const std::string& split) {
  if (split != "train" && split != "test") fail("unknown split '{}': use train or test", split);
  std::error_code ec;
  if (fs::is_directory(config.path, ec)) {
    const std::string stem = split == "train" ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte";
    for (const auto& name : {stem + ".gz", stem}) {
      const auto candidate = (fs::path(config.path) / name).string();
      if (fs::exists(candidate, ec)) return candidate;
    }
    fail("data directory {} has no {}[.gz] for the {} split{}", config.path, stem, split,
         missing_data_hint(config.path));
  }
  if (split == "test") {
    if (config.test_path.empty())
      fail("data.path {} is a single file, so data.test_path must name the test images file", config.path);
    if (!fs::exists(config.test_path, ec)) fail("test data file {} does not exist", config.test_path);
    return config.test_path;
  }
  if (!fs::exists(config.path, ec)) fail("data path {} does not exist{}", config.path, missing_data_hint(config.path));
  return config.path;
}

ImageSet read_images(const std::string& path) {
  torch::Tensor raw = ends_with(path, ".npy") ? read_npy(path) : read_idx(path);
  if (raw.dim() < 2 || raw.dim() > 4)
    fail("{} has shape {}: expected [N, D], [N, H, W] or [N, C, H, W]", path, c10::str(raw.sizes()));
  ImageSet set;
  set.source = path;
  if (raw.dim() == 3) set.image_shape = {raw.size(1), raw.size(2)};
  if (raw.dim() == 4) set.image_shape = {raw.size(1), raw.size(2), raw.size(3)};
  if (raw.dim() == 2) {
    const auto side = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(raw.size(1)))));
    if (side * side == raw.size(1)) set.image_shape = {side, side};
  }
  auto flat = raw.reshape({raw.size(0), -1});
  if (raw.scalar_type() == torch::kUInt8) {
    set.x = flat.to(torch::kFloat32).div_(255.0);
  } else {
    set.x = flat.to(torch::kFloat32);
    if (!torch::isfinite(set.x).all().item<bool>())
      fail("{} contains NaN or infinite values; clean the data before training", path);
  }
  return set;
}

ImageSet load_images(const DataConfig& config, const std::string& split) {
  ImageSet set = read_images(images_file(config, split));
  if (split == "train" && config.limit > 0 && config.limit < set.size()) set.x = set.x.slice(0, 0, config.limit);
  return set;
}

TrainValidation split_validation(const ImageSet& all, int64_t val_size, uint64_t seed) {
  if (val_size >= all.size())
    fail("data.val_size = {} leaves no training examples out of {} in {}; lower it", val_size, all.size(), all.source);
  seed_everything(derive_seed(seed, 0x5e11d));
  auto order = torch::randperm(all.size(), torch::TensorOptions().dtype(torch::kLong));
  auto val_index = order.slice(0, 0, val_size).to(all.x.device());
  auto train_index = order.slice(0, val_size).to(all.x.device());
  return {{all.x.index_select(0, train_index), all.image_shape, all.source},
          {all.x.index_select(0, val_index), all.image_shape, all.source}};
}

torch::Tensor binarize(const torch::Tensor& x) { return torch::bernoulli(x); }

torch::Tensor binarize_seeded(const torch::Tensor& x, uint64_t seed) {
  seed_everything(seed);
  return binarize(x);
}

void check_unit_interval(const torch::Tensor& x, const std::string& source) {
  const double low = x.min().item<double>(), high = x.max().item<double>();
  if (low < 0.0 || high > 1.0)
    fail(
        "{} has values in [{}, {}], but a Bernoulli likelihood needs data in [0, 1]: rescale it, or set "
        "model.likelihood=gaussian and data.binarize=none",
        source, low, high);
}

EpochBatches::EpochBatches(int64_t n, int64_t batch_size, uint64_t seed, const torch::Device& device)
    : batch_size_(batch_size), count_((n + batch_size - 1) / batch_size) {
  seed_everything(seed);
  order_ = torch::randperm(n, torch::TensorOptions().dtype(torch::kLong)).to(device);
}

torch::Tensor EpochBatches::indices(int64_t i) const {
  TORCH_CHECK(i >= 0 && i < count_, "batch ", i, " out of range [0, ", count_, ")");
  return order_.slice(0, i * batch_size_, std::min(order_.size(0), (i + 1) * batch_size_));
}

}  // namespace dgm
