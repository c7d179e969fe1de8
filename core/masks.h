#pragma once
// Masks of observed entries for partially observed data: 1 = observed,
// 0 = missing, shape [N, D] like the data.

#include <torch/types.h>

#include <string>
#include <vector>

namespace dgm {

/// A mask from its name: "none" (all observed), "top-half" / "bottom-half"
/// (that half of each picture's rows hidden; needs a picture shape), or
/// "random:P" (each entry hidden with probability P, seeded). A bad name or P
/// is a dgm::Error saying what is valid.
torch::Tensor make_mask(const std::string& spec, int64_t n, int64_t dim, const std::vector<int64_t>& image_shape,
                        uint64_t seed, const torch::TensorOptions& options);

}  // namespace dgm
