#include "core/masks.h"

#include <torch/torch.h>

#include "core/error.h"
#include "core/random.h"

namespace dgm {

torch::Tensor make_mask(const std::string& spec, int64_t n, int64_t dim, const std::vector<int64_t>& image_shape,
                        uint64_t seed, const torch::TensorOptions& options) {
  if (spec == "none" || spec.empty()) return torch::ones({n, dim}, options);
  if (spec == "top-half" || spec == "bottom-half") {
    if (image_shape.size() < 2) fail("mask '{}' needs pictures, but the examples have no picture shape", spec);
    const int64_t height = image_shape[image_shape.size() - 2];
    const int64_t channels = image_shape.size() == 3 ? image_shape[0] : 1;
    auto rows = torch::arange(height, options.dtype(torch::kLong));
    auto hidden_rows = spec == "top-half" ? rows < height / 2 : rows >= height / 2;
    auto picture =
        (~hidden_rows).to(options.dtype()).view({1, height, 1}).expand({channels, height, image_shape.back()});
    return picture.reshape({1, dim}).expand({n, dim}).contiguous();
  }
  if (spec.rfind("random:", 0) == 0) {
    double p = -1;
    try {
      std::size_t used = 0;
      p = std::stod(spec.substr(7), &used);
      if (used != spec.size() - 7) p = -1;
    } catch (const std::exception&) {
    }
    if (!(p >= 0 && p < 1)) fail("mask '{}' is not valid: write random:P with 0 <= P < 1 the share hidden", spec);
    seed_everything(seed);
    return (torch::rand({n, dim}, options) >= p).to(options.dtype());
  }
  fail("unknown mask '{}': use none, top-half, bottom-half or random:P", spec);
}

}  // namespace dgm
