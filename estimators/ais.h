#pragma once
// Annealed importance sampling of p(x) (Neal 2001), as Wu et al. 2017
// evaluate decoder-based models, and bidirectional Monte Carlo (Grosse et al.
// 2015) that brackets log p(x) on data simulated from the model.
//
// Forward AIS: z_1 ~ f_0 = q (the encoder or the prior); for t = 1..T the
// log-weight gains (beta_t - beta_{t-1}) (log p(x, z) - log q(z)) at the
// current z, then an HMC transition leaves f_{beta_t} invariant (none after
// the last: it would not change the weight). Each chain's weight is unbiased
// for p(x); with T = 1 AIS is importance sampling with q. The estimate is
// log mean exp over S chains (biased low by Jensen like any log p_hat).
//
// Reverse AIS from an exact posterior sample z* walks beta from 1 to 0: its
// weight is unbiased for 1 / p(x), so minus its log mean exp is a stochastic
// upper bound on log p(x), as the forward one is a stochastic lower bound.
//
// Step sizes. Wu et al. adapt each chain's step size toward an acceptance
// rate of 0.65 from its own past acceptances. That makes a chain's kernel
// depend on its own past, and so on its current state, and a mixture of
// invariant kernels whose weights depend on the state is in general not
// invariant: the weights can be biased. dgm adapts instead on pilot chains
// (Wu et al.'s rule: x1.02 while the running acceptance is above target,
// x0.98 below, clipped to [1e-4, 0.5]) and discards them; each example's
// measuring chains then use the pilot's step size at each transition (its
// geometric mean over the pilot chains), a schedule fixed before they start
// and independent of them, under which AIS is exactly unbiased. The reverse
// chains of BDMC use the same schedule.
//
// Random numbers are counter-based (core/counter_random.h), keyed by
// (seed, first_example + row, chain, transition): results do not depend on
// how chains (options.chunk) or examples (batches) are split.

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "estimators/estimator_options.h"
#include "estimators/weight_statistics.h"
#include "models/latent_variable_model.h"

namespace dgm {

/// The inverse temperatures 0 = beta_0 < ... < beta_T = 1.
std::vector<double> ais_schedule(AisSchedule schedule, int64_t steps);

/// HMC's acceptances, counted in ten bands of beta: [0, 0.1), ..., [0.9, 1].
struct BandAcceptance {
  static constexpr int kBands = 10;
  std::vector<double> accepted = std::vector<double>(kBands, 0.0);
  std::vector<double> proposed = std::vector<double>(kBands, 0.0);
  void add(const BandAcceptance& other);
  /// accepted / proposed of each band (NaN where none was proposed).
  std::vector<double> rates() const;
  /// Over every band.
  double overall() const;
};

struct AisResult {
  /// The final log-weights' statistics per example: log_estimate is log p_hat.
  ImportanceEstimate weights;
  /// Of the measuring chains (the pilot's are not counted).
  BandAcceptance acceptance;
  /// The step size each example's chains used, geometric mean over the
  /// transitions: [B].
  torch::Tensor mean_step_size;
};

/// Whether AIS applies: z continuous (a normal prior with a reparameterized
/// sampler), or z = (y, w) with y summed exactly and AIS over w.
bool ais_applies(LatentVariableModel& model);

/// AIS estimate of p(x_observed) for each row of x [B, D], with options.ais
/// (steps, leapfrog, chains, init, schedule, step sizes), options.chunk
/// (chains at once, 0 = all), options.seed and first_example. No gradients
/// flow out. A model it does not apply to, or bad options, is a dgm::Error.
AisResult annealed_importance_sampling(LatentVariableModel& model, const torch::Tensor& x,
                                       const EstimatorOptions& options = {}, const torch::Tensor& mask = {});

/// The standard normal noise [chains, B, dim] (float64) that AIS's measuring
/// chains start from under `seed` for rows first_example.. of a data set: the
/// initial z is q.from_noise of it (for checking that T = 1 is importance
/// sampling with the same draws).
torch::Tensor ais_initial_noise(uint64_t seed, int64_t first_example, int64_t batch, int64_t chains, int64_t dim,
                                const torch::Device& device = torch::kCPU);

struct BdmcResult {
  /// Stochastic lower and upper bounds on log p(x), per example [B] (float64).
  torch::Tensor lower, upper;
  AisResult forward;
  BandAcceptance reverse_acceptance;
};

/// Bidirectional Monte Carlo for rows x [B, D] simulated from the model with
/// their latents z_exact [B, *latent] (x ~ p(x | z), z ~ p(z)): forward AIS
/// for the lower bound, reverse AIS from z_exact for the upper one, both with
/// options.ais. For z = (y, w) (z_exact's first column the class) the
/// forward bound sums y exactly and the reverse chains anneal w with y held at
/// the class that made x, weighted by the forward estimate of p(y | x): still
/// unbiased for 1 / p(x) (see class_bdmc in ais.cpp).
BdmcResult bidirectional_monte_carlo(LatentVariableModel& model, const torch::Tensor& x, const torch::Tensor& z_exact,
                                     const EstimatorOptions& options = {});

}  // namespace dgm
