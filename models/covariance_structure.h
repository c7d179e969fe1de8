#pragma once
// What each covariance type of a Gaussian mixture means, as a small policy
// chosen at run time (mlpack's covariance constraints, without a template per
// combination): the shape of its parameters, how many are free, its
// component log-densities with and without missing coordinates, and the
// conversions between covariances and the precision Cholesky factors the
// mixture stores. EM's side of each type lives in trainers/em_covariance.h.
//
//   full       one D x D covariance per component         factors [K, D, D]
//   tied       one D x D covariance shared by all          factors [D, D]
//   diag       one variance per dimension and component    factors [K, D]
//   spherical  one variance per component                  factors [K]

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "core/options.h"

namespace dgm {

enum class CovarianceType { kFull, kTied, kDiag, kSpherical };
DGM_ENUM_NAMES(CovarianceType, "covariance type", {CovarianceType::kFull, "full"}, {CovarianceType::kTied, "tied"},
               {CovarianceType::kDiag, "diag"}, {CovarianceType::kSpherical, "spherical"});

/// Rows scored at once by a mixture's densities: bounds the memory of
/// [rows, K] log-densities (and of their quadratic features).
inline constexpr int64_t kMixtureScoreRows = 16384;

class CovarianceStructure {
 public:
  virtual ~CovarianceStructure() = default;
  virtual CovarianceType type() const = 0;
  /// The shape of the precision Cholesky factors, and of covariances(), for
  /// K components of D dimensions.
  virtual std::vector<int64_t> shape(int64_t k, int64_t d) const = 0;
  /// Free covariance parameters (as scikit-learn counts them).
  virtual int64_t free_parameters(int64_t k, int64_t d) const = 0;
  /// The factors P (P P^T = Sigma^-1) of covariances in this type's shape; a
  /// covariance that is not positive definite is a dgm::Error naming the component.
  virtual torch::Tensor precision_cholesky(const torch::Tensor& covariances) const = 0;
  /// Covariances in this type's shape from the factors.
  virtual torch::Tensor covariances(const torch::Tensor& precision_cholesky) const = 0;
  /// Full covariance matrices [K, D, D].
  virtual torch::Tensor full_covariances(const torch::Tensor& precision_cholesky, int64_t k, int64_t d) const = 0;
  /// log N(x | mu_k, Sigma_k) for rows x [n, D]: [n, K], by matrix products
  /// (no [n, K, D] tensor).
  virtual torch::Tensor log_density(const torch::Tensor& x, const torch::Tensor& means,
                                    const torch::Tensor& precision_cholesky) const = 0;
  /// The same over the observed coordinates of a mask [n, D]: the Gaussian
  /// marginal of the observed coordinates, exactly.
  virtual torch::Tensor masked_log_density(const torch::Tensor& x, const torch::Tensor& mask,
                                           const torch::Tensor& means,
                                           const torch::Tensor& precision_cholesky) const = 0;
  /// Rows scored at once under a mask (the dense types build [n, K, D, D]).
  virtual int64_t masked_rows(int64_t /*k*/, int64_t /*d*/) const { return kMixtureScoreRows; }
};

/// The policy of a covariance type.
const CovarianceStructure& covariance_structure(CovarianceType type);

/// The one of four per-type values that `type` picks (each type's policy object).
template <typename T>
const T& pick_by_type(CovarianceType type, const T& full, const T& tied, const T& diag, const T& spherical) {
  switch (type) {
    case CovarianceType::kFull:
      return full;
    case CovarianceType::kTied:
      return tied;
    case CovarianceType::kDiag:
      return diag;
    case CovarianceType::kSpherical:
      return spherical;
  }
  return full;
}

/// The quadratic features of each row: the products x_i x_j (i <= j), then x,
/// then 1: [N, T + D + 1] with T = D (D + 1) / 2. A Gaussian log-density is
/// linear in them, so the log-densities of all K components are one matrix
/// product, and EM's statistics (sum r x x^T, sum r x, sum r) another.
torch::Tensor quadratic_features(const torch::Tensor& x);

/// A symmetric [..., D, D] as the coefficients of the product features:
/// A_ii, and 2 A_ij for i < j: [..., D (D + 1) / 2].
torch::Tensor symmetric_weights(const torch::Tensor& matrices);

/// Rebuilds symmetric [K, D, D] from the product part of summed quadratic
/// features [T, K].
torch::Tensor symmetric_from_features(const torch::Tensor& feature_sums, int64_t d);

/// Full covariances' log N(x | k) as coefficients of quadratic_features:
/// [T + D + 1, K], from means [K, D] and factors [K, D, D].
torch::Tensor gaussian_natural_parameters(const torch::Tensor& means, const torch::Tensor& precision_cholesky);

}  // namespace dgm
