#include "estimators/hmc.h"

#include <torch/torch.h>

namespace dgm {
namespace {

/// Chooses the proposal where `take` [S, B] holds, the current value elsewhere.
torch::Tensor choose(const torch::Tensor& take, const torch::Tensor& proposal, const torch::Tensor& current) {
  auto condition = take;
  while (condition.dim() < proposal.dim()) condition = condition.unsqueeze(-1);
  return torch::where(condition, proposal, current);
}

/// A density and its gradient in z, by autograd, however grad mode is set outside.
std::pair<torch::Tensor, torch::Tensor> value_and_gradient(
    const std::function<torch::Tensor(const torch::Tensor&)>& log_density, const torch::Tensor& z) {
  torch::AutoGradMode enable(true);
  auto leaf = z.detach().requires_grad_(true);
  auto value = log_density(leaf);
  if (!value.requires_grad()) return {value.detach(), torch::zeros_like(leaf)};  // a density that does not depend on z
  auto gradient = torch::autograd::grad({value.sum()}, {leaf}, {}, /*retain_graph=*/false,
                                        /*create_graph=*/false, /*allow_unused=*/true)[0];
  if (!gradient.defined()) gradient = torch::zeros_like(leaf);
  return {value.detach(), gradient.detach()};
}

}  // namespace

torch::Tensor AnnealPoint::log_density(double beta) const {
  auto initial = log_initial.to(torch::kFloat64);
  return initial + beta * (log_target.to(torch::kFloat64) - initial);
}

torch::Tensor AnnealPoint::gradient(double beta) const { return grad_initial + beta * (grad_target - grad_initial); }

PointFunction annealing_path(std::function<torch::Tensor(const torch::Tensor&)> log_initial,
                             std::function<torch::Tensor(const torch::Tensor&)> log_target) {
  return [log_initial, log_target](const torch::Tensor& z) {
    AnnealPoint point;
    point.z = z.detach();
    std::tie(point.log_initial, point.grad_initial) = value_and_gradient(log_initial, z);
    std::tie(point.log_target, point.grad_target) = value_and_gradient(log_target, z);
    return point;
  };
}

PointFunction annealing_path(LatentVariableModel& model, const torch::Tensor& x, const Distribution& initial,
                             const torch::Tensor& mask) {
  if (const auto* normal = dynamic_cast<const DiagNormal*>(&initial)) {
    // A diagonal normal's gradient in closed form, -(z - loc) / scale^2: one
    // autograd pass per point (the model's) instead of two.
    const DiagNormal q = *normal;
    auto precision = q.scale().pow(-2);
    return [q, precision, &model, x, mask](const torch::Tensor& z) {
      AnnealPoint point;
      point.z = z.detach();
      point.log_initial = q.log_prob(point.z);
      point.grad_initial = -(point.z - q.loc()) * precision;
      std::tie(point.log_target, point.grad_target) = value_and_gradient(
          [&model, &x, &mask](const torch::Tensor& leaf) { return model.log_joint(x, leaf, mask); }, z);
      return point;
    };
  }
  return annealing_path([&initial](const torch::Tensor& z) { return initial.log_prob(z); },
                        [&model, x, mask](const torch::Tensor& z) { return model.log_joint(x, z, mask); });
}

std::pair<AnnealPoint, torch::Tensor> leapfrog(const PointFunction& at, AnnealPoint point, torch::Tensor momentum,
                                               const torch::Tensor& step, int64_t steps, double beta) {
  momentum = momentum + 0.5 * step * point.gradient(beta);
  for (int64_t l = 0; l < steps; ++l) {
    point = at(point.z + step * momentum);
    // Full momentum steps between positions, a half step at the end.
    momentum = momentum + (l + 1 < steps ? 1.0 : 0.5) * step * point.gradient(beta);
  }
  return {std::move(point), std::move(momentum)};
}

Transition hmc_transition(const PointFunction& at, const AnnealPoint& current, const torch::Tensor& momentum,
                          const torch::Tensor& uniform, const torch::Tensor& step, int64_t steps, double beta) {
  auto [proposal, end_momentum] = leapfrog(at, current, momentum, step, steps, beta);
  auto kinetic = [](const torch::Tensor& p) { return 0.5 * p.to(torch::kFloat64).pow(2).sum(-1); };
  // log of the Metropolis-Hastings ratio: the change of -H = log f - |p|^2 / 2.
  auto log_ratio =
      (proposal.log_density(beta) - kinetic(end_momentum)) - (current.log_density(beta) - kinetic(momentum));
  auto finite = torch::isfinite(log_ratio) & torch::isfinite(proposal.gradient(beta)).all(-1);
  auto accepted = finite & (uniform.log() < log_ratio);
  Transition out;
  out.accepted = accepted;
  out.point.z = choose(accepted, proposal.z, current.z);
  out.point.log_initial = choose(accepted, proposal.log_initial, current.log_initial);
  out.point.log_target = choose(accepted, proposal.log_target, current.log_target);
  out.point.grad_initial = choose(accepted, proposal.grad_initial, current.grad_initial);
  out.point.grad_target = choose(accepted, proposal.grad_target, current.grad_target);
  return out;
}

}  // namespace dgm
