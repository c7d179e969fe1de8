#include "estimators/elbo.h"

#include <torch/torch.h>

#include "estimators/importance_sampling.h"
#include "estimators/log_weights.h"

namespace dgm {

ElboTerms elbo(LatentVariableModel& model, const torch::Tensor& x, const ElboOptions& options,
               const torch::Tensor& mask) {
  check_estimator_input(x, options.samples, mask, "ELBO");
  auto q = model.proposal(x, mask);
  auto p = model.prior(x.size(0));
  auto z = draw_samples(*q, options.samples);
  auto expected_log_likelihood = model.log_likelihood(x, z, mask).mean(0);
  std::optional<torch::Tensor> kl;
  if (options.analytic_kl) kl = kl_divergence(*q, *p);
  if (!kl) kl = (q->log_prob(z) - p->log_prob(z)).mean(0);
  return {expected_log_likelihood - *kl, expected_log_likelihood, *kl};
}

}  // namespace dgm
