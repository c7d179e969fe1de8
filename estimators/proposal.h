#pragma once
// Which q(z | x) an importance-sampling estimator draws from: the model's own
// proposal (a VAE's encoder, pPCA's exact posterior), the prior (naive Monte
// Carlo), a widened copy of the model's proposal, or the uniform distribution
// over a finite latent space. Estimators receive it as a value, like Pyro's
// guides, so model, proposal and estimator stay independent.

#include <torch/types.h>

#include <functional>
#include <memory>
#include <string>

#include "core/distributions.h"
#include "models/latent_variable_model.h"

namespace dgm {

/// (model, x [B, D], mask [B, D] or undefined) -> q with batch shape [B].
using Proposal =
    std::function<std::shared_ptr<Distribution>(LatentVariableModel&, const torch::Tensor&, const torch::Tensor&)>;

/// The model's proposal(x, mask).
Proposal model_proposal();
/// The model's proposal, which must be its exact posterior (an error otherwise).
Proposal posterior_proposal();
/// p(z): importance sampling with it is naive Monte Carlo.
Proposal prior_proposal();
/// The model's proposal with its scale multiplied by `factor` (Gaussian proposals).
Proposal widened_proposal(double factor);
/// Uniform over a finite latent space.
Proposal uniform_proposal();

/// Parses encoder | posterior | prior | uniform | widened:F (as `dgm estimate
/// --proposal` takes them); a dgm::Error names a bad one.
Proposal parse_proposal(const std::string& name);

}  // namespace dgm
