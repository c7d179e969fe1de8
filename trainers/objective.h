#pragma once
// What the gradient trainer maximizes: a registered estimator (estimators/
// registry.h) of a bound on log p(x), named by train.objective: elbo, iwae,
// exact, or any differentiable estimator a program registers. The trainer
// never knows which one; switching ELBO for IWAE is configuration.

#include <torch/types.h>

#include <string>

#include "core/options.h"
#include "estimators/estimator_options.h"
#include "estimators/registry.h"
#include "models/latent_variable_model.h"

namespace dgm {

/// The registered estimators that may be training objectives.
std::vector<std::string> training_objective_names();

// clang-format off
#define DGM_OBJECTIVE_OPTIONS(X)                                                                                  \
  X(std::string, objective, "elbo",                                                                               \
    "the registered estimator training maximizes: elbo (averaged over k samples), iwae (the IWAE-k bound), "     \
    "exact (models with an exact marginal) or class_elbo (z = (y, w), y summed: M2's, with labels)",              \
    one_of(training_objective_names))                                                                              \
  X(int64_t, k, 1, "samples per example for the objective", between(1, 1 << 20))                                 \
  X(Gradient, gradient, Gradient::kStandard,                                                                      \
    "iwae only: standard (autograd through the bound) or dreg (the doubly reparameterized encoder gradient, "     \
    "Tucker et al. 2018)", any_value())                                                                            \
  X(double, beta, 1.0, "elbo only: the weight of the KL term (beta-VAE)", at_least(0))                          \
  X(int64_t, warmup_steps, 0, "elbo only: KL warm-up, the weight rising linearly from 0 to beta over these steps", \
    at_least(0))                                                                                                   \
  X(double, free_bits, 0.0, "elbo only: free bits, nats per latent dimension (batch-averaged KL floor)",          \
    at_least(0))                                                                                                   \
  X(double, alpha, 0.1,                                                                                            \
    "class_elbo with labels: the weight of the classifier's term E[log q(y|x)] over the labelled examples, per "  \
    "training example (Kingma et al. 2014's alpha = 0.1 N): each labelled example's log q(y|x) counts "            \
    "alpha N / N_labelled times", at_least(0))
// clang-format on

/// train.objective and the options that shape it.
struct ObjectiveOptions {
  DGM_OBJECTIVE_OPTIONS(DGM_OPTION_MEMBER)
};
DGM_OPTION_TABLE(ObjectiveOptions, DGM_OBJECTIVE_OPTIONS)

/// Checks the options against the registry: an estimator that is not
/// differentiable, a gradient or surrogates the estimator does not take.
/// Errors name `where` (a config file, or "ObjectiveOptions").
void check_objective_options(const ObjectiveOptions& options, const std::string& where);

class Objective {
 public:
  explicit Objective(ObjectiveOptions options);

  /// The per-example objective [B] in nats (higher is better), differentiable,
  /// with the surrogates (beta, warm-up, free bits) applied; `labels` (int64
  /// [B], -1 = hidden) reach an estimator that takes them.
  torch::Tensor bound(LatentVariableModel& model, const torch::Tensor& x, const torch::Tensor& labels = {});
  /// Checks, on examples x, that the objective can train `model`: one that
  /// draws z by the reparameterization trick (elbo, iwae) needs a proposal
  /// that has it; otherwise a dgm::Error that names a better objective.
  void check_trainable(LatentVariableModel& model, const torch::Tensor& x) const;
  /// True when the estimator takes labels (class_elbo): the trainer then
  /// hands it the labelled training examples.
  bool takes_labels() const;
  /// Told how many of the N training examples are labelled, before training
  /// with labels: sets each labelled example's weight of log q(y | x) to
  /// alpha N / N_labelled.
  void set_label_counts(int64_t examples, int64_t labelled);
  /// The estimator's own value per example [B] for validation: no surrogates
  /// (no gradients are needed).
  torch::Tensor value(LatentVariableModel& model, const torch::Tensor& x);
  /// Told the step before each one, for the KL warm-up.
  void on_step(int64_t step);
  /// "elbo", "iwae (k=50, DReG)", ...
  std::string name() const;
  /// The registered estimator's name: "iwae".
  const std::string& estimator() const { return options_.objective; }
  /// True when value() is the ELBO with one sample, which the trainer reports anyway.
  bool is_plain_elbo() const;
  const ObjectiveOptions& options() const { return options_; }

 private:
  ObjectiveOptions options_;
  const EstimatorEntry* entry_;
  EstimatorOptions estimator_options_;
};

}  // namespace dgm
