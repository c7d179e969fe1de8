#include "models/ppca.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"

namespace dgm {

PpcaImpl::PpcaImpl(const PpcaOptions& options, const DataShape& shape) {
  check_options(options, "PpcaOptions");
  if (options.latent_dim >= shape.dim)
    fail("pPCA latent dimension {} must be between 1 and the data dimension minus one ({})", options.latent_dim,
         shape.dim - 1);
  weight_ = register_buffer("weight", torch::zeros({shape.dim, options.latent_dim}));
  mean_ = register_buffer("mean", torch::zeros({shape.dim}));
  noise_variance_ = register_buffer("noise_variance", torch::ones({}));
}

PpcaImpl::PpcaImpl(torch::Tensor weight, torch::Tensor mean, double noise_variance) {
  if (weight.dim() != 2 || mean.dim() != 1 || mean.size(0) != weight.size(0))
    fail("pPCA needs W [D, L] and mu [D], got {} and {}", c10::str(weight.sizes()), c10::str(mean.sizes()));
  if (!(noise_variance > 0) || !std::isfinite(noise_variance))
    fail("pPCA: the noise variance must be a positive number, got {}", noise_variance);
  noise_variance_ = register_buffer("noise_variance", torch::full({}, noise_variance, weight.options()));
  weight_ = register_buffer("weight", std::move(weight));
  mean_ = register_buffer("mean", std::move(mean));
}

void PpcaImpl::fit_closed_form(const torch::Tensor& x) {
  const int64_t n = x.size(0), d = x.size(1), latent = latent_dim();
  if (n < 2) fail("pPCA needs at least 2 examples to fit, got {}", n);
  if (d != data_dim()) fail("pPCA of {} dimensions cannot be fitted to examples of {}", data_dim(), d);
  torch::NoGradGuard no_grad;
  auto data = x.to(torch::kFloat64);
  auto mean = data.mean(0);
  auto centered = data - mean;
  auto covariance = centered.t().mm(centered) / static_cast<double>(n);
  auto [eigenvalues, eigenvectors] = torch::linalg_eigh(covariance);  // ascending
  auto top = eigenvalues.flip(0).slice(0, 0, latent);
  const double noise = eigenvalues.flip(0).slice(0, latent).mean().item<double>();
  if (!(noise > 0))
    fail("pPCA fit: the data has no variance outside {} principal directions; lower the latent dimension", latent);
  auto directions = eigenvectors.flip(1).slice(1, 0, latent);
  weight_.copy_(directions * torch::sqrt(torch::clamp_min(top - noise, 0.0)));
  mean_.copy_(mean);
  noise_variance_.fill_(noise);
}

Ppca fit_ppca(const torch::Tensor& x, int64_t latent_dim) {
  if (latent_dim < 1 || latent_dim >= x.size(1))
    fail("pPCA latent dimension {} must be between 1 and the data dimension minus one ({})", latent_dim, x.size(1) - 1);
  PpcaOptions options;
  options.latent_dim = latent_dim;
  Ppca model(options, DataShape{x.size(1), {}});
  model->to(x.device(), x.scalar_type());
  model->fit_closed_form(x);
  return model;
}

Ppca ppca_copy(const PpcaImpl& model, torch::Device device, torch::Dtype dtype) {
  return Ppca(model.weight().to(device, dtype), model.mean().to(device, dtype), model.noise_variance());
}

double PpcaImpl::noise_variance() const { return noise_variance_.item<double>(); }

std::string PpcaImpl::describe() const { return fmt::format("pPCA ({} -> {} latent)", data_dim(), latent_dim()); }

std::shared_ptr<Distribution> PpcaImpl::prior(int64_t batch) {
  return std::make_shared<DiagNormal>(DiagNormal::standard({batch}, latent_dim(), weight_.options()));
}

std::shared_ptr<Distribution> PpcaImpl::likelihood(const torch::Tensor& z) {
  auto loc = torch::matmul(z, weight_.t()) + mean_;
  return std::make_shared<DiagNormal>(loc, torch::sqrt(noise_variance_).expand_as(loc));
}

torch::Tensor PpcaImpl::log_likelihood(const torch::Tensor& x, const torch::Tensor& z, const torch::Tensor& mask) {
  auto loc = torch::matmul(z, weight_.t()) + mean_;
  auto elements = -0.5 * (x - loc).pow(2) / noise_variance_ - 0.5 * torch::log(2 * M_PI * noise_variance_);
  if (mask.defined()) elements = elements * mask;
  return elements.sum(-1);
}

std::pair<torch::Tensor, torch::Tensor> PpcaImpl::observed_terms(const torch::Tensor& x,
                                                                 const torch::Tensor& mask) const {
  auto observed = mask.defined() ? mask.to(x.dtype()) : torch::ones_like(x);
  auto identity = torch::eye(latent_dim(), weight_.options());
  // W^T diag(m_b) W for every example b.
  auto m = torch::einsum("dl,bd,dk->blk", {weight_, observed, weight_}) + noise_variance_ * identity;
  auto projected = torch::matmul(observed * (x - mean_), weight_);  // W_o^T (x_o - mu_o)
  return {m, projected};
}

std::shared_ptr<Distribution> PpcaImpl::proposal(const torch::Tensor& x, const torch::Tensor& mask) {
  // p(z | x_o) = N(M^{-1} W_o^T (x_o - mu_o), sigma^2 M^{-1}).
  auto [m, projected] = observed_terms(x, mask);
  auto m_cholesky = torch::linalg_cholesky(m);
  auto loc = torch::cholesky_solve(projected.unsqueeze(-1), m_cholesky).squeeze(-1);
  auto covariance = noise_variance_ * torch::cholesky_inverse(m_cholesky);
  return std::make_shared<MultivariateNormal>(loc, torch::linalg_cholesky(covariance));
}

std::optional<torch::Tensor> PpcaImpl::closed_form_log_marginal(const torch::Tensor& x, const torch::Tensor& mask) {
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
  auto log_det = (n_observed - static_cast<double>(latent_dim())) * torch::log(noise_variance_) + log_det_m;
  return -0.5 * (n_observed * std::log(2 * M_PI) + log_det + quadratic);
}

}  // namespace dgm
