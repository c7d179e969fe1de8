#include "estimators/proposal.h"

#include "core/error.h"

namespace dgm {

Proposal model_proposal() {
  return [](LatentVariableModel& model, const torch::Tensor& x, const torch::Tensor& mask) {
    return model.proposal(x, mask);
  };
}

Proposal posterior_proposal() {
  return [](LatentVariableModel& model, const torch::Tensor& x, const torch::Tensor& mask) {
    if (!model.proposal_is_posterior())
      fail("this model has no exact posterior to propose from; use --proposal encoder (its own q(z|x)) or prior");
    return model.proposal(x, mask);
  };
}

Proposal prior_proposal() {
  return
      [](LatentVariableModel& model, const torch::Tensor& x, const torch::Tensor&) { return model.prior(x.size(0)); };
}

Proposal widened_proposal(double factor) {
  if (!(factor > 0) || !std::isfinite(factor)) fail("widened:{} is not valid: the factor must be > 0", factor);
  return [factor](LatentVariableModel& model, const torch::Tensor& x, const torch::Tensor& mask) {
    return widen(*model.proposal(x, mask), factor);
  };
}

Proposal uniform_proposal() {
  return [](LatentVariableModel& model, const torch::Tensor& x, const torch::Tensor&) -> std::shared_ptr<Distribution> {
    const int64_t size = model.latent_support_size();
    if (size == 0) fail("a uniform proposal needs a finite latent space; this model's is continuous");
    return std::make_shared<FiniteUniform>(
        size, x.size(0), [&model](const torch::Tensor& indices) { return model.latent_values(indices); }, x.options());
  };
}

Proposal parse_proposal(const std::string& name) {
  if (name == "encoder") return model_proposal();
  if (name == "posterior") return posterior_proposal();
  if (name == "prior") return prior_proposal();
  if (name == "uniform") return uniform_proposal();
  if (name.rfind("widened:", 0) == 0) {
    try {
      std::size_t used = 0;
      const double factor = std::stod(name.substr(8), &used);
      if (used == name.size() - 8) return widened_proposal(factor);
    } catch (const std::exception&) {
    }
    fail("proposal '{}' is not valid: write widened:F with F a number, e.g. widened:1.5", name);
  }
  fail("unknown proposal '{}': use encoder, posterior, prior, uniform or widened:F", name);
}

}  // namespace dgm
