#include "models/likelihood.h"

#include <torch/torch.h>

namespace dgm {

std::shared_ptr<Distribution> decoder_distribution(Likelihood likelihood, const torch::Tensor& out,
                                                   const torch::Tensor& log_var) {
  if (likelihood == Likelihood::kBernoulli) return std::make_shared<Bernoulli>(out);
  if (likelihood == Likelihood::kDiscretizedLogistic)
    return std::make_shared<DiscretizedLogistic>(out, log_var.expand_as(out));
  return std::make_shared<DiagNormal>(DiagNormal::from_log_var(out, log_var.expand_as(out)));
}

torch::Tensor decoder_log_likelihood(Likelihood likelihood, const torch::Tensor& out, const torch::Tensor& log_var,
                                     const torch::Tensor& x, const torch::Tensor& mask) {
  torch::Tensor elements;
  if (likelihood == Likelihood::kBernoulli)
    elements = Bernoulli(out).log_prob_elements(x);
  else if (likelihood == Likelihood::kDiscretizedLogistic)
    elements = DiscretizedLogistic(out, log_var.expand_as(out)).log_prob_elements(x);
  else
    elements = DiagNormal::from_log_var(out, log_var.expand_as(out)).log_prob_elements(x);
  if (mask.defined()) elements = elements * mask;
  return elements.sum(-1);
}

}  // namespace dgm
