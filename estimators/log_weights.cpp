#include "estimators/log_weights.h"

#include <torch/torch.h>

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

}  // namespace dgm
