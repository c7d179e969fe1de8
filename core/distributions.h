#pragma once
// Probability distributions on tensors, in the shape convention of dgm:
// samples first. A distribution has a batch shape (one distribution per
// example) and an event shape; sample(n) returns [n, *batch, *event] and
// log_prob sums over the event dimensions, returning [..., *batch] in nats.

#include <torch/types.h>

#include <memory>
#include <optional>
#include <string>

namespace dgm {

class Distribution {
 public:
  virtual ~Distribution() = default;
  /// n draws without gradient: [n, *batch, *event].
  virtual torch::Tensor sample(int64_t n) const = 0;
  /// n reparameterized draws (gradients flow into the parameters). Throws for
  /// distributions that have no reparameterization (discrete ones).
  virtual torch::Tensor rsample(int64_t n) const;
  /// log density (or mass) summed over the event: value [..., *batch, *event] -> [..., *batch].
  virtual torch::Tensor log_prob(const torch::Tensor& value) const = 0;
  /// Closed-form entropy [*batch]; throws where there is none.
  virtual torch::Tensor entropy() const;
  /// The mean [*batch, *event]; throws where it is not a tensor of values.
  virtual torch::Tensor mean() const;
  virtual bool has_rsample() const { return false; }
  virtual std::string name() const = 0;
};

/// Independent normals over the last dimension: N(loc, diag(scale^2)).
/// Event shape [D].
class DiagNormal : public Distribution {
 public:
  DiagNormal(torch::Tensor loc, torch::Tensor scale);
  /// From mean and log-variance, as encoders usually output them.
  static DiagNormal from_log_var(const torch::Tensor& loc, const torch::Tensor& log_var);
  /// N(0, I) with batch shape `batch` and event [dim].
  static DiagNormal standard(torch::IntArrayRef batch, int64_t dim, const torch::TensorOptions& options);

  torch::Tensor sample(int64_t n) const override;
  torch::Tensor rsample(int64_t n) const override;
  torch::Tensor log_prob(const torch::Tensor& value) const override;
  /// Per-coordinate log densities, not summed: value [..., *batch, D] -> same.
  torch::Tensor log_prob_elements(const torch::Tensor& value) const;
  torch::Tensor entropy() const override;
  torch::Tensor mean() const override { return loc_; }
  bool has_rsample() const override { return true; }
  std::string name() const override { return "DiagNormal"; }

  const torch::Tensor& loc() const { return loc_; }
  const torch::Tensor& scale() const { return scale_; }
  const torch::Tensor& log_scale() const { return log_scale_; }
  /// True for N(0, I) made by standard(): lets KL use its shorter closed form.
  bool is_standard() const { return standard_; }

 private:
  DiagNormal(torch::Tensor loc, torch::Tensor scale, torch::Tensor log_scale, bool standard = false);
  torch::Tensor loc_, scale_, log_scale_;
  bool standard_ = false;
};

/// Independent Bernoulli variables over the last dimension, parameterized by
/// logits (log p - log(1-p)), which stays exact where p is near 0 or 1.
class Bernoulli : public Distribution {
 public:
  explicit Bernoulli(torch::Tensor logits);
  torch::Tensor sample(int64_t n) const override;
  torch::Tensor log_prob(const torch::Tensor& value) const override;
  /// Per-coordinate log masses, not summed.
  torch::Tensor log_prob_elements(const torch::Tensor& value) const;
  torch::Tensor entropy() const override;
  torch::Tensor mean() const override { return probs(); }
  std::string name() const override { return "Bernoulli"; }
  const torch::Tensor& logits() const { return logits_; }
  torch::Tensor probs() const;

 private:
  torch::Tensor logits_;
};

/// One categorical variable per batch entry over K classes given by logits
/// [*batch, K]. Values are int64 class indices, event shape [].
class Categorical : public Distribution {
 public:
  explicit Categorical(torch::Tensor logits);
  torch::Tensor sample(int64_t n) const override;
  torch::Tensor log_prob(const torch::Tensor& value) const override;
  torch::Tensor entropy() const override;
  std::string name() const override { return "Categorical"; }
  /// Normalized log-probabilities [*batch, K].
  const torch::Tensor& log_probs() const { return log_probs_; }

 private:
  torch::Tensor log_probs_;
};

/// KL(q || p) in closed form, summed over the event: [*batch]. Empty when the
/// pair has no closed form here (the caller then estimates it by Monte Carlo).
std::optional<torch::Tensor> kl_divergence(const Distribution& q, const Distribution& p);

}  // namespace dgm
