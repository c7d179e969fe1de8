#include "models/gaussian_mixture.h"

#include <torch/torch.h>

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

}  // namespace

torch::Tensor quadratic_features(const torch::Tensor& x) {
  // Built as [T + D + 1, N] and returned transposed: then every block is a run
  // of contiguous rows, and F^T r (EM's sufficient statistics) is a product
  // BLAS runs 1.25 times faster than r^T F on row-major F; F w is as fast.
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

torch::Tensor precision_cholesky_from_covariances(const torch::Tensor& covariances, CovarianceType type) {
  const auto not_positive = [](int64_t component) {
    fail(
        "the covariance of component {} is not positive definite: raise reg_covar, use fewer components, or "
        "scale the data",
        component);
  };
  if (type == CovarianceType::kFull || type == CovarianceType::kTied) {
    auto [lower, info] = torch::linalg_cholesky_ex(covariances);
    if (info.gt(0).any().item<bool>())
      not_positive(type == CovarianceType::kTied ? 0 : info.gt(0).nonzero()[0][0].item<int64_t>());
    return precision_from_cholesky(lower);
  }
  auto bad = covariances.le(0) | ~torch::isfinite(covariances);
  if (bad.any().item<bool>()) not_positive(bad.nonzero()[0][0].item<int64_t>());
  return torch::rsqrt(covariances);
}

GaussianMixture::GaussianMixture(torch::Tensor weights, torch::Tensor means, torch::Tensor precision_cholesky,
                                 CovarianceType type)
    : weights_(std::move(weights)),
      means_(std::move(means)),
      precision_cholesky_(std::move(precision_cholesky)),
      type_(type) {
  TORCH_CHECK(means_.dim() == 2 && weights_.dim() == 1 && weights_.size(0) == means_.size(0),
              "GaussianMixture needs weights [K] and means [K, D], got ", weights_.sizes(), " and ", means_.sizes());
  const int64_t k = means_.size(0), d = means_.size(1);
  std::vector<int64_t> expected;
  switch (type_) {
    case CovarianceType::kFull:
      expected = {k, d, d};
      break;
    case CovarianceType::kTied:
      expected = {d, d};
      break;
    case CovarianceType::kDiag:
      expected = {k, d};
      break;
    case CovarianceType::kSpherical:
      expected = {k};
      break;
  }
  TORCH_CHECK(precision_cholesky_.sizes().vec() == expected, "GaussianMixture (", to_string(type_),
              ") needs precision Cholesky factors of shape ", c10::str(torch::IntArrayRef(expected)), ", got ",
              precision_cholesky_.sizes());
}

GaussianMixture GaussianMixture::from_covariances(torch::Tensor weights, torch::Tensor means,
                                                  const torch::Tensor& covariances, CovarianceType type) {
  return GaussianMixture(std::move(weights), std::move(means), precision_cholesky_from_covariances(covariances, type),
                         type);
}

GaussianMixture GaussianMixture::to(torch::Device device, torch::Dtype dtype) const {
  return GaussianMixture(weights_.to(device, dtype), means_.to(device, dtype), precision_cholesky_.to(device, dtype),
                         type_);
}

torch::Tensor GaussianMixture::component_log_density(const torch::Tensor& x) const {
  const int64_t k = components(), d = data_dim();
  const auto& p = precision_cholesky_;
  torch::Tensor quadratic, log_det;
  switch (type_) {
    case CovarianceType::kFull:
      return quadratic_features(x).matmul(natural_parameters(false));
    case CovarianceType::kTied: {
      // |xP - mu_k P|^2 expanded into products: no [n, K, D] tensor.
      auto xp = x.matmul(p), mp = means_.matmul(p);
      quadratic = xp.pow(2).sum(-1, true) - 2 * xp.matmul(mp.t()) + mp.pow(2).sum(-1);
      log_det = p.diagonal().log().sum().expand({k});
      break;
    }
    case CovarianceType::kDiag: {
      auto precision = p.pow(2);  // [K, D]
      quadratic =
          x.pow(2).matmul(precision.t()) - 2 * x.matmul((means_ * precision).t()) + (means_.pow(2) * precision).sum(-1);
      log_det = p.log().sum(-1);
      break;
    }
    case CovarianceType::kSpherical: {
      auto precision = p.pow(2);  // [K]
      quadratic = (x.pow(2).sum(-1, true) - 2 * x.matmul(means_.t()) + means_.pow(2).sum(-1)) * precision;
      log_det = static_cast<double>(d) * p.log();
      break;
    }
  }
  // The expansions can round below zero for points on a mean.
  return -0.5 * (static_cast<double>(d) * kLog2Pi + torch::clamp_min(quadratic, 0.0)) + log_det;
}

torch::Tensor GaussianMixture::natural_parameters(bool with_log_weights) const {
  TORCH_CHECK(type_ == CovarianceType::kFull, "natural_parameters is for full covariances");
  // log N(x | k) = -1/2 x^T L x + x^T L mu - 1/2 mu^T L mu + log det P - D/2 log 2 pi,
  // with L = P P^T: coefficients of the products, of x, and of 1.
  const int64_t d = data_dim();
  auto precision = precision_cholesky_.matmul(precision_cholesky_.transpose(-2, -1));  // [K, D, D]
  auto precision_means = precision.matmul(means_.unsqueeze(-1)).squeeze(-1);           // [K, D]
  auto constant = -0.5 * (means_ * precision_means).sum(-1) + precision_cholesky_.diagonal(0, -2, -1).log().sum(-1) -
                  0.5 * static_cast<double>(d) * kLog2Pi;
  if (with_log_weights) constant = constant + torch::log(weights_);
  return torch::cat({-0.5 * symmetric_weights(precision), precision_means, constant.unsqueeze(-1)}, 1).t();
}

torch::Tensor GaussianMixture::masked_component_log_density(const torch::Tensor& x, const torch::Tensor& mask) const {
  const int64_t d = data_dim();
  auto observed = mask.to(x.dtype());
  auto n_observed = observed.sum(-1, true);  // [n, 1]
  if (type_ == CovarianceType::kDiag || type_ == CovarianceType::kSpherical) {
    auto precision = type_ == CovarianceType::kDiag
                         ? precision_cholesky_.pow(2)
                         : precision_cholesky_.pow(2).unsqueeze(-1).expand({components(), d});
    auto log_p = type_ == CovarianceType::kDiag ? precision_cholesky_.log()
                                                : precision_cholesky_.log().unsqueeze(-1).expand({components(), d});
    auto xm = x * observed;
    auto quadratic = (xm * x).matmul(precision.t()) - 2 * xm.matmul((means_ * precision).t()) +
                     observed.matmul((means_.pow(2) * precision).t());
    return -0.5 * (n_observed * kLog2Pi + torch::clamp_min(quadratic, 0.0)) + observed.matmul(log_p.t());
  }
  // Full and tied: the marginal of the observed coordinates, N(mu_o, Sigma_oo),
  // written as a D x D Gaussian whose missing coordinates are standard normals
  // at 0: Sigma' = m m^T * Sigma + diag(1 - m), diff = m * (x - mu).
  auto covariances = full_covariances();                         // [K, D, D]
  auto outer = observed.unsqueeze(-1) * observed.unsqueeze(-2);  // [n, D, D]
  auto sigma =
      outer.unsqueeze(1) * covariances.unsqueeze(0) + torch::diag_embed(1 - observed).unsqueeze(1);  // [n, K, D, D]
  auto diff = observed.unsqueeze(1) * (x.unsqueeze(1) - means_.unsqueeze(0));                        // [n, K, D]
  auto lower = torch::linalg_cholesky(sigma);
  auto solved = torch::linalg_solve_triangular(lower, diff.unsqueeze(-1), /*upper=*/false).squeeze(-1);
  auto half_log_det = lower.diagonal(0, -2, -1).log().sum(-1);
  return -0.5 * (n_observed * kLog2Pi + solved.pow(2).sum(-1)) - half_log_det;
}

torch::Tensor GaussianMixture::weighted_log_prob(const torch::Tensor& x, const torch::Tensor& mask) const {
  return component_log_prob(x, mask) + torch::log(weights_);
}

torch::Tensor GaussianMixture::component_log_prob(const torch::Tensor& x, const torch::Tensor& mask) const {
  if (x.dim() != 2 || x.size(1) != data_dim())
    fail("the mixture has {} dimensions, but the data has shape {}", data_dim(), c10::str(x.sizes()));
  int64_t rows = kMixtureScoreRows;
  const bool dense_masked = mask.defined() && (type_ == CovarianceType::kFull || type_ == CovarianceType::kTied);
  if (dense_masked) rows = std::max<int64_t>(1, (int64_t{1} << 22) / (components() * data_dim() * data_dim()));
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < x.size(0); start += rows) {
    auto chunk = x.slice(0, start, std::min(x.size(0), start + rows));
    parts.push_back(mask.defined() ? masked_component_log_density(chunk, mask.slice(0, start, start + chunk.size(0)))
                                   : component_log_density(chunk));
  }
  return parts.size() == 1 ? parts.front() : torch::cat(parts);
}

torch::Tensor GaussianMixture::log_prob(const torch::Tensor& x, const torch::Tensor& mask) const {
  return torch::logsumexp(weighted_log_prob(x, mask), -1);
}

torch::Tensor GaussianMixture::responsibilities(const torch::Tensor& x, const torch::Tensor& mask) const {
  return torch::softmax(weighted_log_prob(x, mask), -1);
}

torch::Tensor GaussianMixture::predict(const torch::Tensor& x) const { return weighted_log_prob(x).argmax(-1); }

torch::Tensor GaussianMixture::full_covariances() const {
  const int64_t k = components(), d = data_dim();
  switch (type_) {
    case CovarianceType::kFull:
    case CovarianceType::kTied: {
      // Sigma = (P P^T)^{-1} = P^{-T} P^{-1}.
      auto identity = torch::eye(d, means_.options()).expand(precision_cholesky_.sizes());
      auto inverse = torch::linalg_solve_triangular(precision_cholesky_, identity, /*upper=*/true);
      auto covariance = inverse.transpose(-2, -1).matmul(inverse);
      return type_ == CovarianceType::kTied ? covariance.expand({k, d, d}) : covariance;
    }
    case CovarianceType::kDiag:
      return torch::diag_embed(precision_cholesky_.pow(-2));
    case CovarianceType::kSpherical:
      return precision_cholesky_.pow(-2).view({k, 1, 1}) * torch::eye(d, means_.options());
  }
  return {};
}

torch::Tensor GaussianMixture::covariances() const {
  switch (type_) {
    case CovarianceType::kFull:
      return full_covariances();
    case CovarianceType::kTied:
      return full_covariances()[0];
    case CovarianceType::kDiag:
    case CovarianceType::kSpherical:
      return precision_cholesky_.pow(-2);
  }
  return {};
}

std::pair<torch::Tensor, torch::Tensor> GaussianMixture::sample(int64_t n) const {
  if (n < 1) fail("cannot draw {} samples: n must be at least 1", n);
  auto component = torch::multinomial(weights_, n, /*replacement=*/true);
  auto lower = torch::linalg_cholesky(full_covariances());
  auto eps = torch::randn({n, data_dim(), 1}, means_.options());
  auto x = means_.index_select(0, component) + lower.index_select(0, component).matmul(eps).squeeze(-1);
  return {x, component};
}

int64_t GaussianMixture::parameter_count() const {
  const int64_t k = components(), d = data_dim();
  int64_t covariance = 0;
  switch (type_) {
    case CovarianceType::kFull:
      covariance = k * d * (d + 1) / 2;
      break;
    case CovarianceType::kTied:
      covariance = d * (d + 1) / 2;
      break;
    case CovarianceType::kDiag:
      covariance = k * d;
      break;
    case CovarianceType::kSpherical:
      covariance = k;
      break;
  }
  return covariance + k * d + k - 1;
}

double GaussianMixture::bic(const torch::Tensor& x, const torch::Tensor& mask) const {
  const double n = static_cast<double>(x.size(0));
  return -2.0 * log_prob(x, mask).sum().item<double>() + static_cast<double>(parameter_count()) * std::log(n);
}

double GaussianMixture::aic(const torch::Tensor& x, const torch::Tensor& mask) const {
  return -2.0 * log_prob(x, mask).sum().item<double>() + 2.0 * static_cast<double>(parameter_count());
}

std::shared_ptr<Distribution> GaussianMixture::prior(int64_t batch) {
  return std::make_shared<Categorical>(torch::log(weights_).expand({batch, components()}));
}

std::shared_ptr<Distribution> GaussianMixture::proposal(const torch::Tensor& x, const torch::Tensor& mask) {
  return std::make_shared<Categorical>(weighted_log_prob(x, mask));
}

std::shared_ptr<Distribution> GaussianMixture::likelihood(const torch::Tensor& z) {
  auto lower = torch::linalg_cholesky(full_covariances());
  auto flat = z.reshape({-1});
  std::vector<int64_t> loc_shape(z.sizes().begin(), z.sizes().end()), tril_shape = loc_shape;
  loc_shape.push_back(data_dim());
  tril_shape.insert(tril_shape.end(), {data_dim(), data_dim()});
  return std::make_shared<MultivariateNormal>(means_.index_select(0, flat).view(loc_shape),
                                              lower.index_select(0, flat).view(tril_shape));
}

torch::Tensor GaussianMixture::log_likelihood(const torch::Tensor& x, const torch::Tensor& z,
                                              const torch::Tensor& mask) {
  // log N(x_b | z_sb) for z [S, B]: every component's density once, then gathered.
  auto densities = component_log_prob(x, mask);  // [B, K]
  return densities.unsqueeze(0).expand({z.size(0), x.size(0), components()}).gather(-1, z.unsqueeze(-1)).squeeze(-1);
}

std::optional<torch::Tensor> GaussianMixture::closed_form_log_marginal(const torch::Tensor& x,
                                                                       const torch::Tensor& mask) {
  return log_prob(x, mask);
}

}  // namespace dgm
