#include "models/latent_walks.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "models/class_latent.h"

namespace dgm {

std::vector<int64_t> continuous_coordinates(LatentVariableModel& model) {
  if (model.latent_support_size() > 0)
    fail("{} has a latent that takes finitely many values ({}): there is no continuous coordinate to walk",
         model.describe(), model.latent_support_size());
  std::vector<int64_t> coordinates;
  for (int64_t d = class_latent(model) != nullptr ? 1 : 0; d < model.latent_dim(); ++d) coordinates.push_back(d);
  if (coordinates.empty()) fail("{} has no continuous latent coordinate to walk", model.describe());
  return coordinates;
}

std::vector<std::pair<int64_t, double>> coordinates_by_activity(LatentVariableModel& model, const torch::Tensor& x) {
  const auto coordinates = continuous_coordinates(model);
  if (x.size(0) < 2) fail("ordering latent coordinates by activity needs at least 2 examples, got {}", x.size(0));
  auto variances = latent_codes(model, x).to(torch::kCPU, torch::kFloat64).var(0, /*unbiased=*/false);
  std::vector<std::pair<int64_t, double>> ranked;
  for (const auto d : coordinates) ranked.emplace_back(d, variances[d].item<double>());
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return ranked;
}

torch::Tensor traversal_codes(const torch::Tensor& base, const std::vector<int64_t>& coordinates,
                              const torch::Tensor& offsets) {
  const int64_t steps = offsets.numel();
  auto codes = base.unsqueeze(0).repeat({static_cast<int64_t>(coordinates.size()) * steps, 1});
  for (std::size_t i = 0; i < coordinates.size(); ++i) {
    auto column = codes.narrow(0, static_cast<int64_t>(i) * steps, steps).select(1, coordinates[i]);
    column.add_(offsets.to(codes.options()));
  }
  return codes;
}

torch::Tensor interpolation_codes(const torch::Tensor& a, const torch::Tensor& b, int64_t steps, bool spherical,
                                  const std::vector<int64_t>& coordinates) {
  if (steps < 2) fail("an interpolation needs at least 2 steps (its two ends), got {}", steps);
  const auto options = a.options();
  auto index = torch::tensor(coordinates, torch::kLong).to(a.device());
  auto from = a.index_select(0, index).to(torch::kFloat64), to = b.index_select(0, index).to(torch::kFloat64);
  auto t = torch::linspace(0.0, 1.0, steps, from.options()).unsqueeze(1);  // [steps, 1]
  torch::Tensor path = (1 - t) * from + t * to;
  if (spherical) {
    const double norms = (from.norm() * to.norm()).item<double>();
    const double cosine = norms > 0 ? std::clamp((from.dot(to) / norms).item<double>(), -1.0, 1.0) : 1.0;
    const double angle = std::acos(cosine);
    if (std::sin(angle) > 1e-6)
      path = (torch::sin((1 - t) * angle) * from + torch::sin(t * angle) * to) / std::sin(angle);
  }
  auto codes = a.unsqueeze(0).repeat({steps, 1});
  codes.index_copy_(1, index, path.to(options));
  return codes;
}

}  // namespace dgm
