#include "estimators/weight_statistics.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "estimators/input_checks.h"

namespace dgm {

void WeightStatistics::add(const torch::Tensor& log_weights) {
  check_log_weights(log_weights, "importance sampling");
  auto log_w = log_weights.detach();
  sum_w_.add(log_w);
  sum_w2_.add(2.0 * log_w);
  auto finite = torch::isfinite(log_w);
  auto values = torch::where(finite, log_w, torch::zeros_like(log_w));
  const int64_t n = log_w.size(0);
  auto chunk_mean = values.mean(0);
  auto chunk_m2 = (values - chunk_mean).pow(2).sum(0);
  auto chunk_zero = (~finite).sum(0);
  if (count_ == 0) {
    mean_log_w_ = chunk_mean;
    m2_log_w_ = chunk_m2;
    zero_weights_ = chunk_zero;
  } else {
    const double total = static_cast<double>(count_ + n);
    auto delta = chunk_mean - mean_log_w_;
    mean_log_w_ = mean_log_w_ + delta * (static_cast<double>(n) / total);
    m2_log_w_ = m2_log_w_ + chunk_m2 + delta.pow(2) * (static_cast<double>(count_) * static_cast<double>(n) / total);
    zero_weights_ = zero_weights_ + chunk_zero;
  }
  count_ += n;
}

ImportanceEstimate WeightStatistics::result() const {
  TORCH_CHECK(count_ > 0, "WeightStatistics::result before any weights were added");
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const double k = static_cast<double>(count_);
  ImportanceEstimate out;
  out.k = count_;
  auto log_sum = sum_w_.log_sum_exp();    // log sum w
  auto log_sum2 = sum_w2_.log_sum_exp();  // log sum w^2
  out.log_estimate = log_sum - std::log(k);
  out.all_weights_zero = torch::isneginf(log_sum);
  // ESS = (sum w)^2 / sum w^2; 0/0 where every weight is 0.
  out.ess = torch::where(out.all_weights_zero, torch::zeros_like(log_sum), torch::exp(2.0 * log_sum - log_sum2));
  if (count_ > 1) {
    // sum w^2 - (sum w)^2 / k = sum w^2 (1 - exp(2 log sum w - log k - log sum w^2)), kept >= 0.
    auto ratio = torch::clamp_max(2.0 * log_sum - std::log(k) - log_sum2, 0.0);
    auto log_ss = log_sum2 + torch::log1p(-torch::exp(ratio));
    auto log_variance = log_ss - std::log(k - 1.0);
    out.log_stderr = 0.5 * (log_variance - std::log(k));
    out.log_stderr = torch::where(out.all_weights_zero, torch::full_like(log_sum, -kInf), out.log_stderr);
    out.log_weight_variance = torch::where(zero_weights_ > 0, torch::full_like(log_sum, kInf), m2_log_w_ / (k - 1.0));
  } else {
    out.log_stderr = torch::full_like(log_sum, kInf);
    out.log_weight_variance = torch::full_like(log_sum, kInf);
  }
  return out;
}

}  // namespace dgm
