#include "estimators/elbo.h"

#include <torch/torch.h>

#include "core/error.h"
#include "estimators/input_checks.h"
#include "estimators/log_weights.h"

namespace dgm {

ElboTerms elbo(LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options,
               const torch::Tensor& mask) {
  check_estimator_input(x, options.k, mask, "ELBO");
  auto q = options.proposal(model, x, mask);
  auto p = model.prior(x.size(0));
  auto z = draw_samples(*q, options.k, draws_in_blocks(x));
  auto expected_log_likelihood = model.log_likelihood(x, z, mask).mean(0);
  if (options.free_bits < 0 || options.kl_weight < 0)
    fail("ELBO: free_bits = {} and kl_weight = {} must both be >= 0", options.free_bits, options.kl_weight);
  std::optional<torch::Tensor> kl;
  if (options.analytic_kl) kl = kl_divergence(*q, *p);
  if (!kl) kl = (q->log_prob(z) - p->log_prob(z)).mean(0);
  torch::Tensor training_kl = *kl;
  if (options.free_bits > 0) {
    auto per_dimension = kl_divergence_elements(*q, *p);
    if (!per_dimension)
      fail("free bits need a closed-form KL per latent dimension; {} against {} has none", q->name(), p->name());
    // The batch's mean KL of each dimension, floored at free_bits, spread back
    // over the examples so that the batch mean of the objective is right.
    auto floored = torch::clamp_min(per_dimension->mean(0), options.free_bits).sum();
    training_kl = floored.expand_as(*kl);
  }
  return {expected_log_likelihood - *kl, expected_log_likelihood, *kl,
          expected_log_likelihood - options.kl_weight * training_kl};
}

}  // namespace dgm
