#pragma once
// Every estimator of log p(x), by name: what `dgm estimate --estimators`
// lists, what train.objective may name, and what the config checks against.
// The built-in ones are naive, is, iwae, elbo, exact, class_sum, class_elbo
// and ais; a new estimator is one new file and one registration:
//
//   static const dgm::RegisterEstimator mine({"mine", "what it computes", dgm::EstimateKind::kLowerBound,
//                                            /*differentiable=*/true, estimate_mine});
//
// Each takes the model, x [B, D], the one EstimatorOptions and a mask at call
// time, and gives one value per example.

#include <torch/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/registry.h"
#include "estimators/ais.h"
#include "estimators/estimator_options.h"
#include "estimators/weight_statistics.h"
#include "models/latent_variable_model.h"

namespace dgm {

/// What an estimator's value is to log p(x).
enum class EstimateKind {
  kLowerBound,  ///< a bound below log p(x) in expectation (ELBO, IWAE)
  kUnbiased,    ///< the log of an unbiased estimate of p(x) (biased low by Jensen)
  kExact,       ///< log p(x) itself, where the model allows it
};

/// One estimator's answer for a batch.
struct Estimate {
  /// Per example [B], nats.
  torch::Tensor value;
  /// What training maximizes ([B], differentiable): `value` with the ELBO's
  /// surrogates (kl_weight, free_bits) applied; `value` itself otherwise.
  torch::Tensor objective;
  /// Importance sampling's diagnostics (ESS, standard error), where the
  /// estimator weighs samples.
  std::optional<ImportanceEstimate> weights;
  /// HMC's acceptance rates per band of beta, where the estimator anneals (AIS).
  std::optional<BandAcceptance> acceptance;
};

using EstimateFunction = std::function<Estimate(LatentVariableModel& model, const torch::Tensor& x,
                                                const EstimatorOptions& options, const torch::Tensor& mask)>;

struct EstimatorEntry {
  /// As written in `--estimators` and train.objective, e.g. "iwae".
  std::string name;
  /// One line for listings.
  std::string summary;
  EstimateKind kind = EstimateKind::kLowerBound;
  /// Its value has a useful gradient: it may be a training objective.
  bool differentiable = false;
  EstimateFunction estimate;
  /// It reads EstimatorOptions::kl_weight and free_bits (the ELBO's training surrogates).
  bool takes_surrogates = false;
  /// It reads EstimatorOptions::gradient (standard or dreg).
  bool takes_gradient = false;
  /// It reads EstimatorOptions::k (an exact sum does not).
  bool takes_k = true;
  /// Its gradient flows through z drawn from the proposal by the
  /// reparameterization trick (ELBO, IWAE): a model whose proposal has no
  /// reparameterized sampler (a discrete z) cannot be trained with it.
  bool reparameterized = false;
  /// It reads EstimatorOptions::labels and class_weight: the trainer hands it
  /// the classes of the labelled training examples (semi-supervised training).
  bool takes_labels = false;
  /// Whether it works on a model (empty: on every model). `dgm estimate`
  /// runs, unless told which, every registered estimator that applies.
  std::function<bool(LatentVariableModel& model)> applies = {};
  /// `dgm estimate` without --estimators runs it (AIS, which costs T x L
  /// times as much as importance sampling, runs only when named).
  bool by_default = true;
};

using EstimatorRegistry = Registry<EstimatorEntry>;

/// Every estimator dgm knows: the built-in ones, then those registered since.
EstimatorRegistry& estimator_registry();

/// Registers an estimator when constructed (a static object in a program or test).
struct RegisterEstimator {
  explicit RegisterEstimator(EstimatorEntry entry) { estimator_registry().add(std::move(entry)); }
};

/// The estimate of `name` for each row of x (a shortcut for
/// estimator_registry().at(name).estimate(...)).
Estimate estimate(const std::string& name, LatentVariableModel& model, const torch::Tensor& x,
                  const EstimatorOptions& options = {}, const torch::Tensor& mask = {});

}  // namespace dgm
