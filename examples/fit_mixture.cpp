// dgm as a library: fit a Gaussian mixture by EM and score data. Points come
// from a known 3-component mixture; EM (k-means start) recovers it, and
// held-out points score as well under the fit as under the truth.

#include <dgm/core/random.h>
#include <dgm/models/gaussian_mixture.h>
#include <dgm/trainers/gmm_em.h>

#include <cstdio>

int main() {
  try {
    const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
    const dgm::GaussianMixture truth = dgm::GaussianMixture::from_covariances(
        torch::tensor({0.5, 0.3, 0.2}, f64), torch::tensor({{0.0, 0.0}, {6.0, 5.0}, {-5.0, 6.0}}, f64),
        torch::tensor({{{0.5, 0.2}, {0.2, 0.3}}, {{1.0, -0.3}, {-0.3, 0.8}}, {{0.2, 0.0}, {0.0, 0.6}}}, f64),
        dgm::CovarianceType::kFull);
    dgm::seed_everything(1);
    const torch::Tensor train = truth.sample(20000).first;
    const torch::Tensor held_out = truth.sample(5000).first;

    dgm::EmOptions options;  // scikit-learn's defaults: k-means start, tol 1e-3
    options.components = 3;
    options.covariance = dgm::CovarianceType::kFull;
    const dgm::EmResult fit = dgm::fit_gaussian_mixture(train, options);
    std::printf("EM: %lld iterations (%s), %.4f s per iteration\n", static_cast<long long>(fit.n_iter),
                fit.converged ? "converged" : "not converged", fit.seconds_per_iter);

    const double fitted = fit.mixture.log_prob(held_out).mean().item<double>();
    const double exact = truth.log_prob(held_out).mean().item<double>();
    std::printf("held-out mean log-likelihood: fit %.4f, truth %.4f nats per point; BIC %.1f\n", fitted, exact,
                fit.mixture.bic(train));
    const torch::Tensor labels = fit.mixture.predict(held_out.slice(0, 0, 5));
    std::printf("components of the first 5 held-out points:");
    for (int64_t i = 0; i < labels.size(0); ++i)
      std::printf(" %lld", static_cast<long long>(labels[i].item<int64_t>()));
    std::printf("\n");
    return fitted > exact - 0.01 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
