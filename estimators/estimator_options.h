#pragma once
// The one options struct every estimator of log p(x) takes (Pyro's estimators
// are likewise built from their hyperparameters and get model and proposal at
// call time). Each estimator reads the fields that apply to it and says so in
// its header; the registry (estimators/registry.h) says which take which.

#include <torch/types.h>

#include <cstdint>

#include "core/options.h"
#include "estimators/proposal.h"

namespace dgm {

/// The gradient an IWAE bound gives its proposal's parameters.
enum class Gradient {
  kStandard,  ///< autograd through the bound: sum_i w~_i d log w_i
  kDreg,      ///< doubly reparameterized (Tucker et al. 2018): same expectation, lower variance
};
DGM_ENUM_NAMES(Gradient, "gradient", {Gradient::kStandard, "standard"}, {Gradient::kDreg, "dreg"});

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
};

}  // namespace dgm
