#pragma once
// Data sets held as one tensor on the chosen device: the data.* options of a
// config, loading a split, a seeded validation split, shuffled mini-batches
// and binarization.

#include <torch/types.h>

#include <string>
#include <vector>

#include "core/data_sources.h"
#include "core/options.h"

namespace dgm {

/// Where Debian's dataset-fashion-mnist package puts its IDX files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

/// How [0, 1] pixels become the binary data of a Bernoulli model.
enum class Binarization {
  kDynamic,  ///< a fresh Bernoulli draw per pixel every epoch
  kFixed,    ///< one seeded draw, kept
  kNone,     ///< the values as they are
};
DGM_ENUM_NAMES(Binarization, "binarization", {Binarization::kDynamic, "dynamic"}, {Binarization::kFixed, "fixed"},
               {Binarization::kNone, "none"});

enum class Split { kTest, kTrain };
DGM_ENUM_NAMES(Split, "split", {Split::kTest, "test"}, {Split::kTrain, "train"});

// clang-format off
#define DGM_DATA_OPTIONS(X)                                                                                       \
  X(std::string, path, kFashionMnistDir,                                                                          \
    "an IDX directory (train-images-idx3-ubyte[.gz], t10k-images-idx3-ubyte[.gz]), a CIFAR-10/100 directory "     \
    "(data_batch_N.bin and test_batch.bin, or train.bin and test.bin), an image folder (class subfolders of "    \
    "PNG/JPEG pictures; its train/ and test/ or val/ subfolders are the splits) or one data file of training "   \
    "examples (IDX, NPY, NPZ, CSV, CIFAR .bin)", any_value())                                                     \
  X(std::string, test_path, "", "the test examples when path is a single file", any_value())                     \
  X(Binarization, binarize, Binarization::kDynamic,                                                               \
    "dynamic (resampled every epoch), fixed (seeded, once) or none", any_value())                                 \
  X(int64_t, val_size, 5000, "training examples held out (seeded) for validation", at_least(1))                  \
  X(int64_t, limit, 0, "use only the first N training examples (0 = all)", at_least(0))                          \
  X(int64_t, label_column, -1,                                                                                    \
    "a CSV or NPY [N, D] file's column that holds each example's class, taken out of the examples (-1 = none; "  \
    "IDX files find their labels beside them)", at_least(-1))                                                     \
  X(int64_t, labels_per_class, -1,                                                                                \
    "labels the training split keeps: -1 every label the data has, 0 none (unsupervised), N per class (seeded, "  \
    "balanced; the others hidden)", at_least(-1))                                                                 \
  X(std::string, key, "", "the array of the examples in an .npz archive (empty: its only array)", any_value())   \
  X(std::string, labels_key, "",                                                                                  \
    "the array of the examples' labels in an .npz archive (integers, -1 unknown; empty: none)", any_value())      \
  X(int64_t, image_size, 0,                                                                                       \
    "an image folder's pictures resized (bilinear, antialiased) to this shorter side and centre-cropped square "  \
    "(0 = keep their size, which must be one)", at_least(0))                                                      \
  X(int64_t, channels, 0, "an image folder's pictures as 1 (grey) or 3 (RGB) channels (0 = 3 if any has colour)", \
    at_least(0))                                                                                                  \
  X(bool, strict, false,                                                                                          \
    "an image folder's unreadable picture is an error (true) or skipped with a warning naming it (false)",        \
    any_value())
// clang-format on

/// The data.* section of a config: which examples, and how they are binarized.
struct DataOptions {
  DGM_DATA_OPTIONS(DGM_OPTION_MEMBER)
};
DGM_OPTION_TABLE(DataOptions, DGM_DATA_OPTIONS)

/// The size of one example and, for pictures, its shape.
struct DataShape {
  int64_t dim = 0;
  /// [H, W] or [C, H, W]; empty when the examples are not pictures.
  std::vector<int64_t> image_shape;
};

/// N examples flattened to [N, D] (float32; uint8 pixels scaled to [0, 1]).
struct ImageSet {
  torch::Tensor x;
  /// [H, W] or [C, H, W] for pictures; empty when D has no picture shape.
  std::vector<int64_t> image_shape;
  /// The file the examples came from, for messages.
  std::string source;
  /// int64 [N] class labels where the source has them (the IDX label file
  /// beside the images, data.label_column of a CSV or NPY file), -1 where an
  /// example's class is hidden; undefined when the source has none.
  torch::Tensor labels;

  int64_t size() const { return x.size(0); }
  int64_t dim() const { return x.size(1); }
  DataShape shape() const { return {dim(), image_shape}; }
  ImageSet to(const torch::Device& device, torch::Dtype dtype = torch::kFloat32) const {
    return {x.to(device, dtype), image_shape, source, labels.defined() ? labels.to(device) : labels};
  }
  /// The first n examples (all when n <= 0 or n >= size()).
  ImageSet first(int64_t n) const;
  /// The examples of `index` (int64 [M], on any device), labels with them.
  ImageSet select(const torch::Tensor& index) const;
  /// Examples whose class is known (label >= 0); 0 without labels.
  int64_t labelled() const;
};

/// The examples file of `split` for `options`: a directory is searched for
/// the MNIST/Fashion-MNIST IDX names (gzip or raw).
std::string images_file(const DataOptions& options, Split split);

/// Reads a data file of examples (any registered reader, core/data_sources.h):
/// [N, D], [N, H, W] or [N, C, H, W]. Non-finite values are an error naming the
/// file. Labels come from the IDX label file beside an IDX images file
/// (t10k-images-idx3-ubyte -> t10k-labels-idx1-ubyte, gzip or raw) or, with
/// `label_column` >= 0, from that column of a [N, D] file (whole numbers, -1
/// for an unknown class), which is then taken out of the examples, or, for an
/// archive (.npz), from the array `keys.labels_key` names (the examples from
/// `keys.key`).
ImageSet read_images(const std::string& path, int64_t label_column = -1, const DataKeys& keys = {});

/// The same with the settings of `options` (label_column, key, labels_key,
/// and image_size, channels and strict for an image folder, which `path`
/// may be: core/image_folder.h). Before the examples are made float32 their
/// size is checked against the memory limit.
ImageSet read_images(const std::string& path, const DataOptions& options);

/// images_file + read_images (with labels from an IDX directory), with
/// data.limit applied to the training split.
ImageSet load_images(const DataOptions& options, Split split);

/// The examples a command works on: `path` itself when it is a file (the set
/// to use), else the `split` of `options`, with data.path set to `path` when
/// one is given (a directory). The first `n` only, when n > 0.
ImageSet load_examples(DataOptions options, const std::string& path, Split split, int64_t n = 0);

struct TrainValidation {
  ImageSet train;
  ImageSet validation;
};

/// A dgm::Error unless every value of x is a level k / (levels - 1) in
/// [0, 1] (8-bit pixels scaled by dgm: levels 256), naming `source` and the
/// first value that is not.
void check_levels(const torch::Tensor& x, int64_t levels, const std::string& source);

/// Holds out `val_size` examples chosen by a permutation seeded with `seed`.
TrainValidation split_validation(const ImageSet& all, int64_t val_size, uint64_t seed);

/// data.labels_per_class applied to a training split: -1 keeps every label,
/// 0 hides them all, N keeps N of each class (chosen by a permutation seeded
/// with `seed`) and hides the rest (label -1). N with no labels, or a class
/// with fewer than N labelled examples, is a dgm::Error naming the source.
ImageSet keep_labels_per_class(const ImageSet& set, int64_t per_class, uint64_t seed);

/// Checks that the labels of `set` (where it has them) are classes of a model
/// with `classes` values: -1 (hidden) or 0 .. classes - 1; `what` names the
/// setting to change ("model.classes").
void check_labels(const ImageSet& set, int64_t classes, const std::string& what);

/// One Bernoulli draw per pixel with probability x (x in [0, 1]), using the
/// current generator state.
torch::Tensor binarize(const torch::Tensor& x);

/// binarize() under its own seed, leaving the global generator reseeded: used
/// for `fixed` binarization and for evaluation sets.
torch::Tensor binarize_seeded(const torch::Tensor& x, uint64_t seed);

/// Checks that x lies in [0, 1], as a Bernoulli likelihood needs, with a
/// message that names `source` and the range found.
void check_unit_interval(const torch::Tensor& x, const std::string& source);

/// The shuffled order of one epoch, split into mini-batches (the last one may
/// be smaller).
class EpochBatches {
 public:
  EpochBatches(int64_t n, int64_t batch_size, uint64_t seed, const torch::Device& device);
  int64_t count() const { return count_; }
  /// Indices of batch i, on the device.
  torch::Tensor indices(int64_t i) const;

 private:
  torch::Tensor order_;
  int64_t batch_size_;
  int64_t count_;
};

}  // namespace dgm
