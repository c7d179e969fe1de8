#pragma once
// The one options struct every estimator of log p(x) takes (Pyro's estimators
// are likewise built from their hyperparameters and get model and proposal at
// call time). Each estimator reads the fields that apply to it and says so in
// its header; the registry (estimators/registry.h) says which take which.

#include <torch/types.h>

#include <cstdint>
#include <optional>

#include "core/options.h"
#include "estimators/proposal.h"

namespace dgm {

/// The gradient an IWAE bound gives its proposal's parameters.
enum class Gradient {
  kStandard,  ///< autograd through the bound: sum_i w~_i d log w_i
  kDreg,      ///< doubly reparameterized (Tucker et al. 2018): same expectation, lower variance
};
DGM_ENUM_NAMES(Gradient, "gradient", {Gradient::kStandard, "standard"}, {Gradient::kDreg, "dreg"});

/// Where AIS starts: the distribution f_0 it anneals away from.
enum class AisInit {
  kEncoder,  ///< the model's proposal q(z | x)
  kPrior,    ///< p(z)
};
DGM_ENUM_NAMES(AisInit, "AIS initial distribution", {AisInit::kEncoder, "encoder"}, {AisInit::kPrior, "prior"});

/// How AIS spaces its inverse temperatures 0 = beta_0 < ... < beta_T = 1.
enum class AisSchedule {
  kSigmoid,  ///< dense near 0 and 1 (Grosse et al. 2015's sigmoid, radius 4)
  kLinear,   ///< beta_t = t / T
};
DGM_ENUM_NAMES(AisSchedule, "AIS schedule", {AisSchedule::kSigmoid, "sigmoid"}, {AisSchedule::kLinear, "linear"});

// clang-format off
#define DGM_AIS_OPTIONS(X)                                                                                        \
  X(int64_t, ais_steps, 1000, "AIS: intermediate distributions T (T = 1 from the encoder is importance sampling)", \
    between(1, 10000000))                                                                                         \
  X(int64_t, leapfrog, 10, "AIS: leapfrog steps L of each HMC transition", between(1, 10000))                     \
  X(int64_t, chains, 16, "AIS: chains S per example (the importance samples)", between(1, 1 << 20))              \
  X(AisInit, ais_init, AisInit::kEncoder, "AIS: the initial distribution, encoder (the model's q) or prior",      \
    any_value())                                                                                                  \
  X(AisSchedule, ais_schedule, AisSchedule::kSigmoid, "AIS: the spacing of beta, sigmoid or linear", any_value()) \
  X(double, step_size, 0.01, "AIS: HMC's step size at the start (adapted per example unless pilot_chains is 0)", \
    between(1e-6, 10))                                                                                            \
  X(double, target_acceptance, 0.65, "AIS: the acceptance rate the step size is adapted toward", between(0.01, 0.99)) \
  X(int64_t, pilot_chains, 4,                                                                                     \
    "AIS: chains of the pilot run that adapts the step sizes, then discarded (0: the step size stays fixed)",    \
    between(0, 1 << 20))
// clang-format on

/// Annealed importance sampling's settings (estimators/ais.h).
struct AisOptions {
  DGM_AIS_OPTIONS(DGM_OPTION_MEMBER)
};
DGM_OPTION_TABLE(AisOptions, DGM_AIS_OPTIONS)

struct EstimatorOptions {
  /// Samples of z per example (the ELBO averages over them; exact sums ignore it). Default: 1.
  int64_t k = 1;
  /// Samples drawn and weighed at once (0 = all k): memory grows with
  /// chunk x B x D and not with k. Exact sums: configurations of z
  /// enumerated at once (0 = 4096). Default: 0.
  int64_t chunk = 0;
  /// Where z comes from. Default: the model's own proposal.
  Proposal proposal = model_proposal();
  /// IWAE bound: the proposal's gradient, standard or dreg. Default: standard.
  Gradient gradient = Gradient::kStandard;
  /// Sampling estimators: reject NaN / +inf log-weights with an error that
  /// names the example (one host read per chunk; training leaves this to the
  /// trainer's loss check). Default: true.
  bool check_weights = true;
  /// ELBO: the closed-form KL where q and p have one (lower variance),
  /// otherwise E_q[log q - log p] by Monte Carlo. Default: true.
  bool analytic_kl = true;
  /// ELBO training surrogates, which change Estimate::objective and never
  /// Estimate::value: the KL term's weight (beta-VAE, Higgins et al. 2017;
  /// KL warm-up ramps it). Default: 1.
  double kl_weight = 1.0;
  /// Free bits (Kingma et al. 2016): each latent dimension's KL, averaged
  /// over the batch, counts as at least this many nats. Default: 0 (off).
  double free_bits = 0.0;
  /// The class of each example where it is known, int64 [B], -1 where it is
  /// hidden: estimators that take labels (class_elbo) use the labelled bound
  /// for those examples. Default: undefined (every class hidden).
  torch::Tensor labels;
  /// class_elbo: the weight of log q(y | x) in the objective of each labelled
  /// example (Kingma et al. 2014's alpha divided by the labelled share of the
  /// data: see ObjectiveOptions::alpha). Never changes Estimate::value. Default: 0.
  double class_weight = 0.0;
  /// AIS: its schedule, transitions and chains (it reads chains, not k).
  AisOptions ais;
  /// Estimators whose draws are keyed by example (AIS): with a seed, the
  /// draws of row i depend only on the seed and first_example + i, so a data
  /// set gives the same results however it is split into batches. Unset: a
  /// fresh seed from LibTorch's generator at each call. Default: unset.
  std::optional<uint64_t> seed;
  /// The index of x's first row in the data set (see seed). Default: 0.
  int64_t first_example = 0;
};

}  // namespace dgm
