#pragma once
// Streaming statistics of importance log-weights log w_i, i = 1..k, per
// example: everything an importance-sampling report needs, computed chunk by
// chunk in log space so that k is not bounded by memory and nothing
// overflows.

#include <torch/types.h>

#include "core/numerics.h"

namespace dgm {

/// What importance sampling says about log p(x), per example [B].
struct ImportanceEstimate {
  /// log p_hat = log (1/k) sum w_i: the log of an unbiased estimate of p(x),
  /// itself biased low (Jensen). Nats.
  torch::Tensor log_estimate;
  /// log of the standard error of p_hat (sqrt of the unbiased variance of w over
  /// k); +inf when k = 1, where it is unknown.
  torch::Tensor log_stderr;
  /// Effective sample size (sum w)^2 / sum w^2, between 1 and k.
  torch::Tensor ess;
  /// Variance of the log-weights (+inf when some weight is 0).
  torch::Tensor log_weight_variance;
  /// True where every weight was 0 (log_estimate = -inf).
  torch::Tensor all_weights_zero;
  int64_t k = 0;
};

class WeightStatistics {
 public:
  /// Adds a chunk of log-weights [S, B] (checked).
  void add(const torch::Tensor& log_weights);
  ImportanceEstimate result() const;

 private:
  LogSumExpAccumulator sum_w_, sum_w2_;
  torch::Tensor mean_log_w_, m2_log_w_, zero_weights_;  // Chan et al.'s parallel variance over finite log w
  int64_t count_ = 0;
};

}  // namespace dgm
