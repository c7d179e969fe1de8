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

#include "models/gaussian_mixture.h"

namespace dgm {

struct EmOptions {
  /// K. Default: 1.
  int64_t components = 1;
  /// Default: full.
  CovarianceType covariance = CovarianceType::kFull;
  /// kmeans (k-means++ seeding then Lloyd steps), k-means++, random or
  /// random_from_data. Default: kmeans.
  std::string init = "kmeans";
  /// Restarts from different initialisations; the best lower bound is kept. Default: 1.
  int64_t n_init = 1;
  /// Default: 100.
  int64_t max_iter = 100;
  /// Stop when the mean log-likelihood changes by less than this. Default: 1e-3.
  double tol = 1e-3;
  /// Added to the covariances' diagonal. Default: 1e-6.
  double reg_covar = 1e-6;
  uint64_t seed = 0;
  /// Re-seed a collapsed component (at a random point, with the data's
  /// covariance) instead of stopping with an error. Default: false.
  bool reseed_collapsed = false;
  /// A component with fewer points than this (sum of responsibilities) has
  /// collapsed. Default: 2.
  double min_component_points = 2.0;
  /// Rows per chunk of the E-step: bounds memory, and small enough that a
  /// chunk's features stay in cache between the E- and the M-step product
  /// (2048 ran 1.5 times faster than 16384 for D = 16). Default: 2048.
  int64_t chunk_rows = 2048;
  /// CPU threads that share the E-step's chunks, each running its matrix
  /// products single-threaded (0 = auto: OpenBLAS's thread count, or 1 on
  /// another BLAS; the GPU always uses 1). Results do not depend on it beyond
  /// the order of the final sums (about 1e-16 relative). Default: 0.
  int64_t workers = 0;
  /// Lloyd iterations of the kmeans initialisation (at most). Default: 30.
  int64_t kmeans_iter = 30;
};

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
EmResult fit_gaussian_mixture(const torch::Tensor& x, const EmOptions& options,
                              const GaussianMixture* warm_start = nullptr, const torch::Tensor& mask = {});

/// Cluster centres by k-means++ seeding (Arthur & Vassilvitskii 2007, with
/// scikit-learn's greedy local trials) and up to `iterations` Lloyd steps: [K, D].
/// `workers` CPU threads share the distance computations (see EmOptions::workers).
torch::Tensor kmeans_centres(const torch::Tensor& x, int64_t k, int64_t iterations, int64_t chunk_rows,
                             int workers = 1);

}  // namespace dgm
