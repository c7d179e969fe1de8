#pragma once
// Hamiltonian Monte Carlo (Neal 2011) on the annealing path of AIS,
//   log f_beta(z) = (1 - beta) log q(z) + beta log p(x, z),
// for S chains of B examples at once: z is [S, B, D], every step size and
// decision is per chain and example. Gradients come from LibTorch's autograd
// through the model. Identity mass matrix; the random numbers (momenta,
// uniforms) are the caller's, so that AIS decides where they come from.

#include <torch/types.h>

#include <functional>
#include <utility>

#include "core/distributions.h"
#include "models/latent_variable_model.h"

namespace dgm {

/// A point of the path: z [S, B, D] and the two ends' log densities [S, B]
/// with their gradients in z [S, B, D], everything detached.
struct AnnealPoint {
  torch::Tensor z;
  torch::Tensor log_initial, log_target;    ///< log q(z), log p(x, z)
  torch::Tensor grad_initial, grad_target;  ///< their gradients in z
  /// log f_beta(z), float64 [S, B].
  torch::Tensor log_density(double beta) const;
  /// The gradient of log f_beta at z, [S, B, D].
  torch::Tensor gradient(double beta) const;
};

/// Evaluates the path's ends at z [S, B, D] (which need not require grad).
using PointFunction = std::function<AnnealPoint(const torch::Tensor& z)>;

/// The path from `initial` (q, batch shape [B]) to the model's joint p(x, z)
/// for the rows of x [B, D], under a mask: the log densities and their
/// gradients by autograd, whether or not gradients are enabled outside.
PointFunction annealing_path(LatentVariableModel& model, const torch::Tensor& x, const Distribution& initial,
                             const torch::Tensor& mask = {});

/// The same from any two log densities of z [S, B, D] -> [S, B]: for targets
/// that are not a model's joint (tests, a fixed class of a mixed latent).
PointFunction annealing_path(std::function<torch::Tensor(const torch::Tensor&)> log_initial,
                             std::function<torch::Tensor(const torch::Tensor&)> log_target);

/// `steps` leapfrog steps of size `step` ([S, B, 1], or a scalar tensor) on
/// log f_beta from (point, momentum): the end point and momentum. Exactly
/// reversible up to rounding: from the end with the momentum negated, the
/// same steps come back to the start.
std::pair<AnnealPoint, torch::Tensor> leapfrog(const PointFunction& at, AnnealPoint point, torch::Tensor momentum,
                                               const torch::Tensor& step, int64_t steps, double beta);

struct Transition {
  AnnealPoint point;       ///< where each chain is after the transition
  torch::Tensor accepted;  ///< bool [S, B]: the proposal was taken
};

/// One HMC transition that leaves f_beta invariant: from `current` with the
/// momentum [S, B, D] (standard normal) and the uniform [S, B] in (0, 1) the
/// caller draws, `steps` leapfrog steps, then the Metropolis-Hastings test.
/// A proposal whose density or gradient is not finite is rejected.
Transition hmc_transition(const PointFunction& at, const AnnealPoint& current, const torch::Tensor& momentum,
                          const torch::Tensor& uniform, const torch::Tensor& step, int64_t steps, double beta);

}  // namespace dgm
