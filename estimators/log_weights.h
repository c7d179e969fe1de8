#pragma once
// Importance log-weights log w = log p(x, z) - log q(z | x) with z ~ q: the
// quantity every sampling estimator of log p(x) is built from.

#include <torch/types.h>

#include "core/distributions.h"
#include "models/latent_variable_model.h"

namespace dgm {

/// `samples` draws of z from q, [samples, *batch, *event], reparameterized when
/// q allows it. Sample i is the same whether drawn alone or within a chunk.
torch::Tensor draw_samples(const Distribution& q, int64_t samples);

/// Draws `samples` z from q (reparameterized when q allows it, so gradients
/// flow to the model and to q) and returns their log-weights [samples, B].
torch::Tensor importance_log_weights(LatentVariableModel& model, const torch::Tensor& x, const Distribution& q,
                                     int64_t samples, const torch::Tensor& mask = {});

}  // namespace dgm
