#include "estimators/log_weights.h"

#include <torch/torch.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "core/blas_threads.h"
#include "core/error.h"

namespace dgm {

SampleStream::SampleStream(const Distribution& q, int64_t total, bool in_blocks)
    : q_(q), remaining_(total), in_blocks_(in_blocks) {}

torch::Tensor SampleStream::draw(int64_t n) const { return q_.has_rsample() ? q_.rsample(n) : q_.sample(n); }

torch::Tensor SampleStream::next(int64_t n) {
  const int64_t buffered = buffered_.defined() ? buffered_.size(0) : 0;
  if (n > buffered + remaining_) fail("SampleStream: {} draws asked for, {} left", n, buffered + remaining_);
  if (!in_blocks_) {
    std::vector<torch::Tensor> draws;
    draws.reserve(static_cast<std::size_t>(n));
    for (int64_t i = 0; i < n; ++i) draws.push_back(draw(1));
    remaining_ -= n;
    return n == 1 ? draws.front() : torch::cat(draws, 0);
  }
  std::vector<torch::Tensor> parts;
  if (buffered > 0) parts.push_back(buffered_);
  int64_t have = buffered;
  while (have < n) {
    const int64_t block = std::min(kBlock, remaining_);
    parts.push_back(draw(block));
    remaining_ -= block;
    have += block;
  }
  auto all = parts.size() == 1 ? parts.front() : torch::cat(parts, 0);
  buffered_ = have > n ? all.narrow(0, n, have - n) : torch::Tensor();
  return all.narrow(0, 0, n);
}

torch::Tensor draw_samples(const Distribution& q, int64_t samples, bool in_blocks) {
  return SampleStream(q, samples, in_blocks).next(samples);
}

torch::Tensor importance_log_weights(LatentVariableModel& model, const torch::Tensor& x, const Distribution& q,
                                     const torch::Tensor& z, const torch::Tensor& mask) {
  return model.log_joint(x, z, mask) - q.log_prob(z);
}

void weigh_in_chunks(LatentVariableModel& model, const torch::Tensor& x, const Distribution& q, int64_t total,
                     int64_t chunk, const torch::Tensor& mask,
                     const std::function<void(const torch::Tensor& z, const torch::Tensor& log_weights)>& consume) {
  chunk = chunk <= 0 ? total : std::min(chunk, total);
  // Evaluation on the CPU weighs each chunk in tiles whose [tile, B, D] values
  // stay in cache, one tile per core at a time. With gradients on (training)
  // or on a GPU, a chunk is weighed whole on the calling thread.
  const bool gradients = torch::GradMode::is_enabled();
  const bool tiled = x.is_cpu() && !gradients;
  const int workers = tiled ? std::max(1, blas_threads()) : 1;
  const int64_t values_per_sample = std::max<int64_t>(1, x.numel());
  const int64_t tile = tiled ? std::clamp(kTileValues / values_per_sample, int64_t{1}, chunk) : chunk;
  std::optional<SingleThreadedBlas> single_threaded;
  if (workers > 1) single_threaded.emplace();
  SampleStream draws(q, total, draws_in_blocks(x));
  for (int64_t drawn = 0; drawn < total;) {
    auto z = draws.next(std::min(chunk, total - drawn));  // drawn in order, on this thread
    drawn += z.size(0);
    const int64_t tiles = (z.size(0) + tile - 1) / tile;
    std::vector<torch::Tensor> parts(static_cast<std::size_t>(tiles));
    run_split(tiles, workers, [&](int, int64_t begin, int64_t end) {
      torch::AutoGradMode same_mode(gradients);  // the mode is per thread
      for (int64_t t = begin; t < end; ++t) {
        auto z_tile = z.narrow(0, t * tile, std::min(tile, z.size(0) - t * tile));
        parts[static_cast<std::size_t>(t)] = importance_log_weights(model, x, q, z_tile, mask);
      }
    });
    consume(z, tiles == 1 ? parts.front() : torch::cat(parts, 0));
  }
}

}  // namespace dgm
