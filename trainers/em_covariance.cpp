#include "trainers/em_covariance.h"

#include <torch/torch.h>

namespace dgm {
namespace {

/// Full covariances: every statistic from one product of the chunk's
/// quadratic features F (column-major, so F^T is a plain row-major matrix for
/// BLAS) with the responsibilities: sum r x_i x_j, sum r x, sum r = F^T r.
class FullChunkStatistics final : public ChunkStatistics {
 public:
  explicit FullChunkStatistics(const GaussianMixture* mixture) {
    if (mixture != nullptr) coefficients_ = mixture->natural_parameters(/*with_log_weights=*/true);
  }
  torch::Tensor weighted_log_prob(const torch::Tensor& chunk) override {
    features_ = quadratic_features(chunk);  // serve the E- and the M-step, still in cache
    features_of_ = chunk;
    return features_.matmul(coefficients_);
  }
  void add(const torch::Tensor& chunk, const torch::Tensor& resp) override {
    dim_ = chunk.size(1);
    if (features_.defined() && features_of_.is_same(chunk)) {
      // Summed straight into one [T + D + 1, K] total.
      if (!product_.defined())
        product_ = torch::zeros({features_.size(1), resp.size(1)}, resp.options().dtype(torch::kFloat64));
      if (chunk.scalar_type() == torch::kFloat64) {
        product_.addmm_(features_.t(), resp);
      } else {
        product_ += features_.t().matmul(resp).to(torch::kFloat64);
      }
      return;
    }
    auto part = quadratic_features(chunk).t().matmul(resp).to(torch::kFloat64);  // [T + D + 1, K]
    if (product_.defined()) {
      product_ += part;
    } else {
      product_ = part;
    }
  }
  EmStatistics totals() const override {
    EmStatistics stats;
    if (!product_.defined()) return stats;
    const int64_t t = dim_ * (dim_ + 1) / 2;
    stats.squares = product_.narrow(0, 0, t);
    stats.sums = product_.narrow(0, t, dim_).t();
    stats.counts = product_.select(0, t + dim_);
    return stats;
  }

 private:
  torch::Tensor coefficients_, features_, features_of_, product_;
  int64_t dim_ = 0;
};

/// Tied, diag and spherical: counts and sums by products of the
/// responsibilities, and the type's own second moments.
class MomentChunkStatistics final : public ChunkStatistics {
 public:
  using Squares = torch::Tensor (*)(const torch::Tensor& x, const torch::Tensor& resp);
  MomentChunkStatistics(const GaussianMixture* mixture, Squares squares) : mixture_(mixture), squares_(squares) {}
  torch::Tensor weighted_log_prob(const torch::Tensor& chunk) override { return mixture_->weighted_log_prob(chunk); }
  void add(const torch::Tensor& chunk, const torch::Tensor& resp) override {
    stats_.add({resp.sum(0), resp.t().matmul(chunk), squares_(chunk, resp)});
  }
  EmStatistics totals() const override { return stats_; }

 private:
  const GaussianMixture* mixture_;
  Squares squares_;
  EmStatistics stats_;
};

torch::Tensor weighted_squares(const torch::Tensor& x, const torch::Tensor& resp) { return resp.t().matmul(x.pow(2)); }
torch::Tensor scatter(const torch::Tensor& x, const torch::Tensor&) { return x.t().matmul(x); }

torch::Tensor cholesky_fails(const torch::Tensor& covariances) {
  return std::get<1>(torch::linalg_cholesky_ex(covariances)).gt(0);
}

class FullEm final : public EmCovariance {
 public:
  std::unique_ptr<ChunkStatistics> chunk_statistics(const GaussianMixture* mixture) const override {
    return std::make_unique<FullChunkStatistics>(mixture);
  }
  torch::Tensor squares_from_moments(const torch::Tensor& moments) const override {
    const int64_t d = moments.size(-1);
    auto upper = torch::triu_indices(d, d, 0, torch::TensorOptions().dtype(torch::kLong).device(moments.device()));
    return moments.flatten(1).index_select(1, upper[0] * d + upper[1]).t();  // [T, K]
  }
  torch::Tensor covariances(const EmStatistics& stats, const torch::Tensor& counts, const torch::Tensor& means, double,
                            const torch::TensorOptions& data_options, double reg_covar) const override {
    const int64_t k = means.size(0), d = means.size(1);
    return symmetric_from_features(stats.squares, d) / counts.view({k, 1, 1}) -
           means.unsqueeze(2) * means.unsqueeze(1) + reg_covar * torch::eye(d, data_options);
  }
  torch::Tensor not_positive_definite(const torch::Tensor& covariances, int64_t) const override {
    return cholesky_fails(covariances);
  }
  void reseed(torch::Tensor& covariances, int64_t c, const torch::Tensor& data_covariance) const override {
    covariances[c] = data_covariance;
  }
};

class TiedEm final : public EmCovariance {
 public:
  std::unique_ptr<ChunkStatistics> chunk_statistics(const GaussianMixture* mixture) const override {
    return std::make_unique<MomentChunkStatistics>(mixture, scatter);
  }
  torch::Tensor squares_from_moments(const torch::Tensor& moments) const override { return moments.sum(0); }
  torch::Tensor covariances(const EmStatistics& stats, const torch::Tensor& counts, const torch::Tensor& means,
                            double n, const torch::TensorOptions& data_options, double reg_covar) const override {
    const int64_t k = means.size(0), d = means.size(1);
    return (stats.squares - (counts.view({k, 1, 1}) * means.unsqueeze(2) * means.unsqueeze(1)).sum(0)) / n +
           reg_covar * torch::eye(d, data_options);
  }
  torch::Tensor not_positive_definite(const torch::Tensor& covariances, int64_t k) const override {
    return cholesky_fails(covariances).expand({k});
  }
  void reseed(torch::Tensor& covariances, int64_t, const torch::Tensor& data_covariance) const override {
    covariances = data_covariance;
  }
};

/// Diag and spherical: second moments sum r x^2, one per dimension.
class DiagonalEm : public EmCovariance {
 public:
  std::unique_ptr<ChunkStatistics> chunk_statistics(const GaussianMixture* mixture) const override {
    return std::make_unique<MomentChunkStatistics>(mixture, weighted_squares);
  }
  torch::Tensor squares_from_moments(const torch::Tensor& moments) const override {
    return moments.diagonal(0, -2, -1);
  }
};

class DiagEm final : public DiagonalEm {
 public:
  torch::Tensor covariances(const EmStatistics& stats, const torch::Tensor& counts, const torch::Tensor& means, double,
                            const torch::TensorOptions&, double reg_covar) const override {
    return stats.squares / counts.unsqueeze(1) - means.pow(2) + reg_covar;
  }
  torch::Tensor not_positive_definite(const torch::Tensor& covariances, int64_t) const override {
    return (covariances <= 0).any(-1);
  }
  void reseed(torch::Tensor& covariances, int64_t c, const torch::Tensor& data_covariance) const override {
    covariances[c] = data_covariance.diagonal();
  }
};

class SphericalEm final : public DiagonalEm {
 public:
  torch::Tensor covariances(const EmStatistics& stats, const torch::Tensor& counts, const torch::Tensor& means, double,
                            const torch::TensorOptions&, double reg_covar) const override {
    return (stats.squares / counts.unsqueeze(1) - means.pow(2)).mean(-1) + reg_covar;
  }
  torch::Tensor not_positive_definite(const torch::Tensor& covariances, int64_t) const override {
    return (covariances.unsqueeze(1) <= 0).any(-1);
  }
  void reseed(torch::Tensor& covariances, int64_t c, const torch::Tensor& data_covariance) const override {
    covariances[c] = data_covariance.diagonal().mean();
  }
};

}  // namespace

void EmStatistics::add(const EmStatistics& other) {
  if (!other.counts.defined()) return;
  if (!counts.defined()) {
    counts = other.counts;
    sums = other.sums;
    squares = other.squares;
    return;
  }
  counts += other.counts;
  sums += other.sums;
  squares += other.squares;
}

const EmCovariance& em_covariance(CovarianceType type) {
  static const FullEm full;
  static const TiedEm tied;
  static const DiagEm diag;
  static const SphericalEm spherical;
  return pick_by_type<EmCovariance>(type, full, tied, diag, spherical);
}

}  // namespace dgm
