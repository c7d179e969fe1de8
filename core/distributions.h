#pragma once
// Probability distributions on tensors, in the shape convention of dgm:
// samples first. A distribution has a batch shape (one distribution per
// example) and an event shape; sample(n) returns [n, *batch, *event] and
// log_prob sums over the event dimensions, returning [..., *batch] in nats.

#include <torch/types.h>

#include <functional>
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
  /// The reparameterized draws made from standard normal noise eps [n, *batch,
  /// *event] (rsample(n) is from_noise of torch::randn): what lets a caller
  /// bring its own random numbers (AIS's counter-based ones). Throws for
  /// distributions that have no such sampler; has_from_noise() says.
  virtual torch::Tensor from_noise(const torch::Tensor& eps) const;
  virtual bool has_from_noise() const { return false; }
  /// log density (or mass) summed over the event: value [..., *batch, *event] -> [..., *batch].
  virtual torch::Tensor log_prob(const torch::Tensor& value) const = 0;
  /// Closed-form entropy [*batch]; throws where there is none.
  virtual torch::Tensor entropy() const;
  /// The mean [*batch, *event]; throws where it is not a tensor of values.
  virtual torch::Tensor mean() const;
  /// False where mean() throws: values that are labels (a category, an index).
  virtual bool has_mean() const { return true; }
  /// One value that stands for the distribution, [*batch, *event], for
  /// reconstructions and codes: the mean by default; the most probable value
  /// where values are labels. Throws where there is neither.
  virtual torch::Tensor point_estimate() const { return mean(); }
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
  torch::Tensor from_noise(const torch::Tensor& eps) const override;
  bool has_from_noise() const override { return true; }
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

/// Two blocks of latents, one conditioned on the other: a ~ root and
/// b | a ~ conditional(a), both diagonal normals; a value holds [a, b]
/// (root_first) or [b, a] along the last dimension. The hierarchical priors
/// and proposals of models with two stochastic layers (the IWAE paper's
/// p(z2) p(z1 | z2) and q(z1 | x) q(z2 | z1)). Reparameterized: a sample is a
/// differentiable function of the root's and the conditional's parameters.
class DiagNormalChain : public Distribution {
 public:
  using Conditional = std::function<DiagNormal(const torch::Tensor&)>;
  DiagNormalChain(DiagNormal root, Conditional conditional, int64_t conditional_dim, bool root_first);
  torch::Tensor sample(int64_t n) const override;
  torch::Tensor rsample(int64_t n) const override;
  /// eps holds the root's noise then the conditional's (whatever root_first says).
  torch::Tensor from_noise(const torch::Tensor& eps) const override;
  bool has_from_noise() const override { return true; }
  /// log root(a) + log conditional(a)(b): the conditional's network runs on a.
  torch::Tensor log_prob(const torch::Tensor& value) const override;
  /// The root's mean, and the conditional's mean at the root's mean (a
  /// plug-in, not E[b], which has no closed form): for reconstructions and
  /// the active-units diagnostic.
  torch::Tensor mean() const override;
  bool has_rsample() const override { return true; }
  std::string name() const override { return "DiagNormalChain"; }

 private:
  torch::Tensor join(const torch::Tensor& a, const torch::Tensor& b) const;
  DiagNormal root_;
  Conditional conditional_;
  int64_t root_dim_, conditional_dim_;
  bool root_first_;
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

/// 8-bit data (values k / (levels - 1) in [0, 1]) as a logistic of location
/// `mean` and log-scale `log_scale`, discretized (Salimans et al. 2017,
/// PixelCNN++; Kingma et al. 2016): the mass of value v is the logistic's
/// probability of the bin v +- 1 / (2 (levels - 1)), the end bins reaching to
/// -inf and +inf, so the masses of the levels sum to 1. Independent per
/// coordinate; the event is the last dimension.
class DiscretizedLogistic : public Distribution {
 public:
  DiscretizedLogistic(torch::Tensor mean, torch::Tensor log_scale, int64_t levels = 256);
  /// n draws on the grid of levels.
  torch::Tensor sample(int64_t n) const override;
  torch::Tensor log_prob(const torch::Tensor& value) const override;
  /// Per-coordinate log masses, not summed.
  torch::Tensor log_prob_elements(const torch::Tensor& value) const;
  /// The location clamped to [0, 1] (the logistic's mean and median before
  /// discretization), what pictures of the model show.
  torch::Tensor mean() const override { return location_.clamp(0.0, 1.0); }
  std::string name() const override { return "DiscretizedLogistic"; }

 private:
  torch::Tensor location_, log_scale_;
  int64_t levels_;
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
  bool has_mean() const override { return false; }
  /// The most probable class [*batch].
  torch::Tensor point_estimate() const override { return log_probs_.argmax(-1); }
  /// Normalized log-probabilities [*batch, K].
  const torch::Tensor& log_probs() const { return log_probs_; }

 private:
  torch::Tensor log_probs_;
};

/// A Gaussian with full covariance L L^T over the last dimension, given by its
/// lower-triangular Cholesky factor L (scale_tril). Event shape [D]; loc
/// [*batch, D], scale_tril [*batch, D, D] (or [D, D], shared by the batch).
class MultivariateNormal : public Distribution {
 public:
  MultivariateNormal(torch::Tensor loc, torch::Tensor scale_tril);
  torch::Tensor sample(int64_t n) const override;
  torch::Tensor rsample(int64_t n) const override;
  torch::Tensor from_noise(const torch::Tensor& eps) const override;
  bool has_from_noise() const override { return true; }
  torch::Tensor log_prob(const torch::Tensor& value) const override;
  torch::Tensor entropy() const override;
  torch::Tensor mean() const override { return loc_; }
  bool has_rsample() const override { return true; }
  std::string name() const override { return "MultivariateNormal"; }
  const torch::Tensor& loc() const { return loc_; }
  const torch::Tensor& scale_tril() const { return scale_tril_; }

 private:
  torch::Tensor loc_, scale_tril_;
};

/// The uniform distribution over a finite set of K values, one per batch entry,
/// with batch shape [B]. Values are produced from indices by `values_of`
/// (int64 indices [...] -> values [..., *event]), so the set need not be
/// materialized: 2^20 binary vectors cost nothing until drawn.
class FiniteUniform : public Distribution {
 public:
  using ValuesOf = std::function<torch::Tensor(const torch::Tensor&)>;
  FiniteUniform(int64_t size, int64_t batch, ValuesOf values_of, torch::TensorOptions options);
  torch::Tensor sample(int64_t n) const override;
  /// log(1/K) for every value (values are assumed to lie in the set): [..., B].
  torch::Tensor log_prob(const torch::Tensor& value) const override;
  torch::Tensor entropy() const override;
  std::string name() const override { return "FiniteUniform"; }
  bool has_mean() const override { return false; }
  int64_t size() const { return size_; }

 private:
  int64_t size_, batch_;
  ValuesOf values_of_;
  torch::TensorOptions options_;
};

/// A copy of a Gaussian proposal (DiagNormal or MultivariateNormal) with its
/// scale multiplied by `factor`: a deliberately wider, worse proposal. Other
/// distributions are a dgm::Error naming them.
std::shared_ptr<Distribution> widen(const Distribution& distribution, double factor);

/// KL(q || p) in closed form, summed over the event: [*batch]. Empty when the
/// pair has no closed form here (the caller then estimates it by Monte Carlo).
std::optional<torch::Tensor> kl_divergence(const Distribution& q, const Distribution& p);

/// KL(q || p) per event coordinate, not summed ([*batch, D]), for pairs of
/// factorized distributions (DiagNormal, Bernoulli); empty otherwise.
std::optional<torch::Tensor> kl_divergence_elements(const Distribution& q, const Distribution& p);

}  // namespace dgm
