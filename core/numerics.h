#pragma once
// Log-space reductions. Estimators never exponentiate log-weights directly:
// log-likelihoods of images are hundreds of nats, far outside float range.

#include <torch/types.h>

namespace dgm {

/// log( mean_i exp(x_i) ) over `dim`, stable for any magnitudes (including
/// -inf entries; all -inf gives -inf).
torch::Tensor log_mean_exp(const torch::Tensor& x, int64_t dim);

/// The mean of values [N] and its standard error (sample standard deviation
/// over sqrt(N); 0 for one value), in float64.
struct MeanAndError {
  double mean = 0.0;
  double standard_error = 0.0;
};
MeanAndError mean_and_error(const torch::Tensor& values);

/// A running log-sum-exp over chunks of samples along dim 0, so that k samples
/// never need to be in memory at once. add() of chunks [S_i, ...] then
/// log_sum_exp() equals torch::logsumexp(cat(chunks), 0).
class LogSumExpAccumulator {
 public:
  void add(const torch::Tensor& chunk);
  /// log of the sum of exp over everything added; [...] (the chunk shape less dim 0).
  torch::Tensor log_sum_exp() const;
  /// log_sum_exp() - log(count()).
  torch::Tensor log_mean_exp() const;
  int64_t count() const { return count_; }

 private:
  torch::Tensor max_;  // running maximum per entry
  torch::Tensor sum_;  // sum of exp(x - max_)
  int64_t count_ = 0;
};

}  // namespace dgm
