#include "estimators/class_elbo.h"

#include <torch/torch.h>

#include "core/error.h"
#include "estimators/input_checks.h"
#include "models/class_latent.h"

namespace dgm {
namespace {

/// Rows `index` of an optional mask.
torch::Tensor rows_of(const torch::Tensor& mask, const torch::Tensor& index) {
  return mask.defined() ? mask.index_select(0, index) : mask;
}

/// L(x, y) for every class of each row of x: [K, B].
torch::Tensor bound_for_every_class(ClassLatentModel& classes, const torch::Tensor& x, int64_t k,
                                    const torch::Tensor& mask) {
  const int64_t count = classes.classes(), batch = x.size(0);
  const DiagNormal q = classes.rest_proposal(x, mask);  // batch [K, B]
  auto w = q.rsample(k);                                // [k, K, B, W]
  auto y = torch::arange(count, x.options().dtype(torch::kLong)).view({1, count, 1}).expand({k, count, batch});
  auto log_likelihood = classes.log_likelihood_given_class(x, y, w, mask).mean(0);  // [K, B]
  auto kl = *kl_divergence(q, classes.rest_prior(batch));                           // [K, B]
  return log_likelihood - kl + classes.class_log_prior().unsqueeze(1);
}

/// L(x, y) for the given class y [B] of each row: [B].
torch::Tensor bound_for_class(ClassLatentModel& classes, const torch::Tensor& x, const torch::Tensor& y, int64_t k,
                              const torch::Tensor& mask) {
  const DiagNormal q = classes.rest_proposal_given(x, y, mask);  // batch [B]
  auto w = q.rsample(k);                                         // [k, B, W]
  auto log_likelihood = classes.log_likelihood_given_class(x, y.unsqueeze(0).expand({k, x.size(0)}), w, mask).mean(0);
  auto kl = *kl_divergence(q, classes.rest_prior(x.size(0)));
  return log_likelihood - kl + classes.class_log_prior().index_select(0, y);
}

}  // namespace

ClassElbo class_elbo(LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options,
                     const torch::Tensor& mask) {
  check_estimator_input(x, options.k, mask, "class ELBO");
  ClassLatentModel* classes = class_latent(model);
  if (classes == nullptr)
    fail("the class ELBO needs a model whose latent has a class y (model.type m2); {} has none", model.describe());
  const int64_t batch = x.size(0), count = classes->classes();
  const auto long_options = x.options().dtype(torch::kLong);
  torch::Tensor labels =
      options.labels.defined() ? options.labels.to(long_options) : torch::full({batch}, -1, long_options);
  if (labels.dim() != 1 || labels.size(0) != batch)
    fail("class ELBO: {} labels of shape {} for {} examples; give one label per example (-1 = hidden)", labels.numel(),
         c10::str(labels.sizes()), batch);
  if (batch > 0) {
    const int64_t low = labels.min().item<int64_t>(), high = labels.max().item<int64_t>();
    if (low < -1 || high >= count)
      fail("class ELBO: label {} is not a class of a model with {} classes: use 0 .. {} (or -1 for a hidden one)",
           low < -1 ? low : high, count, count - 1);
  }
  const auto log_q_y = classes->class_log_proposal(x, mask);  // [B, K]
  const auto hidden = (labels < 0).nonzero().flatten(), known = (labels >= 0).nonzero().flatten();

  std::vector<torch::Tensor> values, objectives;
  if (hidden.numel() > 0) {
    auto x_u = x.index_select(0, hidden);
    auto log_q = log_q_y.index_select(0, hidden).t();  // [K, B_u]
    auto bounds = bound_for_every_class(*classes, x_u, options.k, rows_of(mask, hidden));
    auto u = (log_q.exp() * (bounds - log_q)).sum(0);  // Σ_y q(y|x) (L(x, y) - log q(y|x))
    values.push_back(u);
    objectives.push_back(u);
  }
  if (known.numel() > 0) {
    auto y = labels.index_select(0, known);
    auto l = bound_for_class(*classes, x.index_select(0, known), y, options.k, rows_of(mask, known));
    values.push_back(l);
    auto log_q = log_q_y.index_select(0, known).gather(1, y.unsqueeze(1)).squeeze(1);
    objectives.push_back(options.class_weight != 0.0 ? l + options.class_weight * log_q : l);
  }
  if (values.empty()) return {torch::zeros({0}, x.options()), torch::zeros({0}, x.options())};
  // Back in the order of x.
  auto inverse = torch::argsort(torch::cat({hidden, known}));
  return {torch::cat(values).index_select(0, inverse), torch::cat(objectives).index_select(0, inverse)};
}

}  // namespace dgm
