#include "core/numerics.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "core/error.h"

namespace dgm {
namespace {

torch::Tensor finite_or_zero(const torch::Tensor& x) {
  return torch::where(torch::isfinite(x), x, torch::zeros_like(x));
}

}  // namespace

torch::Tensor log_mean_exp(const torch::Tensor& x, int64_t dim) {
  const int64_t n = x.size(dim);
  TORCH_CHECK(n > 0, "log_mean_exp over an empty dimension ", dim);
  return torch::logsumexp(x, dim) - std::log(static_cast<double>(n));
}

void LogSumExpAccumulator::add(const torch::Tensor& chunk) {
  TORCH_CHECK(chunk.dim() >= 1 && chunk.size(0) > 0, "LogSumExpAccumulator::add needs a non-empty chunk");
  auto chunk_max = chunk.amax(0);  // amax: max(dim) would also find the indices
  if (count_ == 0) {
    max_ = torch::full_like(chunk_max, -std::numeric_limits<double>::infinity());
    sum_ = torch::zeros_like(chunk_max);
  }
  auto new_max = torch::maximum(max_, chunk_max);
  // Where every term so far is exp(-inf) = 0, shift by 0 instead of -inf:
  // -inf - (-inf) would be NaN.
  auto shift = finite_or_zero(new_max);
  sum_ = sum_ * torch::exp(max_ - shift) + torch::exp(chunk - shift).sum(0);
  max_ = new_max;
  count_ += chunk.size(0);
}

torch::Tensor LogSumExpAccumulator::log_sum_exp() const {
  TORCH_CHECK(count_ > 0, "LogSumExpAccumulator is empty");
  return finite_or_zero(max_) + torch::log(sum_);
}

torch::Tensor LogSumExpAccumulator::log_mean_exp() const {
  return log_sum_exp() - std::log(static_cast<double>(count_));
}

MeanAndError mean_and_error(const torch::Tensor& values) {
  auto v = values.to(torch::kFloat64);
  const double mean = v.mean().item<double>();
  const double error = v.numel() > 1 ? v.std().item<double>() / std::sqrt(static_cast<double>(v.numel())) : 0.0;
  return {mean, error};
}

}  // namespace dgm
