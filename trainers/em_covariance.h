#pragma once
// EM's side of each covariance type (the model's side is
// models/covariance_structure.h), as a small policy chosen at run time: the
// sufficient statistics one pass gathers, the M-step's covariances from them,
// what counts as a collapse, and how a collapsed component is re-seeded.
// Full covariances gather all their statistics with one product of the
// chunk's quadratic features with the responsibilities, the features that
// just gave the E-step its log-densities.

#include <torch/types.h>

#include <memory>

#include "models/gaussian_mixture.h"

namespace dgm {

/// Sufficient statistics of one pass: N_k, sum_n r_nk x_n, and the second
/// moments the covariance type needs (full: the summed product features
/// [T, K]; tied: sum x x^T [D, D]; diag and spherical: sum r x^2 [K, D]),
/// with the mean log-likelihood of the pass.
struct EmStatistics {
  torch::Tensor counts;   ///< [K]
  torch::Tensor sums;     ///< [K, D]
  torch::Tensor squares;  ///< the type's second moments
  double log_likelihood = 0.0;
  /// Adds another part's counts, sums and second moments (an empty part is nothing).
  void add(const EmStatistics& other);
};

/// One worker's share of a pass, chunk by chunk.
class ChunkStatistics {
 public:
  virtual ~ChunkStatistics() = default;
  /// log pi_k + log N(x | k) of a chunk's rows under the mixture: [n, K].
  virtual torch::Tensor weighted_log_prob(const torch::Tensor& chunk) = 0;
  /// Adds the chunk's statistics under responsibilities resp [n, K] (the
  /// chunk last passed to weighted_log_prob, or any chunk).
  virtual void add(const torch::Tensor& chunk, const torch::Tensor& resp) = 0;
  /// What this worker gathered (empty when it got no chunk).
  virtual EmStatistics totals() const = 0;
};

class EmCovariance {
 public:
  virtual ~EmCovariance() = default;
  /// A worker's statistics under `mixture` (null: responsibilities are given,
  /// as at the start). Full covariances total in float64 for float32 data:
  /// the covariance is a small difference of these sums.
  virtual std::unique_ptr<ChunkStatistics> chunk_statistics(const GaussianMixture* mixture) const = 0;
  /// The second moments from sum_n r_nk E[x x^T] [K, D, D], as EM with
  /// missing values computes them.
  virtual torch::Tensor squares_from_moments(const torch::Tensor& moments) const = 0;
  /// The M-step's covariances (reg_covar on the diagonal) in the type's shape,
  /// from the statistics, the floored counts [K] and the new means [K, D]; n
  /// is the number of points (of every process), data_options the data's
  /// dtype and device (those of the identity).
  virtual torch::Tensor covariances(const EmStatistics& stats, const torch::Tensor& counts, const torch::Tensor& means,
                                    double n, const torch::TensorOptions& data_options, double reg_covar) const = 0;
  /// Which components' covariances are not positive definite: [K] bool.
  virtual torch::Tensor not_positive_definite(const torch::Tensor& covariances, int64_t k) const = 0;
  /// Gives component c the data's covariance [D, D] (in the type's shape), in place.
  virtual void reseed(torch::Tensor& covariances, int64_t c, const torch::Tensor& data_covariance) const = 0;
};

/// EM's policy for a covariance type.
const EmCovariance& em_covariance(CovarianceType type);

}  // namespace dgm
