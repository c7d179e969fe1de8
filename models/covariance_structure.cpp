#include "models/covariance_structure.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace dgm {
namespace {

constexpr double kLog2Pi = 1.83787706640934548356;

/// The upper-triangular P with P P^T = C^{-1}, from the lower Cholesky factor L
/// of C: P = L^{-T}.
torch::Tensor precision_from_cholesky(const torch::Tensor& lower) {
  auto identity = torch::eye(lower.size(-1), lower.options()).expand(lower.sizes());
  return torch::linalg_solve_triangular(lower, identity, /*upper=*/false).transpose(-2, -1);
}

/// Row and column of each upper-triangle entry, i <= j, row by row.
std::pair<torch::Tensor, torch::Tensor> upper_indices(int64_t d, const torch::Device& device) {
  auto indices = torch::triu_indices(d, d, 0, torch::TensorOptions().dtype(torch::kLong).device(device));
  return {indices[0], indices[1]};
}

[[noreturn]] void not_positive_definite(int64_t component) {
  fail(
      "the covariance of component {} is not positive definite: raise reg_covar, use fewer components, or scale "
      "the data",
      component);
}

/// log N = -1/2 (D log 2 pi + quadratic) + log det P; the expansions behind
/// `quadratic` can round below zero for points on a mean.
torch::Tensor gaussian_from_quadratic(const torch::Tensor& quadratic, const torch::Tensor& log_det, int64_t d) {
  return -0.5 * (static_cast<double>(d) * kLog2Pi + torch::clamp_min(quadratic, 0.0)) + log_det;
}

/// Full and tied: D x D covariances through their Cholesky factors.
class DenseCovariance : public CovarianceStructure {
 public:
  torch::Tensor precision_cholesky(const torch::Tensor& covariances) const override {
    auto [lower, info] = torch::linalg_cholesky_ex(covariances);
    if (info.gt(0).any().item<bool>())
      not_positive_definite(info.dim() == 0 ? 0 : info.gt(0).nonzero()[0][0].item<int64_t>());
    return precision_from_cholesky(lower);
  }
  torch::Tensor full_covariances(const torch::Tensor& p, int64_t k, int64_t d) const override {
    // Sigma = (P P^T)^{-1} = P^{-T} P^{-1}.
    auto identity = torch::eye(d, p.options()).expand(p.sizes());
    auto inverse = torch::linalg_solve_triangular(p, identity, /*upper=*/true);
    auto covariance = inverse.transpose(-2, -1).matmul(inverse);
    return covariance.dim() == 2 ? covariance.expand({k, d, d}) : covariance;
  }
  /// The marginal of the observed coordinates, N(mu_o, Sigma_oo), written as
  /// a D x D Gaussian whose missing coordinates are standard normals at 0:
  /// Sigma' = m m^T * Sigma + diag(1 - m), diff = m * (x - mu).
  torch::Tensor masked_log_density(const torch::Tensor& x, const torch::Tensor& mask, const torch::Tensor& means,
                                   const torch::Tensor& p) const override {
    auto observed = mask.to(x.dtype());
    auto n_observed = observed.sum(-1, true);                          // [n, 1]
    auto covariances = full_covariances(p, means.size(0), x.size(1));  // [K, D, D]
    auto outer = observed.unsqueeze(-1) * observed.unsqueeze(-2);      // [n, D, D]
    auto sigma =
        outer.unsqueeze(1) * covariances.unsqueeze(0) + torch::diag_embed(1 - observed).unsqueeze(1);  // [n, K, D, D]
    auto diff = observed.unsqueeze(1) * (x.unsqueeze(1) - means.unsqueeze(0));                         // [n, K, D]
    auto lower = torch::linalg_cholesky(sigma);
    auto solved = torch::linalg_solve_triangular(lower, diff.unsqueeze(-1), /*upper=*/false).squeeze(-1);
    auto half_log_det = lower.diagonal(0, -2, -1).log().sum(-1);
    return -0.5 * (n_observed * kLog2Pi + solved.pow(2).sum(-1)) - half_log_det;
  }
  int64_t masked_rows(int64_t k, int64_t d) const override {
    return std::max<int64_t>(1, (int64_t{1} << 22) / (k * d * d));
  }
};

class FullCovariance final : public DenseCovariance {
 public:
  CovarianceType type() const override { return CovarianceType::kFull; }
  std::vector<int64_t> shape(int64_t k, int64_t d) const override { return {k, d, d}; }
  int64_t free_parameters(int64_t k, int64_t d) const override { return k * d * (d + 1) / 2; }
  torch::Tensor covariances(const torch::Tensor& p) const override {
    return full_covariances(p, p.size(0), p.size(-1));
  }
  torch::Tensor log_density(const torch::Tensor& x, const torch::Tensor& means, const torch::Tensor& p) const override {
    return quadratic_features(x).matmul(gaussian_natural_parameters(means, p));
  }
};

class TiedCovariance final : public DenseCovariance {
 public:
  CovarianceType type() const override { return CovarianceType::kTied; }
  std::vector<int64_t> shape(int64_t, int64_t d) const override { return {d, d}; }
  int64_t free_parameters(int64_t, int64_t d) const override { return d * (d + 1) / 2; }
  torch::Tensor covariances(const torch::Tensor& p) const override { return full_covariances(p, 1, p.size(-1))[0]; }
  torch::Tensor log_density(const torch::Tensor& x, const torch::Tensor& means, const torch::Tensor& p) const override {
    // |xP - mu_k P|^2 expanded into products: no [n, K, D] tensor.
    auto xp = x.matmul(p), mp = means.matmul(p);
    auto quadratic = xp.pow(2).sum(-1, true) - 2 * xp.matmul(mp.t()) + mp.pow(2).sum(-1);
    return gaussian_from_quadratic(quadratic, p.diagonal().log().sum().expand({means.size(0)}), x.size(1));
  }
};

/// Diag and spherical: variances, whose factors are 1 / sqrt(variance).
class DiagonalCovariance : public CovarianceStructure {
 public:
  torch::Tensor precision_cholesky(const torch::Tensor& covariances) const override {
    auto bad = covariances.le(0) | ~torch::isfinite(covariances);
    if (bad.any().item<bool>()) not_positive_definite(bad.nonzero()[0][0].item<int64_t>());
    return torch::rsqrt(covariances);
  }
  torch::Tensor covariances(const torch::Tensor& p) const override { return p.pow(-2); }
  torch::Tensor masked_log_density(const torch::Tensor& x, const torch::Tensor& mask, const torch::Tensor& means,
                                   const torch::Tensor& p) const override {
    auto observed = mask.to(x.dtype());
    auto n_observed = observed.sum(-1, true);  // [n, 1]
    auto factors = per_dimension(p, means.size(0), x.size(1));
    auto precision = factors.pow(2);
    auto xm = x * observed;
    auto quadratic = (xm * x).matmul(precision.t()) - 2 * xm.matmul((means * precision).t()) +
                     observed.matmul((means.pow(2) * precision).t());
    return -0.5 * (n_observed * kLog2Pi + torch::clamp_min(quadratic, 0.0)) + observed.matmul(factors.log().t());
  }

 protected:
  /// The factors as [K, D].
  virtual torch::Tensor per_dimension(const torch::Tensor& p, int64_t k, int64_t d) const = 0;
};

class DiagCovariance final : public DiagonalCovariance {
 public:
  CovarianceType type() const override { return CovarianceType::kDiag; }
  std::vector<int64_t> shape(int64_t k, int64_t d) const override { return {k, d}; }
  int64_t free_parameters(int64_t k, int64_t d) const override { return k * d; }
  torch::Tensor full_covariances(const torch::Tensor& p, int64_t, int64_t) const override {
    return torch::diag_embed(p.pow(-2));
  }
  torch::Tensor log_density(const torch::Tensor& x, const torch::Tensor& means, const torch::Tensor& p) const override {
    auto precision = p.pow(2);  // [K, D]
    auto quadratic =
        x.pow(2).matmul(precision.t()) - 2 * x.matmul((means * precision).t()) + (means.pow(2) * precision).sum(-1);
    return gaussian_from_quadratic(quadratic, p.log().sum(-1), x.size(1));
  }

 protected:
  torch::Tensor per_dimension(const torch::Tensor& p, int64_t, int64_t) const override { return p; }
};

class SphericalCovariance final : public DiagonalCovariance {
 public:
  CovarianceType type() const override { return CovarianceType::kSpherical; }
  std::vector<int64_t> shape(int64_t k, int64_t) const override { return {k}; }
  int64_t free_parameters(int64_t k, int64_t) const override { return k; }
  torch::Tensor full_covariances(const torch::Tensor& p, int64_t k, int64_t d) const override {
    return p.pow(-2).view({k, 1, 1}) * torch::eye(d, p.options());
  }
  torch::Tensor log_density(const torch::Tensor& x, const torch::Tensor& means, const torch::Tensor& p) const override {
    auto precision = p.pow(2);  // [K]
    auto quadratic = (x.pow(2).sum(-1, true) - 2 * x.matmul(means.t()) + means.pow(2).sum(-1)) * precision;
    return gaussian_from_quadratic(quadratic, static_cast<double>(x.size(1)) * p.log(), x.size(1));
  }

 protected:
  torch::Tensor per_dimension(const torch::Tensor& p, int64_t k, int64_t d) const override {
    return p.unsqueeze(-1).expand({k, d});
  }
};

}  // namespace

const CovarianceStructure& covariance_structure(CovarianceType type) {
  static const FullCovariance full;
  static const TiedCovariance tied;
  static const DiagCovariance diag;
  static const SphericalCovariance spherical;
  return pick_by_type<CovarianceStructure>(type, full, tied, diag, spherical);
}

torch::Tensor quadratic_features(const torch::Tensor& x) {
  // Built as [T + D + 1, N] and returned transposed: then every block is a run
  // of contiguous rows, and F^T r (EM's sufficient statistics) is a product
  // BLAS runs faster than r^T F on row-major F; F w is as fast.
  // Row block i of the triangle is x_i times x_i..x_D: D broadcast products.
  const int64_t n = x.size(0), d = x.size(1), t = d * (d + 1) / 2;
  auto columns = x.t().contiguous();  // [D, N]
  auto features = torch::empty({t + d + 1, n}, x.options());
  int64_t offset = 0;
  for (int64_t i = 0; i < d; ++i) {
    auto block = features.narrow(0, offset, d - i);
    torch::mul_out(block, columns.narrow(0, i, 1), columns.narrow(0, i, d - i));
    offset += d - i;
  }
  features.narrow(0, t, d).copy_(columns);
  features.narrow(0, t + d, 1).fill_(1.0);
  return features.t();
}

torch::Tensor symmetric_weights(const torch::Tensor& matrices) {
  const int64_t d = matrices.size(-1);
  auto [rows, columns] = upper_indices(d, matrices.device());
  auto flat = matrices.flatten(-2, -1).index_select(-1, rows * d + columns);
  return flat * (2.0 - rows.eq(columns).to(matrices.dtype()));
}

torch::Tensor symmetric_from_features(const torch::Tensor& feature_sums, int64_t d) {
  auto [rows, columns] = upper_indices(d, feature_sums.device());
  const int64_t k = feature_sums.size(1);
  auto out = torch::zeros({k, d * d}, feature_sums.options());
  auto values = feature_sums.t();  // [K, T]
  out.index_copy_(1, rows * d + columns, values);
  out.index_copy_(1, columns * d + rows, values);
  return out.view({k, d, d});
}

torch::Tensor gaussian_natural_parameters(const torch::Tensor& means, const torch::Tensor& p) {
  // log N(x | k) = -1/2 x^T L x + x^T L mu - 1/2 mu^T L mu + log det P - D/2 log 2 pi,
  // with L = P P^T: coefficients of the products, of x, and of 1.
  const int64_t d = means.size(1);
  auto precision = p.matmul(p.transpose(-2, -1));                            // [K, D, D]
  auto precision_means = precision.matmul(means.unsqueeze(-1)).squeeze(-1);  // [K, D]
  auto constant = -0.5 * (means * precision_means).sum(-1) + p.diagonal(0, -2, -1).log().sum(-1) -
                  0.5 * static_cast<double>(d) * kLog2Pi;
  return torch::cat({-0.5 * symmetric_weights(precision), precision_means, constant.unsqueeze(-1)}, 1).t();
}

}  // namespace dgm
