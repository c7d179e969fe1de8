#pragma once
// Pictures from any latent variable model: new examples from the prior and
// reconstructions through the proposal, as likelihood means.

#include <torch/types.h>

#include "models/latent_variable_model.h"

namespace dgm {

/// n examples x ~ p(x | z), z ~ p(z), returned as the mean of p(x | z): [n, D].
torch::Tensor sample_means(LatentVariableModel& model, int64_t n);

/// What the encoder says of x, as features for a probe: the mean of q(z | x)
/// [B, latent] where it has one; for z = (y, w), q(y | x)'s probabilities and
/// the mean of w under q(y | x) q(w | x, y): [B, K + W]. A proposal with
/// neither is a dgm::Error.
torch::Tensor encoder_features(LatentVariableModel& model, const torch::Tensor& x);

/// The mean of p(x | z) at the point estimate of q(z | x) (its mean; for
/// z = (y, w) the most probable y and the mean of w given it): [B, D].
torch::Tensor reconstruct(LatentVariableModel& model, const torch::Tensor& x);

}  // namespace dgm
