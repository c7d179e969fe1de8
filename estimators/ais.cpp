#include "estimators/ais.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "core/blas_threads.h"
#include "core/counter_random.h"
#include "core/error.h"
#include "core/random.h"
#include "estimators/hmc.h"
#include "estimators/input_checks.h"
#include "models/class_latent.h"

namespace dgm {
namespace {

// Wu et al. 2017's step-size rule (their code's defaults).
constexpr double kMinStep = 1e-4, kMaxStep = 0.5, kIncrease = 1.02, kDecrease = 0.98, kAcceptanceDecay = 0.9;
/// A random stream per (example, chain): index = example * kChainStride + chain.
constexpr int64_t kChainStride = int64_t{1} << 20;

int band_of(double beta) { return std::clamp(static_cast<int>(beta * BandAcceptance::kBands), 0, 9); }

/// One annealing pass of some chains.
struct Pass {
  torch::Tensor log_weights;  ///< float64 [S, B]
  BandAcceptance acceptance;
  torch::Tensor schedule;  ///< adaptive passes: the log step size of each transition, [T - 1, B] (float64)
};

/// Anneals every chain of `point` along `path` (path[0] is where the chains
/// are): the log-weight gains at each beta, an HMC transition at every beta
/// but the last. Transition t of a reverse pass is forward transition T - t:
/// its step size and counter. With `adapt`, each chain's step size follows
/// Wu et al.'s rule and the pass records it; otherwise `schedule` gives it.
Pass anneal(const PointFunction& at, AnnealPoint point, const std::vector<double>& path, bool reverse,
            const CounterRandom& random, const AisOptions& options, const torch::Tensor& schedule, bool adapt) {
  const int64_t steps = static_cast<int64_t>(path.size()) - 1;
  const int64_t chains = point.z.size(0), batch = point.z.size(1), dim = point.z.size(2);
  const auto dtype = point.z.scalar_type();
  Pass pass;
  pass.log_weights = torch::zeros({chains, batch}, point.z.options().dtype(torch::kFloat64));
  std::vector<torch::Tensor> accepted(BandAcceptance::kBands);  // on the device: no host read per transition
  torch::Tensor log_step, acceptance_average;
  std::vector<torch::Tensor> recorded;
  if (adapt) {
    log_step = torch::full({chains, batch, 1}, std::log(options.step_size), pass.log_weights.options());
    acceptance_average = torch::full({chains, batch}, options.target_acceptance, pass.log_weights.options());
  }
  for (int64_t t = 1; t <= steps; ++t) {
    pass.log_weights +=
        (path[t] - path[t - 1]) * (point.log_target.to(torch::kFloat64) - point.log_initial.to(torch::kFloat64));
    if (t == steps) break;
    const double beta = path[t];
    const int64_t forward_index = reverse ? steps - t : t;
    torch::Tensor step;
    if (adapt) {
      recorded.push_back(log_step.mean(0).squeeze(-1));
      step = log_step.exp().to(dtype);
    } else {
      step = schedule[forward_index - 1].exp().to(dtype).view({1, batch, 1});
    }
    auto momentum = random.normal(forward_index, dim).to(dtype);
    auto uniform = random.uniform(forward_index, 1).squeeze(-1);
    Transition transition = hmc_transition(at, point, momentum, uniform, step, options.leapfrog, beta);
    point = std::move(transition.point);
    const int band = band_of(beta);
    auto count = transition.accepted.sum();
    accepted[band] = accepted[band].defined() ? accepted[band] + count : count;
    pass.acceptance.proposed[band] += static_cast<double>(chains * batch);
    if (adapt) {
      acceptance_average =
          kAcceptanceDecay * acceptance_average + (1.0 - kAcceptanceDecay) * transition.accepted.to(torch::kFloat64);
      auto change = torch::where(acceptance_average > options.target_acceptance,
                                 torch::full_like(acceptance_average, std::log(kIncrease)),
                                 torch::full_like(acceptance_average, std::log(kDecrease)));
      log_step = torch::clamp(log_step + change.unsqueeze(-1), std::log(kMinStep), std::log(kMaxStep));
    }
  }
  for (int band = 0; band < BandAcceptance::kBands; ++band)
    if (accepted[band].defined()) pass.acceptance.accepted[band] = accepted[band].item<double>();
  if (adapt && !recorded.empty()) pass.schedule = torch::stack(recorded);
  return pass;
}

/// The random streams of chains [first, first + n) of the examples `rows` [B].
CounterRandom chain_streams(uint64_t seed, const torch::Tensor& rows, int64_t first, int64_t n) {
  auto chains = torch::arange(first, first + n, rows.options()).unsqueeze(1);
  return CounterRandom(seed, rows.unsqueeze(0) * kChainStride + chains);
}

/// Chains drawn from the initial distribution with their streams' first normals.
AnnealPoint initial_point(const PointFunction& at, const Distribution& initial, const CounterRandom& random,
                          int64_t dim, torch::ScalarType dtype) {
  return at(initial.from_noise(random.normal(0, dim).to(dtype)));
}

/// Anneals chains [0, chains) in groups of at most `group`, through
/// one(first, n): on the CPU the groups run on one thread per core at once,
/// each with single-threaded products (as the sampling estimators' tiles,
/// estimators/log_weights.h). Each chain has its own random stream, so the
/// passes, in chain order, are those of one group.
std::vector<Pass> anneal_groups(int64_t chains, int64_t group, bool on_cpu,
                                const std::function<Pass(int64_t first, int64_t n)>& one) {
  const int workers = on_cpu ? std::max(1, blas_threads()) : 1;
  if (workers > 1) group = std::min(group, (chains + workers - 1) / workers);
  const int64_t groups = (chains + group - 1) / group;
  std::vector<Pass> passes(static_cast<std::size_t>(groups));
  std::optional<SingleThreadedBlas> single_threaded;
  if (workers > 1 && groups > 1) single_threaded.emplace();
  run_split(groups, groups > 1 ? workers : 1, [&](int, int64_t begin, int64_t end) {
    torch::NoGradGuard no_grad;  // per thread: gradients in z only, inside the path
    for (int64_t g = begin; g < end; ++g)
      passes[static_cast<std::size_t>(g)] = one(g * group, std::min(group, chains - g * group));
  });
  return passes;
}

/// Forward AIS on any path: what the estimator and BDMC share.
struct Forward {
  AisResult result;
  torch::Tensor log_weights;  ///< every chain's, float64 [S, B]
  torch::Tensor schedule;     ///< log step sizes [T - 1, B]
};

Forward forward_ais(const PointFunction& at, const Distribution& initial, const torch::Tensor& rows, int64_t dim,
                    torch::ScalarType dtype, const EstimatorOptions& options, uint64_t seed) {
  const AisOptions& ais = options.ais;
  const auto path = ais_schedule(ais.ais_schedule, ais.ais_steps);
  const int64_t batch = rows.size(0);
  Forward out;
  const auto float64 = torch::TensorOptions().dtype(torch::kFloat64).device(rows.device());
  const bool on_cpu = rows.is_cpu();
  if (ais.ais_steps > 1 && ais.pilot_chains > 0) {
    auto pilots = anneal_groups(ais.pilot_chains, ais.pilot_chains, on_cpu, [&](int64_t first, int64_t n) {
      auto random = chain_streams(derive_seed(seed, 2), rows, first, n);
      return anneal(at, initial_point(at, initial, random, dim, dtype), path, false, random, ais, {}, true);
    });
    // The geometric mean over all pilot chains of each transition's step size.
    out.schedule = torch::zeros_like(pilots.front().schedule);
    for (const Pass& pilot : pilots)
      out.schedule += pilot.schedule * (static_cast<double>(pilot.log_weights.size(0)) / ais.pilot_chains);
  } else {
    out.schedule = torch::full({std::max<int64_t>(ais.ais_steps - 1, 0), batch}, std::log(ais.step_size), float64);
  }
  const int64_t chunk = options.chunk > 0 ? options.chunk : ais.chains;
  WeightStatistics statistics;
  std::vector<torch::Tensor> log_weights;
  auto passes = anneal_groups(ais.chains, chunk, on_cpu, [&](int64_t first, int64_t n) {
    auto random = chain_streams(derive_seed(seed, 1), rows, first, n);
    return anneal(at, initial_point(at, initial, random, dim, dtype), path, false, random, ais, out.schedule, false);
  });
  for (const Pass& pass : passes) {
    statistics.add(pass.log_weights);
    log_weights.push_back(pass.log_weights);
    out.result.acceptance.add(pass.acceptance);
  }
  out.result.weights = statistics.result();
  out.log_weights = torch::cat(log_weights);
  out.result.mean_step_size =
      out.schedule.size(0) > 0 ? out.schedule.mean(0).exp() : torch::full({batch}, ais.step_size, float64);
  return out;
}

uint64_t seed_of(const EstimatorOptions& options) {
  if (options.seed) return *options.seed;
  return static_cast<uint64_t>(
      torch::randint(std::numeric_limits<int64_t>::max(), {1}, torch::TensorOptions().dtype(torch::kInt64))
          .item<int64_t>());
}

torch::Tensor example_rows(const EstimatorOptions& options, int64_t batch, const torch::Device& device) {
  return torch::arange(options.first_example, options.first_example + batch,
                       torch::TensorOptions().dtype(torch::kInt64).device(device));
}

void check_ais_input(LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options,
                     const torch::Tensor& mask) {
  check_estimator_input(x, options.ais.chains, mask, "AIS");
  check_options(options.ais, "AisOptions");
  if (options.chunk < 0) fail("AIS: chunk {} is not valid: chains at once, at least 1 (0 = all)", options.chunk);
  if (options.first_example < 0) fail("AIS: first_example {} is negative", options.first_example);
  if (!ais_applies(model))
    fail("AIS needs a continuous latent with a normal prior (or z = (y, w) with w continuous); {} has none",
         model.describe());
}

/// f_0, the distribution the chains start from: the encoder or the prior
/// (--ais-init), refused unless it is a transform of normal noise (the
/// chains' first draws come from their own random streams).
std::shared_ptr<Distribution> initial_distribution(LatentVariableModel& model, const torch::Tensor& x,
                                                   const EstimatorOptions& options, const torch::Tensor& mask,
                                                   const char* who) {
  auto initial = options.ais.ais_init == AisInit::kEncoder ? model.proposal(x, mask) : model.prior(x.size(0));
  if (!initial->has_from_noise())
    fail("{}: the {} of {} ({}) is not a transform of normal noise; use --ais-init prior", who,
         to_string(options.ais.ais_init), model.describe(), initial->name());
  return initial;
}

/// z = (y, w): the annealing path over w of one class per row, for rows
/// (y_r, x_r) (any classes, any examples), started from the prior of w or
/// from q(w | x, y) (--ais-init).
struct ClassPath {
  std::shared_ptr<DiagNormal> initial;
  PointFunction at;
};

ClassPath class_path(ClassLatentModel& classes, const torch::Tensor& x_rows, const torch::Tensor& y,
                     const torch::Tensor& mask_rows, const EstimatorOptions& options,
                     const std::function<DiagNormal()>& proposal_rows) {
  auto prior = std::make_shared<DiagNormal>(classes.rest_prior(x_rows.size(0)));
  ClassPath path;
  path.initial = options.ais.ais_init == AisInit::kEncoder ? std::make_shared<DiagNormal>(proposal_rows()) : prior;
  auto initial = path.initial;
  path.at = annealing_path([initial](const torch::Tensor& w) { return initial->log_prob(w); },
                           [&classes, prior, x_rows, y, mask_rows](const torch::Tensor& w) {
                             return prior->log_prob(w) + classes.log_likelihood_given_class(
                                                             x_rows, y.expand({w.size(0), y.size(0)}), w, mask_rows);
                           });
  return path;
}

/// Forward AIS over w for every class y of every example: the rows are
/// class-major (row y * B + b), each with its own random streams.
struct ClassForward {
  Forward forward;
  torch::Tensor stream_rows;  ///< [K * B]: the counter rows of (y, b)
};

ClassForward class_forward(LatentVariableModel& model, ClassLatentModel& classes, const torch::Tensor& x,
                           const EstimatorOptions& options, const torch::Tensor& mask, uint64_t seed) {
  const int64_t k = classes.classes(), batch = x.size(0), rest = model.latent_dim() - 1;
  auto x_rows = x.repeat({k, 1});
  auto mask_rows = mask.defined() ? mask.repeat({k, 1}) : mask;
  auto y = torch::arange(k, x.options().dtype(torch::kInt64)).repeat_interleave(batch);
  ClassPath path = class_path(classes, x_rows, y, mask_rows, options, [&] {
    DiagNormal given = classes.rest_proposal(x, mask);  // batch [K, B]
    return DiagNormal(given.loc().reshape({k * batch, rest}).detach(),
                      given.scale().reshape({k * batch, rest}).detach());
  });
  ClassForward out;
  out.stream_rows = (example_rows(options, batch, x.device()).unsqueeze(0) * k +
                     torch::arange(k, x.options().dtype(torch::kInt64)).unsqueeze(1))
                        .reshape({-1});
  out.forward = forward_ais(path.at, *path.initial, out.stream_rows, rest, x.scalar_type(), options, seed);
  return out;
}

/// p_hat(x) = sum_y p(y) p_hat(x | y), unbiased as each p_hat(x | y) is: the
/// chains of all classes pooled as one set of weights K p(y) w_{y,i}, whose
/// mean is the sum over y; the standard error is that of a stratified sum.
AisResult class_sum_of(ClassLatentModel& classes, const Forward& forward, int64_t batch, int64_t chains) {
  const int64_t k = classes.classes();
  auto log_prior = classes.class_log_prior().to(torch::kFloat64).view({1, k, 1});
  auto pooled = (forward.log_weights.view({chains, k, batch}) + log_prior + std::log(static_cast<double>(k)))
                    .reshape({chains * k, batch});
  WeightStatistics statistics;
  statistics.add(pooled);
  AisResult out;
  out.weights = statistics.result();
  out.weights.k = chains;
  auto per_class_stderr = forward.result.weights.log_stderr.view({k, batch});
  out.weights.log_stderr = 0.5 * torch::logsumexp(2.0 * (per_class_stderr + log_prior.view({k, 1})), 0);
  out.acceptance = forward.result.acceptance;
  out.mean_step_size = forward.result.mean_step_size.view({k, batch}).log().mean(0).exp();
  return out;
}

AisResult class_ais(LatentVariableModel& model, ClassLatentModel& classes, const torch::Tensor& x,
                    const EstimatorOptions& options, const torch::Tensor& mask, uint64_t seed) {
  ClassForward run = class_forward(model, classes, x, options, mask, seed);
  return class_sum_of(classes, run.forward, x.size(0), options.ais.chains);
}

/// Reverse AIS of every chunk of chains from `start`, along the reversed
/// path with the forward pass's step sizes: minus the log mean exp of its
/// weights, a stochastic upper bound on log of the path's end's normalizer.
struct Reverse {
  torch::Tensor upper;  ///< [B]
  BandAcceptance acceptance;
};

Reverse reverse_ais(const PointFunction& at, const torch::Tensor& z_start, const torch::Tensor& stream_rows,
                    const torch::Tensor& schedule, const EstimatorOptions& options, uint64_t seed) {
  auto path = ais_schedule(options.ais.ais_schedule, options.ais.ais_steps);
  std::reverse(path.begin(), path.end());
  const int64_t chunk = options.chunk > 0 ? options.chunk : options.ais.chains;
  const int64_t batch = z_start.size(0), dim = z_start.size(1);
  auto passes = anneal_groups(options.ais.chains, chunk, z_start.is_cpu(), [&](int64_t first, int64_t n) {
    auto random = chain_streams(derive_seed(seed, 3), stream_rows, first, n);
    auto start = at(z_start.unsqueeze(0).expand({n, batch, dim}).clone());
    return anneal(at, start, path, true, random, options.ais, schedule, false);
  });
  WeightStatistics statistics;
  Reverse out;
  for (const Pass& pass : passes) {
    statistics.add(pass.log_weights);
    out.acceptance.add(pass.acceptance);
  }
  out.upper = -statistics.result().log_estimate;  // the reverse weights estimate 1 / Z
  return out;
}

/// BDMC for z = (y, w), from (y*, w*) ~ p(y, w | x). Forward: the class sum
/// above (lower bound). Reverse: AIS over w from w* with y = y* held, whose
/// weight R estimates 1 / p(x | y*); with g(y) = p_hat(x, y) / p_hat(x) of
/// the forward runs (independent of y*, w* and the reverse chains given x),
///   E[R g(y*)] = sum_y p(y | x) g(y) / p(x | y) = sum_y p(y) g(y) / p(x)
/// ... = 1 / p(x), since sum_y p(y) p_hat(x | y) = p_hat(x). So
///   upper = lower + (upper of log p(x | y*) - lower of log p(x | y*)):
/// the gap is that of the class that made x, and y is never annealed.
BdmcResult class_bdmc(LatentVariableModel& model, ClassLatentModel& classes, const torch::Tensor& x,
                      const torch::Tensor& z_exact, const EstimatorOptions& options, uint64_t seed) {
  const int64_t k = classes.classes(), batch = x.size(0), rest = model.latent_dim() - 1;
  auto y_exact = z_exact.select(1, 0).round().to(torch::kInt64);
  if (y_exact.numel() > 0 && (y_exact.min().item<int64_t>() < 0 || y_exact.max().item<int64_t>() >= k))
    fail("BDMC: the exact latents' class column holds values outside 0..{}", k - 1);
  auto w_exact = z_exact.slice(1, 1).to(x.scalar_type());
  ClassForward run = class_forward(model, classes, x, options, {}, seed);
  BdmcResult out;
  out.forward = class_sum_of(classes, run.forward, batch, options.ais.chains);
  out.lower = out.forward.weights.log_estimate;
  // The (y*, b) rows of the forward pass: their streams, step sizes, initial.
  auto selected = y_exact.to(x.device()) * batch + torch::arange(batch, y_exact.options().device(x.device()));
  ClassPath path = class_path(classes, x, y_exact.to(x.device()), {}, options, [&] {
    DiagNormal given = classes.rest_proposal(x);
    auto loc = given.loc().reshape({k * batch, rest}).index_select(0, selected).detach();
    return DiagNormal(loc, given.scale().reshape({k * batch, rest}).index_select(0, selected).detach());
  });
  Reverse reverse = reverse_ais(path.at, w_exact, run.stream_rows.index_select(0, selected),
                                run.forward.schedule.index_select(1, selected), options, seed);
  auto lower_given_class = run.forward.result.weights.log_estimate.index_select(0, selected);
  out.upper = out.lower + (reverse.upper - lower_given_class);
  out.reverse_acceptance = reverse.acceptance;
  return out;
}

}  // namespace

std::vector<double> ais_schedule(AisSchedule schedule, int64_t steps) {
  if (steps < 1) fail("AIS: {} intermediate distributions: it needs at least 1", steps);
  std::vector<double> betas(steps + 1);
  for (int64_t t = 0; t <= steps; ++t) betas[t] = static_cast<double>(t) / static_cast<double>(steps);
  if (schedule == AisSchedule::kSigmoid && steps > 1) {
    // Grosse et al. 2015: sigmoid of evenly spaced points in [-4, 4], rescaled to [0, 1].
    constexpr double kRadius = 4.0;
    auto sigmoid = [](double u) { return 1.0 / (1.0 + std::exp(-u)); };
    const double low = sigmoid(-kRadius), high = sigmoid(kRadius);
    for (int64_t t = 0; t <= steps; ++t) betas[t] = (sigmoid(kRadius * (2.0 * betas[t] - 1.0)) - low) / (high - low);
    betas.front() = 0.0;
    betas.back() = 1.0;
  }
  return betas;
}

void BandAcceptance::add(const BandAcceptance& other) {
  for (int band = 0; band < kBands; ++band) {
    accepted[band] += other.accepted[band];
    proposed[band] += other.proposed[band];
  }
}

std::vector<double> BandAcceptance::rates() const {
  std::vector<double> out(kBands);
  for (int band = 0; band < kBands; ++band)
    out[band] = proposed[band] > 0 ? accepted[band] / proposed[band] : std::numeric_limits<double>::quiet_NaN();
  return out;
}

double BandAcceptance::overall() const {
  double a = 0.0, p = 0.0;
  for (int band = 0; band < kBands; ++band) a += accepted[band], p += proposed[band];
  return p > 0 ? a / p : std::numeric_limits<double>::quiet_NaN();
}

bool ais_applies(LatentVariableModel& model) {
  if (class_latent(model) != nullptr) return true;
  return model.latent_support_size() == 0 && model.prior(1)->has_from_noise();
}

AisResult annealed_importance_sampling(LatentVariableModel& model, const torch::Tensor& x,
                                       const EstimatorOptions& options, const torch::Tensor& mask) {
  check_ais_input(model, x, options, mask);
  torch::NoGradGuard no_grad;  // gradients in z only, inside the path
  const uint64_t seed = seed_of(options);
  if (ClassLatentModel* classes = class_latent(model)) return class_ais(model, *classes, x, options, mask, seed);
  auto initial = initial_distribution(model, x, options, mask, "AIS");
  auto at = annealing_path(model, x, *initial, mask);
  return forward_ais(at, *initial, example_rows(options, x.size(0), x.device()), model.latent_dim(), x.scalar_type(),
                     options, seed)
      .result;
}

torch::Tensor ais_initial_noise(uint64_t seed, int64_t first_example, int64_t batch, int64_t chains, int64_t dim,
                                const torch::Device& device) {
  auto rows =
      torch::arange(first_example, first_example + batch, torch::TensorOptions().dtype(torch::kInt64).device(device));
  return chain_streams(derive_seed(seed, 1), rows, 0, chains).normal(0, dim);
}

BdmcResult bidirectional_monte_carlo(LatentVariableModel& model, const torch::Tensor& x, const torch::Tensor& z_exact,
                                     const EstimatorOptions& options) {
  check_ais_input(model, x, options, {});
  if (z_exact.dim() != 2 || z_exact.size(0) != x.size(0) || z_exact.size(1) != model.latent_dim())
    fail("BDMC: the exact latents are {}, where [{}, {}] is needed (one z per row of x)", c10::str(z_exact.sizes()),
         x.size(0), model.latent_dim());
  torch::NoGradGuard no_grad;
  const uint64_t seed = seed_of(options);
  if (ClassLatentModel* classes = class_latent(model)) return class_bdmc(model, *classes, x, z_exact, options, seed);
  auto initial = initial_distribution(model, x, options, {}, "BDMC");
  auto at = annealing_path(model, x, *initial);
  auto rows = example_rows(options, x.size(0), x.device());
  Forward forward = forward_ais(at, *initial, rows, model.latent_dim(), x.scalar_type(), options, seed);
  Reverse reverse = reverse_ais(at, z_exact.to(x.scalar_type()), rows, forward.schedule, options, seed);
  BdmcResult out;
  out.lower = forward.result.weights.log_estimate;
  out.upper = reverse.upper;
  out.reverse_acceptance = reverse.acceptance;
  out.forward = std::move(forward.result);
  return out;
}

}  // namespace dgm
