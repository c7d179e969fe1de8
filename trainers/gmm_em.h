#pragma once
// Expectation-maximization for Gaussian mixtures (Dempster, Laird & Rubin
// 1977), batched over components and streamed over the data in chunks: one
// pass per iteration accumulates the sufficient statistics (N_k, sum r x,
// sum r x x^T) with matrix products, then the M-step solves for weights,
// means and covariances. Initialisation and stopping follow scikit-learn's
// GaussianMixture, so results are comparable.

#include <torch/types.h>

#include <string>
#include <vector>

#include "core/collectives.h"
#include "core/options.h"
#include "models/gaussian_mixture.h"

namespace dgm {

/// How EM picks its first responsibilities.
enum class EmInit {
  kKmeans,          ///< k-means++ seeding, then Lloyd steps (scikit-learn's default)
  kKmeansPlusPlus,  ///< k-means++ seeding alone
  kRandom,          ///< random responsibilities
  kRandomFromData,  ///< K random points as one-hot centres
};
DGM_ENUM_NAMES(EmInit, "EM initialisation", {EmInit::kKmeans, "kmeans"}, {EmInit::kKmeansPlusPlus, "k-means++"},
               {EmInit::kRandom, "random"}, {EmInit::kRandomFromData, "random_from_data"});

// clang-format off
#define DGM_EM_OPTIONS(X)                                                                                          \
  X(int64_t, components, 1, "K, the number of components", at_least(1))                                           \
  X(CovarianceType, covariance, CovarianceType::kFull, "full, tied, diag or spherical", any_value())              \
  X(EmInit, init, EmInit::kKmeans,                                                                                \
    "kmeans (k-means++ seeding, then Lloyd steps), k-means++, random or random_from_data", any_value())           \
  X(int64_t, n_init, 1, "restarts from different initialisations; the best is kept", at_least(1))                 \
  X(int64_t, max_iter, 100, "EM iterations at most", at_least(0))                                                 \
  X(double, tol, 1e-3, "stop when the mean log-likelihood changes by less than this", at_least(0))               \
  X(double, reg_covar, 1e-6, "added to the covariances' diagonal", at_least(0))                                  \
  X(uint64_t, seed, 0, "fixes the initialisation and any re-seeding", any_value())                                \
  X(bool, reseed_collapsed, false,                                                                                \
    "re-seed a collapsed component (at a random point, with the data's covariance) instead of stopping",          \
    any_value())                                                                                                  \
  X(double, min_component_points, 2.0, "a component with fewer points (sum of responsibilities) has collapsed",   \
    at_least(0))                                                                                                  \
  X(int64_t, chunk_rows, 2048,                                                                                    \
    "points per chunk of the E-step: bounds memory; small enough that a chunk's features stay in cache",          \
    at_least(1))                                                                                                  \
  X(int64_t, workers, 0,                                                                                          \
    "CPU threads sharing the E-step's chunks, each with single-threaded products (0 = auto: the BLAS's threads)", \
    at_least(0))                                                                                                  \
  X(int64_t, kmeans_iter, 30, "Lloyd iterations of the kmeans initialisation (at most)", at_least(0))
// clang-format on

/// What EM fits and how (scikit-learn's GaussianMixture options, and dgm's own).
/// Results do not depend on `workers` beyond the order of the final sums
/// (about 1e-16 relative); the GPU always uses one.
struct EmOptions {
  DGM_EM_OPTIONS(DGM_OPTION_MEMBER)
};
DGM_OPTION_TABLE(EmOptions, DGM_EM_OPTIONS)

struct EmResult {
  explicit EmResult(GaussianMixture fitted) : mixture(std::move(fitted)) {}
  GaussianMixture mixture;
  bool converged = false;
  /// EM iterations of the kept run.
  int64_t n_iter = 0;
  /// The final mean log-likelihood per point (nats).
  double lower_bound = 0.0;
  /// The mean log-likelihood before each iteration's M-step.
  std::vector<double> history;
  /// Components re-seeded after collapsing.
  int64_t reseeded = 0;
  double seconds = 0.0;
  double seconds_per_iter = 0.0;
};

/// Fits a mixture to x [N, D] (float32 or float64, on any device). With
/// `warm_start`, EM starts from that mixture instead of an initialisation.
/// With `mask` [N, D] (1 observed, 0 missing; the missing entries of x are
/// ignored), EM for incomplete data (Ghahramani & Jordan 1994): each missing
/// entry is replaced in the statistics by its conditional expectation given
/// the observed ones under each component, plus the conditional covariance,
/// so the fit maximizes the exact likelihood of the observed entries.
/// K > N, D = 0, non-finite values, or a collapse (without reseeding) is a
/// dgm::Error that says what to change.
/// Over a process group (core/collectives.h), x (and mask) are this
/// process's shard of the rows, each process holding at least one: every
/// sufficient statistic, the data's mean and covariance and the k-means
/// initialisation's sums are summed over the group, and every random choice
/// is drawn by every process alike from rows numbered among all of them, so
/// N processes fit the mixture one process fits to all the rows (to the
/// rounding of the sums) and every process returns it.
EmResult fit_gaussian_mixture(const torch::Tensor& x, const EmOptions& options,
                              const GaussianMixture* warm_start = nullptr, const torch::Tensor& mask = {},
                              Collectives& group = single_process());

}  // namespace dgm
