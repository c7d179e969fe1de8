#pragma once
// A small M2 in float64 and the second code path for its sums over y:
// log p(x, y) of a one-dimensional w by the trapezoid rule. Shared by the M2
// and class-ELBO tests.

#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "models/m2.h"

namespace dgm {

/// An M2 on 6 Bernoulli pixels with one hidden layer of 8, in float64,
/// initialised from `seed`.
inline M2 tiny_m2(uint64_t seed, int64_t latent_dim = 1, int64_t classes = 3) {
  torch::manual_seed(seed);
  M2Options options;
  options.classes = classes;
  options.latent_dim = latent_dim;
  options.hidden = {8};
  M2 model(options, DataShape{6, {}});
  model->to(torch::kFloat64);
  return model;
}

/// log p(x, y) [B, K] of `model` (latent_dim 1, float64) by the trapezoid
/// rule over w in [-12, 12].
inline torch::Tensor quadrature_log_joint(M2Impl& model, const torch::Tensor& x) {
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const int64_t points = 4001;
  auto grid = torch::linspace(-12.0, 12.0, points, f64);
  const double step = 24.0 / (points - 1);
  auto w = grid.view({points, 1, 1}).expand({points, x.size(0), 1});
  std::vector<torch::Tensor> columns;
  for (int64_t y = 0; y < model.classes(); ++y) {
    auto classes = torch::full({points, x.size(0)}, y, torch::kLong);
    auto log_f = model.log_likelihood_given_class(x, classes, w) - 0.5 * w.squeeze(-1).pow(2) -
                 0.5 * std::log(2 * M_PI) - std::log(static_cast<double>(model.classes()));
    auto weights = torch::full({points, 1}, std::log(step), f64);
    weights[0] = weights[-1] = std::log(step / 2);
    columns.push_back(torch::logsumexp(log_f + weights, 0));
  }
  return torch::stack(columns, -1);
}

}  // namespace dgm
