#pragma once
// Pictures from any latent variable model: new examples from the prior and
// reconstructions through the proposal, as likelihood means.

#include <torch/types.h>

#include "models/latent_variable_model.h"

namespace dgm {

/// n examples x ~ p(x | z), z ~ p(z), returned as the mean of p(x | z): [n, D].
torch::Tensor sample_means(LatentVariableModel& model, int64_t n);

/// The codes of the rows of x [B, D]: q(z | x)'s point estimates (its mean;
/// for z = (y, w) the most probable y and the mean of w given it), [B, latent].
torch::Tensor latent_codes(LatentVariableModel& model, const torch::Tensor& x);

/// The mean of p(x | z) for codes z [N, latent]: [N, D].
torch::Tensor decode_codes(LatentVariableModel& model, const torch::Tensor& z);

/// What the encoder says of x, as features for a probe: the mean of q(z | x)
/// [B, latent] where it has one; for z = (y, w), q(y | x)'s probabilities and
/// the mean of w under q(y | x) q(w | x, y): [B, K + W]. A proposal with
/// neither is a dgm::Error.
torch::Tensor encoder_features(LatentVariableModel& model, const torch::Tensor& x);

/// The mean of p(x | z) at the code of x (latent_codes): [B, D].
torch::Tensor reconstruct(LatentVariableModel& model, const torch::Tensor& x);

}  // namespace dgm
