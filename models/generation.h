#pragma once
// Pictures from any latent variable model: new examples from the prior and
// reconstructions through the proposal, as likelihood means.

#include <torch/types.h>

#include "models/latent_variable_model.h"

namespace dgm {

/// n examples x ~ p(x | z), z ~ p(z), returned as the mean of p(x | z): [n, D].
torch::Tensor sample_means(LatentVariableModel& model, int64_t n);

/// The mean of p(x | z) at z = the mean of q(z | x): [B, D].
torch::Tensor reconstruct(LatentVariableModel& model, const torch::Tensor& x);

}  // namespace dgm
