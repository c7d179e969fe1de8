#include "trainers/data_parallel.h"

#include <torch/torch.h>

#include <vector>

#include "core/error.h"

namespace dgm {

void broadcast_parameters(Collectives& group, torch::nn::Module& model) {
  if (group.size() == 1) return;
  torch::NoGradGuard no_grad;
  for (auto& parameter : model.parameters()) {
    auto data = parameter.detach();
    group.broadcast(data, 0);
  }
  for (auto& buffer : model.buffers()) group.broadcast(buffer, 0);
}

void all_reduce_gradients(Collectives& group, torch::nn::Module& model, int64_t bucket_bytes) {
  if (group.size() == 1) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> bucket;
  int64_t bytes = 0;
  auto flush = [&] {
    if (bucket.empty()) return;
    std::vector<torch::Tensor> flat;
    flat.reserve(bucket.size());
    for (const auto& gradient : bucket) flat.push_back(gradient.reshape({-1}));
    auto summed = torch::cat(flat);
    group.all_reduce_sum(summed);
    int64_t offset = 0;
    for (auto& gradient : bucket) {
      gradient.copy_(summed.slice(0, offset, offset + gradient.numel()).view_as(gradient));
      offset += gradient.numel();
    }
    bucket.clear();
    bytes = 0;
  };
  for (auto& parameter : model.parameters()) {
    if (!parameter.grad().defined()) parameter.mutable_grad() = torch::zeros_like(parameter);
    auto gradient = parameter.grad();
    const int64_t size = gradient.numel() * static_cast<int64_t>(gradient.element_size());
    // One bucket holds one dtype on one device (torch::cat needs them alike).
    if (!bucket.empty() && (bytes + size > bucket_bytes || bucket.front().scalar_type() != gradient.scalar_type() ||
                            bucket.front().device() != gradient.device()))
      flush();
    bucket.push_back(gradient);
    bytes += size;
  }
  flush();
}

torch::Tensor parameter_fingerprint(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  double sum = 0.0, weighted = 0.0;
  int64_t offset = 0;
  for (const auto& parameter : model.parameters()) {
    auto values = parameter.detach().reshape({-1}).to(torch::kCPU, torch::kFloat64);
    // Weights in [1, 2) from a fixed integer sequence: a swap of two values,
    // or a change in one bit of one value, moves the weighted sum.
    auto position = torch::arange(offset, offset + values.numel(), torch::kFloat64);
    auto weights = 1.0 + torch::frac(position * 0.6180339887498949);
    sum += values.sum().item<double>();
    weighted += (values * weights).sum().item<double>();
    offset += values.numel();
  }
  return torch::tensor({sum, weighted}, torch::kFloat64);
}

void check_same_parameters(Collectives& group, torch::nn::Module& model, int64_t step) {
  if (group.size() == 1) return;
  const auto all = group.all_gather(parameter_fingerprint(model));
  for (int rank = 1; rank < group.size(); ++rank)
    if (!torch::equal(all[rank], all[0]))
      fail(
          "data-parallel training: after step {} the parameters of rank {} differ from rank 0's; the processes must "
          "run the same dgm on the same data and config (a nondeterministic kernel would also do this)",
          step, rank);
}

}  // namespace dgm
