#pragma once
// Multinomial logistic regression, the seed's "light probe" f(z) on a
// model's codes: p(y = k | f) = softmax(f W + b)_k. Fitted as scikit-learn's
// LogisticRegression (multinomial, L2, lbfgs) fits it, so its results can be
// checked against that: minimize 0.5 ||W||^2 + C Σ_i -log p(y_i | f_i), the
// intercept unpenalized, by L-BFGS with a strong Wolfe line search (LibTorch's
// torch::optim::LBFGS) in float64.

#include <torch/types.h>

#include <cstdint>

namespace dgm {

struct LogisticRegressionOptions {
  /// The inverse strength of the L2 penalty, scikit-learn's C. Default: 1.
  double c = 1.0;
  /// Scale each feature to mean 0 and variance 1 over the training rows
  /// first (scikit-learn's StandardScaler), kept for prediction. Default: true.
  bool standardize = true;
  /// L-BFGS iterations at most. Default: 1000.
  int64_t max_iterations = 1000;
  /// Stop when the largest gradient entry of the mean loss is below this. Default: 1e-9.
  double tolerance = 1e-9;
};

struct LogisticRegression {
  torch::Tensor weight;       ///< [F, K], float64
  torch::Tensor bias;         ///< [K]
  torch::Tensor mean, scale;  ///< [F]: the standardization (0 and 1 without it)
  /// log p(y | features) of rows [N, F]: [N, K].
  torch::Tensor log_probs(const torch::Tensor& features) const;
  /// The most probable class of each row: int64 [N].
  torch::Tensor predict(const torch::Tensor& features) const;
};

/// Fits the rows of `features` [N, F] whose label (int64 [N]) is a class
/// 0 .. classes - 1; rows labelled -1 are left out. No labelled row, or a
/// label of `classes` or more, is a dgm::Error.
LogisticRegression fit_logistic_regression(const torch::Tensor& features, const torch::Tensor& labels, int64_t classes,
                                           const LogisticRegressionOptions& options = {});

}  // namespace dgm
