#include "models/gaussian_mixture.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"

namespace dgm {

GaussianMixture::GaussianMixture(torch::Tensor weights, torch::Tensor means, torch::Tensor precision_cholesky,
                                 CovarianceType type)
    : weights_(std::move(weights)),
      means_(std::move(means)),
      precision_cholesky_(std::move(precision_cholesky)),
      type_(type) {
  if (means_.dim() != 2 || weights_.dim() != 1 || weights_.size(0) != means_.size(0))
    fail("a Gaussian mixture needs weights [K] and means [K, D], got {} and {}", c10::str(weights_.sizes()),
         c10::str(means_.sizes()));
  const std::vector<int64_t> expected = structure().shape(means_.size(0), means_.size(1));
  if (precision_cholesky_.sizes().vec() != expected)
    fail("a Gaussian mixture with {} covariances needs precision Cholesky factors of shape {}, got {}",
         to_string(type_), c10::str(torch::IntArrayRef(expected)), c10::str(precision_cholesky_.sizes()));
}

GaussianMixture GaussianMixture::from_covariances(torch::Tensor weights, torch::Tensor means,
                                                  const torch::Tensor& covariances, CovarianceType type) {
  return GaussianMixture(std::move(weights), std::move(means),
                         covariance_structure(type).precision_cholesky(covariances), type);
}

GaussianMixture GaussianMixture::to(torch::Device device, torch::Dtype dtype) const {
  return GaussianMixture(weights_.to(device, dtype), means_.to(device, dtype), precision_cholesky_.to(device, dtype),
                         type_);
}

torch::Tensor GaussianMixture::natural_parameters(bool with_log_weights) const {
  TORCH_CHECK(type_ == CovarianceType::kFull, "natural_parameters is for full covariances");
  auto coefficients = gaussian_natural_parameters(means_, precision_cholesky_);  // [T + D + 1, K]
  if (with_log_weights) coefficients.select(0, coefficients.size(0) - 1).add_(torch::log(weights_));
  return coefficients;
}

torch::Tensor GaussianMixture::weighted_log_prob(const torch::Tensor& x, const torch::Tensor& mask) const {
  return component_log_prob(x, mask) + torch::log(weights_);
}

torch::Tensor GaussianMixture::component_log_prob(const torch::Tensor& x, const torch::Tensor& mask) const {
  if (x.dim() != 2 || x.size(1) != data_dim())
    fail("the mixture has {} dimensions, but the data has shape {}", data_dim(), c10::str(x.sizes()));
  const CovarianceStructure& policy = structure();
  const int64_t rows = mask.defined() ? policy.masked_rows(components(), data_dim()) : kMixtureScoreRows;
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < x.size(0); start += rows) {
    auto chunk = x.slice(0, start, std::min(x.size(0), start + rows));
    parts.push_back(mask.defined() ? policy.masked_log_density(chunk, mask.slice(0, start, start + chunk.size(0)),
                                                               means_, precision_cholesky_)
                                   : policy.log_density(chunk, means_, precision_cholesky_));
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
  return structure().full_covariances(precision_cholesky_, components(), data_dim());
}

torch::Tensor GaussianMixture::covariances() const { return structure().covariances(precision_cholesky_); }

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
  return structure().free_parameters(k, d) + k * d + k - 1;
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
