#pragma once
// The one interface every model offers and every estimator uses: a joint
// p(x, z) = p(z) p(x | z) and a proposal q(z | x). Estimators never know which
// model they have (a VAE, a mixture, probabilistic PCA, a TorchScript pair).
//
// Shapes: x is [B, D]; z is [S, B, *latent] (S samples for each of B
// examples); log densities come back as [S, B] in nats. A mask [B, D] of 1s
// (observed) and 0s (missing) restricts log p(x | z) to the observed entries,
// which marginalizes the missing ones for likelihoods that factorize over D.
//
// Threads: with gradients off on the CPU, the sampling estimators call
// log_joint (and the proposal's log_prob) from several threads at once, on
// different draws (estimators/log_weights.h). An implementation must not
// change shared state there or draw random numbers; every model in dgm only
// reads its parameters.

#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>
#include <optional>
#include <string>

#include "core/distributions.h"

namespace dgm {

/// The most latent configurations dgm enumerates (2^24): beyond it, exact
/// sums are refused and only sampling estimators answer.
inline constexpr int64_t kMaxEnumeration = int64_t{1} << 24;

class LatentVariableModel {
 public:
  virtual ~LatentVariableModel() = default;

  /// p(z), batch shape [B].
  virtual std::shared_ptr<Distribution> prior(int64_t batch) = 0;
  /// q(z | x), batch shape [B]: the encoder for a VAE, the exact posterior
  /// where the model has one. With a mask, q may only look at observed entries.
  virtual std::shared_ptr<Distribution> proposal(const torch::Tensor& x, const torch::Tensor& mask = {}) = 0;
  /// True when proposal() is the exact posterior p(z | x).
  virtual bool proposal_is_posterior() const { return false; }
  /// p(x | z), batch shape [S, B] for z [S, B, *latent].
  virtual std::shared_ptr<Distribution> likelihood(const torch::Tensor& z) = 0;

  /// log p(x | z) summed over the observed entries: [S, B].
  virtual torch::Tensor log_likelihood(const torch::Tensor& x, const torch::Tensor& z,
                                       const torch::Tensor& mask = {}) = 0;
  /// log p(x, z) = log p(z) + log p(x | z): [S, B].
  virtual torch::Tensor log_joint(const torch::Tensor& x, const torch::Tensor& z, const torch::Tensor& mask = {}) {
    return prior(x.size(0))->log_prob(z) + log_likelihood(x, z, mask);
  }

  /// Exact log p(x) of the observed entries where the model has a closed form:
  /// [B], nats. Empty otherwise (finite latent spaces are enumerated instead).
  virtual std::optional<torch::Tensor> closed_form_log_marginal(const torch::Tensor& /*x*/,
                                                                const torch::Tensor& /*mask*/ = {}) {
    return std::nullopt;
  }

  /// True when closed_form_log_marginal answers.
  virtual bool has_closed_form_marginal() const { return false; }

  /// How many values z takes: 0 for a continuous latent space.
  virtual int64_t latent_support_size() const { return 0; }
  /// The z of each index in [0, latent_support_size()): int64 [...] -> [..., *latent].
  virtual torch::Tensor latent_values(const torch::Tensor& indices) const;

  virtual int64_t data_dim() const = 0;
  virtual int64_t latent_dim() const = 0;

  /// True when p(x | z) needs data in [0, 1] (a Bernoulli likelihood): the
  /// data loaders check it and binarize.
  virtual bool needs_unit_interval() const { return false; }
  /// The levels p(x | z) gives mass to for each value (256: 8-bit pixels
  /// k / 255, a discretized likelihood, whose log p(x) is a log mass with
  /// bits per dimension), or 0 where p(x | z) is a density or x binary.
  virtual int64_t data_levels() const { return 0; }
  /// One line for reports, e.g. "VAE (784 -> 20 latent)".
  virtual std::string describe() const;
};

/// A latent variable model with parameters and buffers: what dgm trains (or
/// fits in closed form), checkpoints and keeps in run directories. The model
/// registry (models/model_registry.h) makes them from a config.
class TrainableModel : public torch::nn::Module, public LatentVariableModel {
 public:
  /// Called once with the training examples [N, D] after the parameters are
  /// initialised and before training: a VAE may start its output bias at the
  /// data's mean. Default: nothing.
  virtual void initialize_from_data(const torch::Tensor& /*train_x*/) {}
  /// True when the model is fitted in closed form (fit_closed_form) rather
  /// than by the gradient trainer. Default: false.
  virtual bool fits_in_closed_form() const { return false; }
  /// The closed-form maximum-likelihood fit to the rows of x [N, D].
  virtual void fit_closed_form(const torch::Tensor& x);
};

}  // namespace dgm
