#include "trainers/logistic_regression.h"

#include <torch/torch.h>

#include "core/error.h"

namespace dgm {

torch::Tensor LogisticRegression::log_probs(const torch::Tensor& features) const {
  auto f = (features.to(weight.device(), torch::kFloat64) - mean) / scale;
  return torch::log_softmax(torch::addmm(bias, f, weight), -1);
}

torch::Tensor LogisticRegression::predict(const torch::Tensor& features) const {
  return log_probs(features).argmax(-1);
}

LogisticRegression fit_logistic_regression(const torch::Tensor& features, const torch::Tensor& labels, int64_t classes,
                                           const LogisticRegressionOptions& options) {
  if (features.dim() != 2 || labels.dim() != 1 || labels.size(0) != features.size(0))
    fail("logistic regression: features [N, F] and one label per row, got {} and {}", c10::str(features.sizes()),
         c10::str(labels.sizes()));
  if (options.c <= 0) fail("logistic regression: C = {} must be > 0", options.c);
  const auto known = (labels >= 0).nonzero().flatten().to(features.device());
  if (known.numel() == 0) fail("logistic regression: no labelled row to fit");
  auto f = features.index_select(0, known).to(torch::kFloat64);
  auto y = labels.to(features.device()).index_select(0, known).to(torch::kLong);
  if (y.max().item<int64_t>() >= classes)
    fail("logistic regression: label {} is not one of {} classes", y.max().item<int64_t>(), classes);
  const auto options64 = f.options();
  LogisticRegression model;
  model.mean = torch::zeros({f.size(1)}, options64);
  model.scale = torch::ones({f.size(1)}, options64);
  if (options.standardize) {
    model.mean = f.mean(0);
    auto sd = f.std(0, /*unbiased=*/false);
    model.scale = torch::where(sd > 1e-12, sd, torch::ones_like(sd));  // a constant feature stays as it is
  }
  f = (f - model.mean) / model.scale;
  torch::AutoGradMode gradients(true);  // also when called under a NoGradGuard
  auto weight = torch::zeros({f.size(1), classes}, options64).requires_grad_(true);
  auto bias = torch::zeros({classes}, options64).requires_grad_(true);
  const double n = static_cast<double>(f.size(0));
  // The mean over rows of scikit-learn's objective divided by C N: the same minimizer.
  const double penalty = 0.5 / (options.c * n);
  torch::optim::LBFGS optimizer({weight, bias}, torch::optim::LBFGSOptions(1)
                                                    .max_iter(options.max_iterations)
                                                    .max_eval(options.max_iterations * 5 / 4)
                                                    .tolerance_grad(options.tolerance)
                                                    .tolerance_change(1e-14)
                                                    .history_size(20)
                                                    .line_search_fn("strong_wolfe"));
  optimizer.step([&] {
    optimizer.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(torch::addmm(bias, f, weight), y) + penalty * weight.pow(2).sum();
    loss.backward();
    return loss;
  });
  model.weight = weight.detach();
  model.bias = bias.detach();
  return model;
}

}  // namespace dgm
