#pragma once
// Walks through a model's latent space, decoded into pictures: the seed's
// "without an explicit y one walks the z space". A code is a point estimate
// of q(z | x) (latent_codes, models/generation.h); for z = (y, w) the walk moves w and the
// class y is a separate, discrete coordinate (models/class_latent.h).

#include <torch/types.h>

#include <vector>

#include "models/generation.h"
#include "models/latent_variable_model.h"

namespace dgm {

/// The coordinates of z that a walk may move: all of them, but the class of a
/// z = (y, w). A model whose latent takes finitely many values (binary units,
/// a mixture's component) has none to walk: a dgm::Error.
std::vector<int64_t> continuous_coordinates(LatentVariableModel& model);

/// Coordinates of z (among continuous_coordinates) ordered by how much the
/// codes of x [N, D] vary along them, most first, with those variances.
std::vector<std::pair<int64_t, double>> coordinates_by_activity(LatentVariableModel& model, const torch::Tensor& x);

/// Codes that move one coordinate at a time: for each of `coordinates`, `base`
/// [latent] with offsets[j] added to that coordinate: [coordinates x offsets, latent].
torch::Tensor traversal_codes(const torch::Tensor& base, const std::vector<int64_t>& coordinates,
                              const torch::Tensor& offsets);

/// `steps` codes from a to b ([latent] each), the ends included, moving only
/// `coordinates`: along the line, or with `spherical` along the great circle
/// (slerp, as for Gaussian latents where the line passes through the
/// improbable region near the origin; linear when a and b point the same way).
/// The other coordinates stay a's. [steps, latent].
torch::Tensor interpolation_codes(const torch::Tensor& a, const torch::Tensor& b, int64_t steps, bool spherical,
                                  const std::vector<int64_t>& coordinates);

}  // namespace dgm
