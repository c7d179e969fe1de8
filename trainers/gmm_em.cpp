#include "trainers/gmm_em.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <optional>

#include "core/blas_threads.h"
#include "core/error.h"
#include "core/memory_budget.h"
#include "core/random.h"
#include "trainers/em_covariance.h"
#include "trainers/kmeans.h"

namespace dgm {
namespace {

using Clock = std::chrono::steady_clock;

/// One-hot responsibilities [N, K] from labels [N].
torch::Tensor one_hot(const torch::Tensor& labels, int64_t k, const torch::TensorOptions& options) {
  return torch::zeros({labels.size(0), k}, options).scatter_(1, labels.unsqueeze(1), 1.0);
}

/// This process's rows among all processes' (all of them, alone).
struct Shard {
  Collectives& group;
  RowShard rows;
};

torch::Tensor initial_responsibilities(const torch::Tensor& x, const EmOptions& options, int workers,
                                       const Shard& shard) {
  const int64_t n = shard.rows.total, k = options.components;
  const int64_t begin = shard.rows.begin, end = shard.rows.begin + shard.rows.count;
  switch (options.init) {
    case EmInit::kKmeans:
    case EmInit::kKmeansPlusPlus: {
      auto centres = options.init == EmInit::kKmeans
                         ? kmeans_centres(x, k, options.kmeans_iter, options.chunk_rows, workers, shard.group)
                         : kmeans_plus_plus(x, k, shard.group);
      return one_hot(nearest_centres(x, centres, options.chunk_rows, workers), k, x.options());
    }
    case EmInit::kRandom: {
      // Every process draws all n rows' numbers and keeps its own.
      auto resp = torch::rand({n, k}, x.options()).slice(0, begin, end);
      return resp / resp.sum(-1, true);
    }
    case EmInit::kRandomFromData: {
      auto resp = torch::zeros({x.size(0), k}, x.options());
      auto points = torch::randperm(n, x.options().dtype(torch::kLong)).slice(0, 0, k);
      auto components = torch::arange(k, points.options());
      auto own = (points >= begin) & (points < end);
      resp.index_put_({points.index({own}) - begin, components.index({own})}, 1.0);
      return resp;
    }
  }
  return {};
}

/// The statistics of every process summed, on every process; the mean
/// log-likelihood is re-weighted by each process's rows.
EmStatistics summed(EmStatistics stats, const Shard& shard) {
  if (shard.group.size() == 1) return stats;
  shard.group.all_reduce_sum(stats.counts);
  shard.group.all_reduce_sum(stats.sums);
  shard.group.all_reduce_sum(stats.squares);
  stats.log_likelihood = all_reduce_sum(shard.group, stats.log_likelihood * static_cast<double>(shard.rows.count)) /
                         static_cast<double>(shard.rows.total);
  return stats;
}

/// The statistics of the given responsibilities (the first M-step's).
EmStatistics statistics_of(const torch::Tensor& x, const torch::Tensor& resp, CovarianceType type, int64_t chunk_rows) {
  auto statistics = em_covariance(type).chunk_statistics(nullptr);
  for (int64_t start = 0; start < x.size(0); start += chunk_rows)
    statistics->add(x.slice(0, start, start + chunk_rows), resp.slice(0, start, start + chunk_rows));
  return statistics->totals();
}

/// How many threads share the E-step's chunks: on the CPU, `requested`, or
/// (0) the BLAS's thread count (OpenBLAS's or MKL's); 1 on a GPU or another BLAS, whose products
/// spread over the device themselves.
int expectation_workers(const torch::Tensor& x, int64_t requested) {
  if (!x.is_cpu()) return 1;
  return static_cast<int>(requested > 0 ? requested : std::max(1, blas_threads()));
}

/// E-step over every chunk: the statistics under the current mixture and the
/// mean log-likelihood.
/// On the CPU with OpenBLAS or MKL, each core takes a contiguous share of the chunks
/// and runs their products single-threaded: OpenBLAS's hand-over and wait for
/// every small product cost more than the products' own parallelism gained
/// (README, "Against scikit-learn").
EmStatistics expectation(const torch::Tensor& x, const GaussianMixture& mixture, int64_t chunk_rows, int workers) {
  const int64_t n = x.size(0);
  const int64_t chunks = (n + chunk_rows - 1) / chunk_rows;
  std::vector<std::unique_ptr<ChunkStatistics>> parts;
  for (int worker = 0; worker < workers; ++worker)
    parts.push_back(em_covariance(mixture.type()).chunk_statistics(&mixture));
  auto log_norms = torch::empty({n, 1}, x.options());  // log p(x_n)
  run_split(chunks, workers, [&](int worker, int64_t begin, int64_t end) {
    torch::NoGradGuard no_grad;  // per thread
    ChunkStatistics& statistics = *parts[static_cast<std::size_t>(worker)];
    for (int64_t index = begin; index < end; ++index) {
      const int64_t first = index * chunk_rows;
      auto chunk = x.slice(0, first, first + chunk_rows);
      auto weighted = statistics.weighted_log_prob(chunk);
      // Responsibilities in place: exp(w - max) / sum, and log p(x) = max + log sum.
      auto row_max = weighted.amax(-1, true);  // amax: max(dim) also finds the indices, and is slower
      auto resp = weighted.sub_(row_max).exp_();
      auto row_sum = resp.sum(-1, true);
      resp.div_(row_sum);
      auto log_norm = log_norms.slice(0, first, first + chunk.size(0));
      torch::add_out(log_norm, row_max, row_sum.log_());
      statistics.add(chunk, resp);
    }
  });
  EmStatistics stats;
  for (const auto& part : parts) stats.add(part->totals());  // fewer chunks than workers leave some empty
  stats.log_likelihood = log_norms.sum().item<double>() / static_cast<double>(n);
  return stats;
}

/// The statistics of a chunk with missing entries, under every component:
/// x completed by its conditional mean, x x^T plus the conditional covariance.
void accumulate_incomplete(EmStatistics& stats, const torch::Tensor& x, const torch::Tensor& mask,
                           const torch::Tensor& resp, const GaussianMixture& mixture) {
  auto observed = mask.to(x.dtype());
  auto covariances = mixture.full_covariances();  // [K, D, D]
  auto means = mixture.means();                   // [K, D]
  // Sigma' = m m^T * Sigma + diag(1 - m): Sigma_oo, with the identity on missing rows.
  auto sigma = (observed.unsqueeze(-1) * observed.unsqueeze(-2)).unsqueeze(1) * covariances.unsqueeze(0) +
               torch::diag_embed(1 - observed).unsqueeze(1);                                 // [n, K, D, D]
  auto diff = observed.unsqueeze(1) * (x.unsqueeze(1) - means.unsqueeze(0));                 // [n, K, D]
  auto alpha = torch::linalg_solve(sigma, diff.unsqueeze(-1));                               // Sigma_oo^{-1} d
  auto completed = means.unsqueeze(0) + covariances.unsqueeze(0).matmul(alpha).squeeze(-1);  // [n, K, D]
  // Conditional covariance Sigma - Sigma_{., o} Sigma_oo^{-1} Sigma_{o, .}.
  auto sigma_observed = covariances.unsqueeze(0) * observed.unsqueeze(1).unsqueeze(-1);  // rows o of Sigma
  auto conditional =
      covariances.unsqueeze(0) - sigma_observed.transpose(-2, -1).matmul(torch::linalg_solve(sigma, sigma_observed));
  auto r = resp.unsqueeze(-1);  // [n, K, 1]
  auto counts = resp.sum(0);
  auto sums = (r * completed).sum(0);  // [K, D]
  auto second = (r.unsqueeze(-1) * (completed.unsqueeze(-1) * completed.unsqueeze(-2) + conditional)).sum(0);
  stats.add({counts, sums, em_covariance(mixture.type()).squares_from_moments(second)});
}

/// The E-step with missing entries, in chunks small enough for [n, K, D, D].
EmStatistics incomplete_expectation(const torch::Tensor& x, const torch::Tensor& mask, const GaussianMixture& mixture) {
  const int64_t k = mixture.components(), d = x.size(1);
  const int64_t rows = std::max<int64_t>(1, (int64_t{1} << 21) / (k * d * d));
  EmStatistics stats;
  double total = 0.0;
  for (int64_t start = 0; start < x.size(0); start += rows) {
    auto chunk = x.slice(0, start, start + rows);
    auto chunk_mask = mask.slice(0, start, start + rows);
    auto weighted = mixture.weighted_log_prob(chunk, chunk_mask);
    auto log_norm = torch::logsumexp(weighted, -1, true);
    accumulate_incomplete(stats, chunk, chunk_mask, torch::exp(weighted - log_norm), mixture);
    total += log_norm.sum().item<double>();
  }
  stats.log_likelihood = total / static_cast<double>(x.size(0));
  return stats;
}

[[noreturn]] void collapse_error(int64_t iteration, int64_t component, double points, const EmOptions& options,
                                 bool not_positive) {
  fail(
      "EM iteration {}: component {} collapsed ({:.2f} points{}); raise reg_covar (now {:g}), use fewer components "
      "(now {}), or scale the data; or let dgm re-seed it (--reseed-collapsed)",
      iteration, component, points, not_positive ? ", covariance not positive definite" : "", options.reg_covar,
      options.components);
}

/// The M-step: weights, means and covariances from the statistics. Collapsed
/// components are re-seeded or reported.
GaussianMixture maximization(const EmStatistics& stats, const torch::Tensor& x, const torch::Tensor& data_covariance,
                             const EmOptions& options, int64_t iteration, int64_t* reseeded, const Shard& shard) {
  const EmCovariance& policy = em_covariance(options.covariance);
  const int64_t k = options.components;
  const double n = static_cast<double>(shard.rows.total);
  // As scikit-learn: a tiny floor keeps empty components from dividing by 0.
  auto counts = stats.counts + 10 * std::numeric_limits<double>::epsilon();
  auto means = stats.sums / counts.unsqueeze(1);
  auto covariances = policy.covariances(stats, counts, means, n, x.options(), options.reg_covar);
  auto weights = counts / counts.sum();

  // Collapse: too few points, or a covariance that is not positive definite.
  auto few = stats.counts < options.min_component_points;
  auto not_positive = policy.not_positive_definite(covariances, k);
  auto collapsed = iteration > 0 ? (few | not_positive) : not_positive;
  if (collapsed.any().item<bool>()) {
    const int64_t first = collapsed.nonzero()[0][0].item<int64_t>();
    if (!options.reseed_collapsed)
      collapse_error(iteration, first, stats.counts[first].item<double>(), options, not_positive[first].item<bool>());
    auto which = collapsed.nonzero().squeeze(1);
    for (int64_t i = 0; i < which.size(0); ++i) {
      const int64_t c = which[i].item<int64_t>();
      means[c] = rows_at(shard.group, shard.rows, x, torch::randint(shard.rows.total, {1}, torch::kLong))[0];
      weights[c] = 1.0 / n;
      policy.reseed(covariances, c, data_covariance);
      ++*reseeded;
    }
    weights = weights / weights.sum();
  }
  // Full covariances bring float64 statistics for float32 data as well (see
  // em_covariance.h): the mixture goes back to the data's dtype at the end.
  return GaussianMixture::from_covariances(weights, means, covariances, options.covariance)
      .to(x.device(), x.scalar_type());
}

void check_input(const torch::Tensor& x, const EmOptions& options, const torch::Tensor& mask, const Shard& shard) {
  if (x.dim() != 2) fail("the data must be [N, D], got shape {}", c10::str(x.sizes()));
  if (x.size(1) == 0) fail("the data has D = 0 dimensions");
  check_options(options, "EM");
  const int64_t total = shard.rows.total;
  if (options.components > total)
    fail("components = {} is more than the {} data points; use at most {}", options.components, total, total);
  if (mask.defined() && mask.sizes() != x.sizes())
    fail("the mask has shape {} but the data {}", c10::str(mask.sizes()), c10::str(x.sizes()));
  // What EM holds at once, before any of it is allocated: responsibilities
  // (three N x K tensors), four covariance-sized tensors per fit, two copies
  // of the data.
  const auto n = static_cast<uint64_t>(x.size(0)), d = static_cast<uint64_t>(x.size(1)),
             k = static_cast<uint64_t>(options.components);
  const uint64_t covariance = options.covariance == CovarianceType::kFull   ? saturating_product({k, d, d})
                              : options.covariance == CovarianceType::kTied ? saturating_product({d, d})
                                                                            : saturating_product({k, d});
  const uint64_t entries =
      saturating_product({3, n, k}) + saturating_product({4, covariance}) + saturating_product({2, n, d});
  check_memory(
      saturating_product({entries, static_cast<uint64_t>(x.element_size())}),
      fmt::format("EM with {} {} components of {} dimensions on {} points", k, to_string(options.covariance), d, n),
      "use fewer --components, fewer columns, or --covariance diag");
  if (mask.defined() || shard.group.size() > 1) {  // over a group, every process counts
    // A column never observed has no mean or variance to fit: EM would
    // "fit" it with any value (all-NaN data gave a log-likelihood of 0).
    auto observed = mask.defined() ? mask.to(torch::kBool).sum(0)
                                   : torch::full({x.size(1)}, x.size(0), torch::TensorOptions().dtype(torch::kLong));
    shard.group.all_reduce_sum(observed);
    if ((observed == 0).any().item<bool>())
      fail("column {} of the data has no observed value (every entry is missing); drop it",
           (observed == 0).nonzero()[0][0].item<int64_t>());
  }
  auto checked = mask.defined() ? torch::where(mask.to(torch::kBool), x, torch::zeros_like(x)) : x;
  if (!torch::isfinite(checked).all().item<bool>()) {
    auto bad = (~torch::isfinite(checked)).nonzero()[0];
    fail("the data has a non-finite value ({}) at row {}, column {}", x[bad[0]][bad[1]].item<double>(),
         bad[0].item<int64_t>(), bad[1].item<int64_t>());
  }
}

}  // namespace

EmResult fit_gaussian_mixture(const torch::Tensor& x_given, const EmOptions& options, const GaussianMixture* warm_start,
                              const torch::Tensor& mask_given, Collectives& group) {
  const Shard shard{group, row_shard(group, x_given.dim() == 2 ? x_given.size(0) : 0)};
  if (shard.rows.count == 0 && group.size() > 1)
    fail("rank {} of {} holds no rows: fit {} points with at most {} processes", group.rank(), group.size(),
         shard.rows.total, shard.rows.total);
  check_input(x_given, options, mask_given, shard);
  const auto start = Clock::now();
  // With several workers, OpenBLAS stays single-threaded for the whole fit:
  // its own threads, once woken by a product, spin for a while and would
  // compete with the workers (the first iterations ran 25% slower).
  const int workers = expectation_workers(x_given, options.workers);
  std::optional<SingleThreadedBlas> single_threaded;
  if (workers > 1) single_threaded.emplace();
  // Missing entries start at their column's observed mean: that is what the
  // initialisation sees; EM itself only uses the observed entries.
  torch::Tensor mask, x_in = x_given;
  // Over a group, every process takes this path if any one has a missing entry.
  const bool complete = mask_given.defined() ? mask_given.to(torch::kBool).all().item<bool>() : true;
  if (all_reduce_sum(group, complete ? 0.0 : 1.0) > 0) {
    mask = mask_given.defined() ? mask_given.to(x_given.dtype()) : torch::ones_like(x_given);
    auto observed_sums = (x_given.nan_to_num() * mask).sum(0), observed_counts = mask.sum(0);
    group.all_reduce_sum(observed_sums);
    group.all_reduce_sum(observed_counts);
    auto column_means = observed_sums / observed_counts.clamp_min(1);
    x_in = torch::where(mask.to(torch::kBool), x_given, column_means.expand_as(x_given));
  }
  // EM runs on data centred at its mean: second moments minus squared means
  // lose far less precision there. The mixture is shifted back at the end.
  torch::Tensor shift;
  if (group.size() == 1) {
    shift = x_in.mean(0);
  } else {
    shift = x_in.sum(0);
    group.all_reduce_sum(shift);
    shift /= static_cast<double>(shard.rows.total);
  }
  auto x = x_in - shift;
  auto scatter = x.t().matmul(x);
  group.all_reduce_sum(scatter);
  auto data_covariance =
      scatter / static_cast<double>(shard.rows.total) + options.reg_covar * torch::eye(x.size(1), x.options());
  if (!torch::isfinite(data_covariance).all().item<bool>())
    fail(
        "the data's second moments overflow {} (its largest |value| is {:.3g}): rescale it, e.g. standardize each "
        "column, or fit in float64",
        c10::toString(x.scalar_type()), x_in.abs().max().item<double>());
  std::optional<EmResult> best;
  const int64_t runs = warm_start ? 1 : options.n_init;
  for (int64_t run = 0; run < runs; ++run) {
    seed_everything(derive_seed(options.seed, static_cast<uint64_t>(run)));
    int64_t reseeded_at_init = 0;
    EmResult result(warm_start
                        ? GaussianMixture(warm_start->weights(), warm_start->means() - shift,
                                          warm_start->precision_cholesky(), warm_start->type())
                        : maximization(summed(statistics_of(x, initial_responsibilities(x, options, workers, shard),
                                                            options.covariance, options.chunk_rows),
                                              shard),
                                       x, data_covariance, options, 0, &reseeded_at_init, shard));
    result.reseeded = reseeded_at_init;
    const auto em_start = Clock::now();
    double previous = -std::numeric_limits<double>::infinity();
    for (int64_t iteration = 1; iteration <= options.max_iter; ++iteration) {
      EmStatistics stats = summed(mask.defined() ? incomplete_expectation(x, mask, result.mixture)
                                                 : expectation(x, result.mixture, options.chunk_rows, workers),
                                  shard);
      result.history.push_back(stats.log_likelihood);
      result.mixture = maximization(stats, x, data_covariance, options, iteration, &result.reseeded, shard);
      result.n_iter = iteration;
      result.lower_bound = stats.log_likelihood;
      if (std::abs(stats.log_likelihood - previous) < options.tol) {
        result.converged = true;
        break;
      }
      previous = stats.log_likelihood;
    }
    const double em_seconds = std::chrono::duration<double>(Clock::now() - em_start).count();
    result.seconds_per_iter = result.n_iter > 0 ? em_seconds / static_cast<double>(result.n_iter) : 0.0;
    if (!best || result.lower_bound > best->lower_bound) best = std::move(result);
  }
  // Back to the data's coordinates, and the final mean log-likelihood under the
  // returned parameters.
  best->mixture = GaussianMixture(best->mixture.weights(), best->mixture.means() + shift,
                                  best->mixture.precision_cholesky(), best->mixture.type());
  best->seconds = std::chrono::duration<double>(Clock::now() - start).count();
  // A fit that ends non-finite is an error, so nothing non-finite is ever
  // saved (the caller writes only what returns).
  const GaussianMixture& fitted = best->mixture;
  if (!std::isfinite(best->lower_bound) || !torch::isfinite(fitted.weights()).all().item<bool>() ||
      !torch::isfinite(fitted.means()).all().item<bool>() ||
      !torch::isfinite(fitted.precision_cholesky()).all().item<bool>())
    fail(
        "EM ended with non-finite parameters (log-likelihood {}): the data's scale (largest |value| {:.3g}) is "
        "beyond {}; rescale it, e.g. standardize each column, or raise reg_covar",
        best->lower_bound, x_in.abs().max().item<double>(), c10::toString(x.scalar_type()));
  return std::move(*best);
}

}  // namespace dgm
