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

GradientBuckets::GradientBuckets(torch::nn::Module& model, int64_t riders, int64_t bucket_bytes) : riders_(riders) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> members;  // the parameters of the buffer being planned
  int64_t values = 0, bytes = 0;
  auto close = [&](int64_t extra) {
    if (members.empty()) return;
    auto buffer = torch::zeros({values + extra}, members.front().options().requires_grad(false));
    int64_t offset = 0;
    for (auto& parameter : members) {
      slots_.push_back({parameter, buffers_.size(), offset});
      auto view = buffer.slice(0, offset, offset + parameter.numel()).view_as(parameter);
      if (parameter.grad().defined()) view.copy_(parameter.grad());  // the gradients so far are kept
      parameter.mutable_grad() = view;
      offset += parameter.numel();
    }
    buffers_.push_back(buffer);
    members.clear();
    values = bytes = 0;
  };
  for (auto& parameter : model.parameters()) {
    if (!parameter.requires_grad()) continue;
    const int64_t size = parameter.numel() * static_cast<int64_t>(parameter.element_size());
    if (!members.empty() && (bytes + size > bucket_bytes || members.front().scalar_type() != parameter.scalar_type() ||
                             members.front().device() != parameter.device()))
      close(0);
    members.push_back(parameter);
    values += parameter.numel();
    bytes += size;
  }
  close(riders_);
  if (buffers_.empty() && riders_ > 0) buffers_.push_back(torch::zeros({riders_}));  // a model without parameters
}

void GradientBuckets::zero() {
  for (auto& buffer : buffers_) buffer.zero_();
  for (auto& slot : slots_)  // where something replaced a view, that tensor
    if (slot.parameter.grad().defined() && !is_view_of_its_buffer(slot)) slot.parameter.mutable_grad().zero_();
}

bool GradientBuckets::is_view_of_its_buffer(const Slot& slot) const {
  const auto& gradient = slot.parameter.grad();
  const auto& buffer = buffers_[slot.buffer];
  return gradient.defined() && gradient.is_alias_of(buffer) &&
         gradient.data_ptr() == static_cast<char*>(buffer.data_ptr()) + slot.offset * buffer.element_size();
}

void GradientBuckets::all_reduce(Collectives& group, std::vector<double>& riders) {
  if (static_cast<int64_t>(riders.size()) != riders_)
    fail("internal: {} riders given to a gradient bucket made for {}", riders.size(), riders_);
  if (buffers_.empty()) return;
  torch::NoGradGuard no_grad;
  // A gradient that is no longer a view (replaced, or undefined on a process
  // whose part of the batch was empty; that counts as zeros) is copied in
  // and is a view again from here on.
  for (auto& slot : slots_) {
    if (is_view_of_its_buffer(slot)) continue;
    auto place = buffers_[slot.buffer].slice(0, slot.offset, slot.offset + slot.parameter.numel());
    if (slot.parameter.grad().defined())
      place.copy_(slot.parameter.grad().reshape({-1}));
    else
      place.zero_();
    slot.parameter.mutable_grad() = place.view_as(slot.parameter);
  }
  auto& last = buffers_.back();
  const int64_t first_rider = last.numel() - riders_;
  if (riders_ > 0) last.slice(0, first_rider).copy_(torch::tensor(riders, torch::kFloat64).to(last.options()));
  for (auto& buffer : buffers_) group.all_reduce_sum(buffer);
  if (riders_ > 0) {
    auto sums = last.slice(0, first_rider).to(torch::kCPU, torch::kFloat64);
    for (int64_t r = 0; r < riders_; ++r) riders[static_cast<std::size_t>(r)] = sums[r].item<double>();
  }
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
