#include "core/dataset.h"

#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "core/data_sources.h"
#include "core/error.h"
#include "core/idx.h"
#include "core/random.h"

namespace dgm {
namespace fs = std::filesystem;

namespace {

std::string missing_data_hint(const std::string& path) {
  if (path.rfind(kFashionMnistDir, 0) == 0)
    return "; it comes with Debian's package dataset-fashion-mnist: apt-get install dataset-fashion-mnist";
  return "; set data.path to an IDX directory or a data file (IDX, NPY, CSV)";
}

}  // namespace

ImageSet ImageSet::first(int64_t n) const {
  if (n <= 0 || n >= size()) return *this;
  return {x.slice(0, 0, n), image_shape, source, labels.defined() ? labels.slice(0, 0, n) : labels};
}

ImageSet load_examples(DataOptions options, const std::string& path, Split split, int64_t n) {
  std::error_code ec;
  ImageSet set;
  if (!path.empty() && !fs::is_directory(path, ec)) {
    set = read_images(path);
  } else {
    if (!path.empty()) options.path = path;
    set = load_images(options, split);
  }
  return set.first(n);
}

namespace {

/// The IDX stem of a split's images or labels in an MNIST-format directory.
std::string idx_stem(Split split, bool labels) {
  return fmt::format("{}-{}-idx{}-ubyte", split == Split::kTrain ? "train" : "t10k", labels ? "labels" : "images",
                     labels ? 1 : 3);
}

/// The file `stem`[.gz] in `dir`, or "".
std::string find_idx(const std::string& dir, const std::string& stem) {
  std::error_code ec;
  for (const auto& name : {stem + ".gz", stem}) {
    const auto candidate = (fs::path(dir) / name).string();
    if (fs::exists(candidate, ec)) return candidate;
  }
  return "";
}

}  // namespace

std::string images_file(const DataOptions& options, Split split) {
  std::error_code ec;
  if (fs::is_directory(options.path, ec)) {
    const std::string stem = idx_stem(split, false);
    auto found = find_idx(options.path, stem);
    if (found.empty())
      fail("data directory {} has no {}[.gz] for the {} split{}", options.path, stem, to_string(split),
           missing_data_hint(options.path));
    return found;
  }
  if (split == Split::kTest) {
    if (options.test_path.empty())
      fail("data.path {} is a single file, so data.test_path must name the test examples file", options.path);
    if (!fs::exists(options.test_path, ec)) fail("test data file {} does not exist", options.test_path);
    return options.test_path;
  }
  if (!fs::exists(options.path, ec))
    fail("data path {} does not exist{}", options.path, missing_data_hint(options.path));
  return options.path;
}

ImageSet read_images(const std::string& path) {
  torch::Tensor raw = read_data_file(path);
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

ImageSet load_images(const DataOptions& options, Split split) {
  ImageSet set = read_images(images_file(options, split));
  std::error_code ec;
  if (fs::is_directory(options.path, ec)) {
    const auto labels_path = find_idx(options.path, idx_stem(split, true));
    if (!labels_path.empty()) {
      auto labels = read_idx(labels_path);
      if (labels.dim() != 1 || labels.size(0) != set.size())
        fail("{} has {} labels of shape {}, but {} has {} examples", labels_path, labels.numel(),
             c10::str(labels.sizes()), set.source, set.size());
      set.labels = labels.to(torch::kLong);
    }
  }
  if (split == Split::kTrain && options.limit > 0) set = set.first(options.limit);
  return set;
}

TrainValidation split_validation(const ImageSet& all, int64_t val_size, uint64_t seed) {
  if (val_size >= all.size())
    fail("data.val_size = {} leaves no training examples out of {} in {}; lower it", val_size, all.size(), all.source);
  seed_everything(derive_seed(seed, 0x5e11d));
  auto order = torch::randperm(all.size(), torch::TensorOptions().dtype(torch::kLong));
  auto val_index = order.slice(0, 0, val_size).to(all.x.device());
  auto train_index = order.slice(0, val_size).to(all.x.device());
  auto pick = [&](const torch::Tensor& index) {
    return ImageSet{all.x.index_select(0, index), all.image_shape, all.source,
                    all.labels.defined() ? all.labels.index_select(0, index.to(all.labels.device())) : torch::Tensor()};
  };
  return {pick(train_index), pick(val_index)};
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
