#pragma once
// The PNG grids a run directory holds: samples from the prior and
// reconstructions beside their originals.

#include <torch/types.h>

#include <string>
#include <vector>

#include "models/latent_variable_model.h"

namespace dgm {

/// n samples (likelihood means) as a grid; for z = (y, w), one row of 8 per
/// class instead (y fixed, w drawn from p(w)).
void write_samples_png(LatentVariableModel& model, int64_t n, const std::vector<int64_t>& image_shape,
                       const std::string& path);

/// Rows alternate originals and their reconstructions, 8 per row (all of x in
/// one row when it has fewer than 8).
void write_reconstructions_png(LatentVariableModel& model, const torch::Tensor& x,
                               const std::vector<int64_t>& image_shape, const std::string& path);

}  // namespace dgm
