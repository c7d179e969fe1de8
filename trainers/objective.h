#pragma once
// What the gradient trainer maximizes: an estimator of a bound on log p(x).
// The trainer never knows which one; switching ELBO for IWAE is configuration.

#include <torch/types.h>

#include <memory>
#include <string>

#include "models/latent_variable_model.h"

namespace dgm {

struct TrainConfig;

class Objective {
 public:
  virtual ~Objective() = default;
  /// The per-example bound [B] in nats (higher is better), differentiable.
  virtual torch::Tensor bound(LatentVariableModel& model, const torch::Tensor& x) = 0;
  virtual std::string name() const = 0;
  /// Told the step before each one, for schedules such as KL warm-up.
  virtual void on_step(int64_t /*step*/) {}
};

/// The ELBO as a training objective with its surrogates.
struct ElboObjectiveOptions {
  /// Samples of z averaged. Default: 1.
  int64_t samples = 1;
  /// beta, the final weight of the KL term (beta-VAE). Default: 1.
  double beta = 1.0;
  /// KL warm-up: the weight rises linearly from 0 to beta over these steps. Default: 0 (off).
  int64_t warmup_steps = 0;
  /// Free bits per latent dimension (nats). Default: 0 (off).
  double free_bits = 0.0;
};

std::unique_ptr<Objective> make_elbo_objective(const ElboObjectiveOptions& options);

/// The reparameterized ELBO averaged over `samples` draws of z (Kingma & Welling 2013).
std::unique_ptr<Objective> make_elbo_objective(int64_t samples);

/// The IWAE bound with k samples (Burda et al. 2015); with `dreg`, its
/// gradient for the encoder is the doubly reparameterized one (Tucker et al. 2018).
std::unique_ptr<Objective> make_iwae_objective(int64_t k, bool dreg = false);

/// The exact log-likelihood, for models whose marginal is a closed form or a
/// finite sum (maximum likelihood by gradient, e.g. a sigmoid belief net).
std::unique_ptr<Objective> make_exact_objective();

/// The objective that train.objective and train.k name.
std::unique_ptr<Objective> make_objective(const TrainConfig& config);

}  // namespace dgm
