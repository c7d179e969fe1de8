#include "models/ppca.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"

namespace dgm {

Ppca::Ppca(torch::Tensor weight, torch::Tensor mean, double noise_variance)
    : weight_(std::move(weight)), mean_(std::move(mean)), noise_variance_(noise_variance) {
  TORCH_CHECK(weight_.dim() == 2 && mean_.dim() == 1 && mean_.size(0) == weight_.size(0),
              "pPCA needs W [D, L] and mu [D], got ", weight_.sizes(), " and ", mean_.sizes());
  TORCH_CHECK(noise_variance_ > 0 && std::isfinite(noise_variance_), "Invalid pPCA noise variance: ", noise_variance_);
}

Ppca Ppca::fit(const torch::Tensor& x, int64_t latent_dim) {
  const int64_t n = x.size(0), d = x.size(1);
  if (n < 2) fail("pPCA needs at least 2 examples to fit, got {}", n);
  if (latent_dim < 1 || latent_dim >= d)
    fail("pPCA latent dimension {} must be between 1 and the data dimension minus one ({})", latent_dim, d - 1);
  auto data = x.to(torch::kFloat64);
  auto mean = data.mean(0);
  auto centered = data - mean;
  auto covariance = centered.t().mm(centered) / static_cast<double>(n);
  auto [eigenvalues, eigenvectors] = torch::linalg_eigh(covariance);  // ascending
  auto top = eigenvalues.flip(0).slice(0, 0, latent_dim);
  const double noise = eigenvalues.flip(0).slice(0, latent_dim).mean().item<double>();
  if (!(noise > 0))
    fail("pPCA fit: the data has no variance outside {} principal directions; lower the latent dimension", latent_dim);
  auto directions = eigenvectors.flip(1).slice(1, 0, latent_dim);
  auto weight = directions * torch::sqrt(torch::clamp_min(top - noise, 0.0));
  return Ppca(weight.to(x.dtype()), mean.to(x.dtype()), noise);
}

Ppca Ppca::to(torch::Device device, torch::Dtype dtype) const {
  return Ppca(weight_.to(device, dtype), mean_.to(device, dtype), noise_variance_);
}

std::shared_ptr<Distribution> Ppca::prior(int64_t batch) {
  return std::make_shared<DiagNormal>(DiagNormal::standard({batch}, latent_dim(), weight_.options()));
}

std::shared_ptr<Distribution> Ppca::likelihood(const torch::Tensor& z) {
  auto loc = torch::matmul(z, weight_.t()) + mean_;
  return std::make_shared<DiagNormal>(loc, torch::full_like(loc, std::sqrt(noise_variance_)));
}

torch::Tensor Ppca::log_likelihood(const torch::Tensor& x, const torch::Tensor& z, const torch::Tensor& mask) {
  auto loc = torch::matmul(z, weight_.t()) + mean_;
  auto elements = -0.5 * (x - loc).pow(2) / noise_variance_ - 0.5 * std::log(2 * M_PI * noise_variance_);
  if (mask.defined()) elements = elements * mask;
  return elements.sum(-1);
}

std::pair<torch::Tensor, torch::Tensor> Ppca::observed_terms(const torch::Tensor& x, const torch::Tensor& mask) const {
  auto observed = mask.defined() ? mask.to(x.dtype()) : torch::ones_like(x);
  auto identity = torch::eye(latent_dim(), weight_.options());
  // W^T diag(m_b) W for every example b.
  auto m = torch::einsum("dl,bd,dk->blk", {weight_, observed, weight_}) + noise_variance_ * identity;
  auto projected = torch::matmul(observed * (x - mean_), weight_);  // W_o^T (x_o - mu_o)
  return {m, projected};
}

std::shared_ptr<Distribution> Ppca::proposal(const torch::Tensor& x, const torch::Tensor& mask) {
  // p(z | x_o) = N(M^{-1} W_o^T (x_o - mu_o), sigma^2 M^{-1}).
  auto [m, projected] = observed_terms(x, mask);
  auto m_cholesky = torch::linalg_cholesky(m);
  auto loc = torch::cholesky_solve(projected.unsqueeze(-1), m_cholesky).squeeze(-1);
  auto covariance = noise_variance_ * torch::cholesky_inverse(m_cholesky);
  return std::make_shared<MultivariateNormal>(loc, torch::linalg_cholesky(covariance));
}

std::optional<torch::Tensor> Ppca::closed_form_log_marginal(const torch::Tensor& x, const torch::Tensor& mask) {
  auto [m, projected] = observed_terms(x, mask);
  auto observed = mask.defined() ? mask.to(x.dtype()) : torch::ones_like(x);
  auto n_observed = observed.sum(-1);
  auto residual = (observed * (x - mean_)).pow(2).sum(-1);
  auto m_cholesky = torch::linalg_cholesky(m);
  auto solved = torch::cholesky_solve(projected.unsqueeze(-1), m_cholesky).squeeze(-1);
  // d^T C^{-1} d = (|d|^2 - d^T W M^{-1} W^T d) / sigma^2
  auto quadratic = (residual - (projected * solved).sum(-1)) / noise_variance_;
  // log det C = (n_o - L) log sigma^2 + log det M
  auto log_det_m = 2.0 * m_cholesky.diagonal(0, -2, -1).log().sum(-1);
  auto log_det = (n_observed - static_cast<double>(latent_dim())) * std::log(noise_variance_) + log_det_m;
  return -0.5 * (n_observed * std::log(2 * M_PI) + log_det + quadratic);
}

}  // namespace dgm
