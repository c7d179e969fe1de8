#pragma once
// Image data sets held as one tensor on the chosen device, with shuffled
// mini-batches, a seeded validation split and binarization.

#include <torch/types.h>

#include <string>
#include <vector>

#include "core/config.h"

namespace dgm {

/// N examples flattened to [N, D] (float32; IDX uint8 pixels scaled to [0, 1]).
struct ImageSet {
  torch::Tensor x;
  /// [H, W] or [C, H, W] for pictures; empty when D has no picture shape.
  std::vector<int64_t> image_shape;
  /// The file the examples came from, for messages.
  std::string source;

  int64_t size() const { return x.size(0); }
  int64_t dim() const { return x.size(1); }
  ImageSet to(const torch::Device& device, torch::Dtype dtype = torch::kFloat32) const {
    return {x.to(device, dtype), image_shape, source};
  }
};

/// The images file of `split` ("train" or "test") for `config`: a directory is
/// searched for the MNIST/Fashion-MNIST IDX names (gzip or raw).
std::string images_file(const DataConfig& config, const std::string& split);

/// Reads an IDX (gzip or raw) or NPY file of examples: [N, D], [N, H, W] or
/// [N, C, H, W]. Non-finite values are an error naming the file.
ImageSet read_images(const std::string& path);

/// images_file + read_images, with data.limit applied to the training split.
ImageSet load_images(const DataConfig& config, const std::string& split);

/// The examples a command works on: `path` itself when it is a file (IDX or
/// NPY: the set to use), else the `split` of `config`, with data.path set to
/// `path` when one is given (a directory). The first `n` only, when n > 0.
ImageSet load_examples(DataConfig config, const std::string& path, const std::string& split, int64_t n = 0);

struct TrainValidation {
  ImageSet train;
  ImageSet validation;
};

/// Holds out `val_size` examples chosen by a permutation seeded with `seed`.
TrainValidation split_validation(const ImageSet& all, int64_t val_size, uint64_t seed);

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
