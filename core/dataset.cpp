#include "core/dataset.h"

#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <optional>

#include "core/cifar.h"
#include "core/data_sources.h"
#include "core/error.h"
#include "core/idx.h"
#include "core/image_folder.h"
#include "core/memory_budget.h"
#include "core/random.h"

namespace dgm {
namespace fs = std::filesystem;

namespace {

std::string missing_data_hint(const std::string& path) {
  if (path.rfind(kFashionMnistDir, 0) == 0)
    return "; it comes with Debian's package dataset-fashion-mnist: apt-get install dataset-fashion-mnist";
  return "; set data.path to an IDX or CIFAR directory, an image folder or a data file (IDX, NPY, NPZ, CSV, CIFAR "
         ".bin)";
}

/// An image folder's split: its train/ subfolder, or test/ (else val/).
std::string image_folder_split(const std::string& dir, Split split) {
  std::error_code ec;
  const fs::path root(dir);
  if (!fs::is_directory(root / "train", ec) || !is_image_folder((root / "train").string())) return "";
  if (split == Split::kTrain) return (root / "train").string();
  for (const char* name : {"test", "val"})
    if (fs::is_directory(root / name, ec)) return (root / name).string();
  fail("image folder {} has a train/ subfolder but no test/ or val/ for the test split", dir);
}

/// Whether `dir` is itself one split's pictures: an image folder that is not
/// the root of an IDX, CIFAR or split image folder.
bool is_leaf_image_folder(const std::string& dir) {
  return cifar_batches(dir, true).empty() && image_folder_split(dir, Split::kTrain).empty() && is_image_folder(dir);
}

}  // namespace

ImageSet ImageSet::first(int64_t n) const {
  if (n <= 0 || n >= size()) return *this;
  return {x.slice(0, 0, n), image_shape, source, labels.defined() ? labels.slice(0, 0, n) : labels};
}

ImageSet ImageSet::select(const torch::Tensor& index) const {
  return {x.index_select(0, index.to(x.device())), image_shape, source,
          labels.defined() ? labels.index_select(0, index.to(labels.device())) : labels};
}

int64_t ImageSet::labelled() const { return labels.defined() ? (labels >= 0).sum().item<int64_t>() : 0; }

ImageSet load_examples(DataOptions options, const std::string& path, Split split, int64_t n) {
  std::error_code ec;
  ImageSet set;
  if (!path.empty() && (!fs::is_directory(path, ec) || is_leaf_image_folder(path))) {
    set = read_images(path, options);
  } else {
    if (!path.empty()) options.path = path;
    set = load_images(options, split);
  }
  return set.first(n);
}

namespace {

/// The IDX stem of a split's images in an MNIST-format directory (their
/// labels are found beside them, see labels_beside).
std::string idx_stem(Split split) {
  return fmt::format("{}-images-idx3-ubyte", split == Split::kTrain ? "train" : "t10k");
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
    const std::string stem = idx_stem(split);
    auto found = find_idx(options.path, stem);
    // A CIFAR directory: its training split is every data_batch_N.bin (the
    // directory stands for them), its test split test_batch.bin (test.bin).
    if (found.empty()) {
      const auto batches = cifar_batches(options.path, split == Split::kTrain);
      if (batches.size() > 1) return options.path;
      if (batches.size() == 1) {
        if (!fs::exists(batches[0], ec))
          fail("CIFAR directory {} has no {} for the {} split", options.path, fs::path(batches[0]).filename().string(),
               to_string(split));
        return batches[0];
      }
    }
    if (found.empty()) {
      if (auto pictures = image_folder_split(options.path, split); !pictures.empty()) return pictures;
      if (is_image_folder(options.path)) {
        if (split == Split::kTrain) return options.path;
        if (options.test_path.empty())
          fail(
              "data.path {} is an image folder of one split, so data.test_path must name the test pictures' folder "
              "(or give it train/ and test/ subfolders)",
              options.path);
        if (!fs::exists(options.test_path, ec)) fail("test data {} does not exist", options.test_path);
        return options.test_path;
      }
    }
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

namespace {

/// The IDX label file beside an IDX images file ("t10k-images-idx3-ubyte.gz"
/// -> "t10k-labels-idx1-ubyte[.gz]"), or "" when there is none.
std::string labels_beside(const std::string& images_path) {
  const fs::path path(images_path);
  std::string name = path.filename().string();
  if (name.size() > 3 && name.compare(name.size() - 3, 3, ".gz") == 0) name.resize(name.size() - 3);
  for (const auto& [images, labels] : {std::pair<std::string, std::string>{"images-idx3", "labels-idx1"},
                                       std::pair<std::string, std::string>{"images.idx3", "labels.idx1"}}) {
    const auto at = name.find(images);
    if (at == std::string::npos) continue;
    std::string stem = name;
    stem.replace(at, images.size(), labels);
    return find_idx(path.parent_path().string(), stem);
  }
  return "";
}

/// Labels from an IDX file for the `count` examples of `images`.
torch::Tensor read_label_file(const std::string& labels_path, int64_t count, const std::string& images) {
  auto labels = read_idx(labels_path);
  if (labels.dim() != 1 || labels.size(0) != count)
    fail("{} has {} labels of shape {}, but {} has {} examples", labels_path, labels.numel(), c10::str(labels.sizes()),
         images, count);
  return labels.to(torch::kLong);
}

/// The first of `values` (float64 [N]) that is not a label (a whole number
/// from -1 up), or nullopt.
std::optional<int64_t> first_bad_label(const torch::Tensor& values) {
  auto bad = (values != values.round()) | (values < -1) | ~torch::isfinite(values);
  if (!bad.any().item<bool>()) return std::nullopt;
  return bad.nonzero()[0][0].item<int64_t>();
}

/// Column `column` of a [N, D] file as int64 labels (-1 = unknown class).
torch::Tensor label_column_of(const torch::Tensor& raw, int64_t column, const std::string& path) {
  if (raw.dim() != 2)
    fail("{} has shape {}: data.label_column needs a table of examples [N, D]; unset it for pictures", path,
         c10::str(raw.sizes()));
  if (column >= raw.size(1))
    fail("data.label_column = {}, but {} has only {} columns (0 .. {})", column, path, raw.size(1), raw.size(1) - 1);
  auto values = raw.select(1, column).to(torch::kFloat64);
  if (const auto row = first_bad_label(values))
    fail("{}: row {} has {} in the label column {}: a label is a class 0, 1, 2, ... (or -1 for an unknown class)", path,
         *row + 1, values[*row].item<double>(), column);
  return values.to(torch::kLong);
}

/// An archive's array of labels for `count` examples: whole numbers, one per
/// example, -1 for an unknown class.
torch::Tensor labels_array(const torch::Tensor& labels, int64_t count, const std::string& path,
                           const std::string& key) {
  if (labels.dim() != 1 || labels.size(0) != count)
    fail("{}: the labels '{}' (data.labels_key) have shape {}, but the examples are {}: one label per example", path,
         key, c10::str(labels.sizes()), count);
  auto values = labels.to(torch::kFloat64);
  if (const auto row = first_bad_label(values))
    fail("{}: label {} of '{}' is {}: a label is a class 0, 1, 2, ... (or -1 for an unknown class)", path, *row, key,
         values[*row].item<double>());
  return values.to(torch::kLong);
}

}  // namespace

ImageSet read_images(const std::string& path, int64_t label_column, const DataKeys& keys) {
  DataOptions options;
  options.label_column = label_column;
  options.key = keys.key;
  options.labels_key = keys.labels_key;
  return read_images(path, options);
}

ImageSet read_images(const std::string& path, const DataOptions& options) {
  const int64_t label_column = options.label_column;
  const DataKeys keys{options.key, options.labels_key};
  std::error_code ec;
  DataFile file;
  if (fs::is_directory(path, ec)) {  // a CIFAR directory's training batches, or pictures
    if (!keys.empty()) fail("{}: data.key and data.labels_key name arrays of an .npz archive; unset them", path);
    if (label_column >= 0)
      fail("{} is a directory: data.label_column names a column of a CSV or NPY table; unset it", path);
    const auto batches = cifar_batches(path, true);
    if (!batches.empty()) {
      file = read_cifar_batches(batches);
    } else if (is_image_folder(path)) {
      file = read_image_folder(path, {options.image_size, options.channels, options.strict});
    } else {
      fail("{} is a directory without CIFAR batches (data_batch_1.bin, ...) or pictures (an image folder)", path);
    }
  } else {
    file = read_data(path, keys);
  }
  torch::Tensor raw = file.x;
  if (raw.dim() < 2 || raw.dim() > 4)
    fail("{} has shape {}: expected [N, D], [N, H, W] or [N, C, H, W]", path, c10::str(raw.sizes()));
  ImageSet set;
  set.source = path;
  if (file.labels.defined()) {
    if (label_column >= 0)
      fail("{}: data.label_column = {} and data.labels_key = '{}' both name labels; keep one", path, label_column,
           keys.labels_key);
    set.labels = labels_array(file.labels, raw.size(0), path, keys.labels_key);
  } else if (label_column >= 0) {
    set.labels = label_column_of(raw, label_column, path);
    if (raw.size(1) == 1) fail("{} holds only the label column {}: it has no values to model", path, label_column);
    raw = torch::cat({raw.narrow(1, 0, label_column), raw.narrow(1, label_column + 1, raw.size(1) - label_column - 1)},
                     1);
  } else if (const auto beside = labels_beside(path); !beside.empty()) {
    set.labels = read_label_file(beside, raw.size(0), path);
  }
  if (raw.dim() == 3) set.image_shape = {raw.size(1), raw.size(2)};
  if (raw.dim() == 4) set.image_shape = {raw.size(1), raw.size(2), raw.size(3)};
  if (raw.dim() == 2) {
    const auto side = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(raw.size(1)))));
    if (side * side == raw.size(1)) set.image_shape = {side, side};
  }
  auto flat = raw.reshape({raw.size(0), -1});
  check_memory(saturating_product({static_cast<uint64_t>(flat.size(0)), static_cast<uint64_t>(flat.size(1)), 4}),
               fmt::format("the {} examples of {} as float32 ({} values each)", flat.size(0), path, flat.size(1)),
               "give dgm fewer or smaller examples (data larger than memory is not supported), or raise --memory-limit "
               "if the machine has the memory");
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
  ImageSet set = read_images(images_file(options, split), options);
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
  return {all.select(train_index), all.select(val_index)};
}

ImageSet keep_labels_per_class(const ImageSet& set, int64_t per_class, uint64_t seed) {
  if (per_class < 0) return set;
  if (!set.labels.defined()) {
    if (per_class == 0) return set;
    fail(
        "data.labels_per_class = {} needs labels, but {} has none: use an MNIST-format directory (its "
        "*-labels-idx1-ubyte files), an IDX images file with its labels file beside it, or data.label_column for a "
        "CSV or NPY file",
        per_class, set.source);
  }
  ImageSet out = set;
  auto labels = set.labels.to(torch::kCPU);
  auto kept = torch::full_like(labels, -1);
  if (per_class > 0) {
    seed_everything(derive_seed(seed, 0x1abe1));
    const int64_t classes = labels.max().item<int64_t>() + 1;
    for (int64_t c = 0; c < classes; ++c) {
      auto members = (labels == c).nonzero().flatten();
      if (members.numel() == 0) continue;
      if (members.numel() < per_class)
        fail("data.labels_per_class = {}, but class {} has only {} labelled training examples in {}; lower it",
             per_class, c, members.numel(), set.source);
      auto chosen = members.index_select(0, torch::randperm(members.numel(), torch::kLong).slice(0, 0, per_class));
      kept.index_fill_(0, chosen, c);
    }
  }
  out.labels = kept.to(set.labels.device());
  return out;
}

void check_labels(const ImageSet& set, int64_t classes, const std::string& what) {
  if (!set.labels.defined() || set.labels.numel() == 0) return;
  const int64_t low = set.labels.min().item<int64_t>(), high = set.labels.max().item<int64_t>();
  if (low < -1)
    fail("{} has the label {}: a label is a class 0 .. {} (or -1 for a hidden one)", set.source, low, classes - 1);
  if (high >= classes)
    fail("{} has labels up to {} ({} classes), but {} = {}: set {}={} or more", set.source, high, high + 1, what,
         classes, what, high + 1);
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

void check_levels(const torch::Tensor& x, int64_t levels, const std::string& source) {
  const double top = static_cast<double>(levels - 1);
  const auto scaled = x.to(torch::kFloat64) * top;
  const auto bad = (scaled - scaled.round()).abs().gt(1e-3 * top / 255.0) | scaled.lt(-1e-6) | scaled.gt(top + 1e-6);
  if (!bad.any().item<bool>()) return;
  const auto at = bad.flatten().nonzero()[0][0].item<int64_t>();
  fail(
      "{}: value {} is {}, not one of the {} levels k / {} in [0, 1] that a discretized likelihood models (8-bit "
      "pixels, as dgm reads uint8 files); use model.likelihood=gaussian for continuous data",
      source, at, x.flatten()[at].item<double>(), levels, levels - 1);
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
