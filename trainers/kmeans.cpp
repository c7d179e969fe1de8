#include "trainers/kmeans.h"

#include <torch/torch.h>

#include <cmath>
#include <optional>
#include <vector>

#include "core/blas_threads.h"

namespace dgm {

torch::Tensor squared_distances(const torch::Tensor& x, const torch::Tensor& centres) {
  return torch::clamp_min(x.pow(2).sum(-1, true) - 2 * x.matmul(centres.t()) + centres.pow(2).sum(-1), 0.0);
}

torch::Tensor nearest_centres(const torch::Tensor& x, const torch::Tensor& centres, int64_t chunk_rows, int workers) {
  auto labels = torch::empty({x.size(0)}, x.options().dtype(torch::kLong));
  run_split((x.size(0) + chunk_rows - 1) / chunk_rows, workers, [&](int, int64_t begin, int64_t end) {
    torch::NoGradGuard no_grad;  // per thread
    for (int64_t index = begin; index < end; ++index) {
      auto rows = x.slice(0, index * chunk_rows, (index + 1) * chunk_rows);
      labels.slice(0, index * chunk_rows, index * chunk_rows + rows.size(0))
          .copy_(squared_distances(rows, centres).argmin(-1));
    }
  });
  return labels;
}

torch::Tensor kmeans_plus_plus(const torch::Tensor& x, int64_t k, Collectives& group) {
  const RowShard shard = row_shard(group, x.size(0));
  const int64_t n = shard.total;
  const int64_t trials = 2 + static_cast<int64_t>(std::log(static_cast<double>(k)));
  auto first = torch::randint(n, {1}, torch::kLong);
  std::vector<torch::Tensor> chosen{rows_at(group, shard, x, first)};
  auto closest = squared_distances(x, chosen.front()).squeeze(1);
  for (int64_t c = 1; c < k; ++c) {
    auto everyone = all_gather_rows(group, closest);  // [n]: every process draws from the same weights
    const double total = everyone.sum().item<double>();
    torch::Tensor candidates;
    if (total > 0) {
      candidates = torch::multinomial(everyone / total, trials, /*replacement=*/true);
    } else {  // every point sits on a centre already
      candidates = torch::randint(n, {trials}, x.options().dtype(torch::kLong));
    }
    // Greedy: of the candidates, keep the one that lowers the potential most.
    auto candidate_rows = rows_at(group, shard, x, candidates);
    auto candidate_distances = squared_distances(x, candidate_rows);  // [n, trials]
    auto potentials = torch::minimum(closest.unsqueeze(1), candidate_distances).sum(0);
    group.all_reduce_sum(potentials);
    const int64_t best = potentials.argmin().item<int64_t>();
    chosen.push_back(candidate_rows.slice(0, best, best + 1));
    closest = torch::minimum(closest, candidate_distances.select(1, best));
  }
  return torch::cat(chosen);
}

torch::Tensor kmeans_centres(const torch::Tensor& x, int64_t k, int64_t iterations, int64_t chunk_rows, int workers,
                             Collectives& group) {
  std::optional<SingleThreadedBlas> single_threaded;  // each worker's products run on its own thread
  if (workers > 1) single_threaded.emplace();
  auto centres = kmeans_plus_plus(x, k, group);
  torch::Tensor labels;
  for (int64_t it = 0; it < iterations; ++it) {
    auto next = nearest_centres(x, centres, chunk_rows, workers);
    // Stop when no label changed on any process.
    const double changed = labels.defined() && torch::equal(next, labels) ? 0.0 : 1.0;
    if (all_reduce_sum(group, changed) == 0.0) break;
    labels = next;
    auto counts = torch::bincount(labels, {}, k).to(x.dtype());
    auto sums = torch::zeros_like(centres).index_add_(0, labels, x);
    group.all_reduce_sum(counts);
    group.all_reduce_sum(sums);
    // A centre that lost every point stays where it was.
    centres = torch::where(counts.unsqueeze(1) > 0, sums / counts.clamp_min(1).unsqueeze(1), centres);
  }
  return centres;
}

}  // namespace dgm
