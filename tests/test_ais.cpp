// Annealed importance sampling and BDMC (estimators/ais.h), HMC
// (estimators/hmc.h) and the counter-based random numbers they draw
// (core/counter_random.h), against exact answers: pPCA's closed-form
// marginal, Gaussian targets, importance sampling with the same draws.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/counter_random.h"
#include "core/distributions.h"
#include "core/error.h"
#include "estimators/ais.h"
#include "estimators/hmc.h"
#include "estimators/log_weights.h"
#include "estimators/registry.h"
#include "estimators/weight_statistics.h"
#include "models/sigmoid_belief_net.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::kF64;

/// pPCA with a deliberately poor encoder: the exact posterior's mean shifted
/// by 0.5 and its scale widened, correlations left out (a VAE-like q).
class PpcaWithRoughEncoder : public LatentVariableModel {
 public:
  explicit PpcaWithRoughEncoder(PpcaImpl& ppca) : ppca_(ppca) {}
  std::shared_ptr<Distribution> prior(int64_t batch) override { return ppca_.prior(batch); }
  std::shared_ptr<Distribution> proposal(const torch::Tensor& x, const torch::Tensor& mask = {}) override {
    auto exact = ppca_.proposal(x, mask);
    auto loc = exact->mean() + 0.5;
    return std::make_shared<DiagNormal>(loc, torch::full_like(loc, 0.9));
  }
  std::shared_ptr<Distribution> likelihood(const torch::Tensor& z) override { return ppca_.likelihood(z); }
  torch::Tensor log_likelihood(const torch::Tensor& x, const torch::Tensor& z, const torch::Tensor& mask) override {
    return ppca_.log_likelihood(x, z, mask);
  }
  int64_t data_dim() const override { return ppca_.data_dim(); }
  int64_t latent_dim() const override { return ppca_.latent_dim(); }

 private:
  PpcaImpl& ppca_;
};

EstimatorOptions ais_options(int64_t steps, int64_t chains, AisInit init, uint64_t seed = 7) {
  EstimatorOptions options;
  options.ais.ais_steps = steps;
  options.ais.chains = chains;
  options.ais.leapfrog = 5;
  options.ais.ais_init = init;
  options.seed = seed;
  return options;
}

/// A correlated 2-D Gaussian target N(m, C) as a path's end (its start unused).
struct GaussianTarget {
  torch::Tensor mean = torch::tensor({1.0, -2.0}, kF64);
  torch::Tensor covariance = torch::tensor({{1.0, 0.8}, {0.8, 1.5}}, kF64);
  PointFunction path() const {
    auto target = std::make_shared<MultivariateNormal>(mean, torch::linalg_cholesky(covariance));
    return annealing_path([](const torch::Tensor& z) { return torch::zeros(z.sizes().slice(0, 2), z.options()); },
                          [target](const torch::Tensor& z) { return target->log_prob(z); });
  }
};

TEST(CounterRandom, TensorHashMatchesPlainIntegerArithmetic) {
  // The tensor hash (int64 pieces, no overflow) against uint32 wrap-around,
  // on values spread over [0, 2^32), both ends included.
  std::vector<int64_t> values = {0, 1, 2, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000LL, 0xFFFFFFFFLL};
  for (int64_t v = 12345; v < (int64_t{1} << 32); v += 40503991) values.push_back(v);
  auto hashed = hash32(torch::tensor(values, torch::kInt64));
  for (std::size_t i = 0; i < values.size(); ++i)
    EXPECT_EQ(hashed[static_cast<int64_t>(i)].item<int64_t>(), hash32(static_cast<uint32_t>(values[i])))
        << "value " << values[i];
  EXPECT_EQ(hash32(uint32_t{0}), 0u);  // lowbias32 fixes 0
  EXPECT_NE(hash32(uint32_t{1}), hash32(uint32_t{2}));
}

TEST(CounterRandom, UniformAndNormalHaveTheirMoments) {
  CounterRandom random(3, torch::arange(2000, torch::kInt64));
  auto u = random.uniform(5, 50);
  EXPECT_NEAR(u.mean().item<double>(), 0.5, 0.003);
  EXPECT_NEAR(u.var().item<double>(), 1.0 / 12.0, 0.002);
  EXPECT_GT(u.min().item<double>(), 0.0);
  EXPECT_LT(u.max().item<double>(), 1.0);
  auto n = random.normal(5, 50);
  EXPECT_NEAR(n.mean().item<double>(), 0.0, 0.01);
  EXPECT_NEAR(n.var().item<double>(), 1.0, 0.02);
  EXPECT_NEAR((n.pow(4)).mean().item<double>(), 3.0, 0.1);  // normal, not merely unit-variance
  // Another counter, and the normal of the same counter, are uncorrelated with u.
  auto other = random.uniform(6, 50);
  EXPECT_LT(std::abs(torch::corrcoef(torch::stack({u.flatten(), other.flatten()}))[0][1].item<double>()), 0.01);
  EXPECT_LT(std::abs(torch::corrcoef(torch::stack({u.flatten(), n.flatten()}))[0][1].item<double>()), 0.01);
}

TEST(CounterRandom, AStreamDrawsTheSameWhateverElseIsDrawnWithIt) {
  CounterRandom all(11, torch::arange(100, torch::kInt64));
  CounterRandom some(11, torch::tensor({int64_t{42}, int64_t{7}}));
  EXPECT_TRUE(torch::equal(all.normal(3, 4).index_select(0, torch::tensor({42, 7})), some.normal(3, 4)));
  CounterRandom reseeded(12, torch::tensor({int64_t{42}, int64_t{7}}));
  EXPECT_FALSE(torch::equal(reseeded.normal(3, 4), some.normal(3, 4)));
  // Indices past 2^32 are streams of their own, not the low 32 bits again.
  CounterRandom far(11, torch::tensor({int64_t{42} + (int64_t{1} << 32)}));
  EXPECT_FALSE(torch::equal(far.normal(3, 4), some.normal(3, 4).slice(0, 0, 1)));
}

TEST(Hmc, LeapfrogIsReversible) {
  GaussianTarget target;
  auto at = target.path();
  auto start = at(torch::randn({3, 4, 2}, kF64));
  auto momentum = torch::randn({3, 4, 2}, kF64);
  auto step = torch::full({3, 4, 1}, 0.2, kF64);
  auto [end, end_momentum] = leapfrog(at, start, momentum, step, 12, 1.0);
  EXPECT_GT((end.z - start.z).abs().max().item<double>(), 0.1);
  auto [back, back_momentum] = leapfrog(at, end, -end_momentum, step, 12, 1.0);
  EXPECT_TRUE(torch::allclose(back.z, start.z, 1e-10, 1e-10));
  EXPECT_TRUE(torch::allclose(-back_momentum, momentum, 1e-10, 1e-10));
}

TEST(Hmc, LeapfrogEnergyErrorShrinksAsTheStepSizeSquared) {
  GaussianTarget target;
  auto at = target.path();
  torch::manual_seed(1);
  auto start = at(torch::randn({200, 1, 2}, kF64));
  auto momentum = torch::randn({200, 1, 2}, kF64);
  auto energy_error = [&](double step, int64_t steps) {
    auto [end, end_momentum] = leapfrog(at, start, momentum, torch::full({1}, step, kF64), steps, 1.0);
    auto h0 = -start.log_density(1.0) + 0.5 * momentum.pow(2).sum(-1);
    auto h1 = -end.log_density(1.0) + 0.5 * end_momentum.pow(2).sum(-1);
    return (h1 - h0).abs().mean().item<double>();
  };
  // The same trajectory length 1.6, at steps 0.1 and 0.05.
  const double coarse = energy_error(0.1, 16), fine = energy_error(0.05, 32);
  EXPECT_GT(coarse / fine, 3.5);
  EXPECT_LT(coarse / fine, 4.5);
}

TEST(Hmc, TransitionsLeaveACorrelatedGaussianInvariant) {
  // Chains started at exact draws stay distributed as the target: the mean
  // and covariance of 4000 chains after 30 transitions match to Monte Carlo error.
  GaussianTarget target;
  auto at = target.path();
  torch::manual_seed(2);
  const int64_t chains = 4000;
  MultivariateNormal exact(target.mean, torch::linalg_cholesky(target.covariance));
  auto point = at(exact.sample(chains).unsqueeze(1));  // [4000, 1, 2]
  double accepted = 0;
  for (int t = 0; t < 30; ++t) {
    auto transition = hmc_transition(at, point, torch::randn({chains, 1, 2}, kF64), torch::rand({chains, 1}, kF64),
                                     torch::full({1}, 0.6, kF64), 5, 1.0);
    point = transition.point;
    accepted += transition.accepted.to(torch::kFloat64).mean().item<double>() / 30.0;
  }
  EXPECT_GT(accepted, 0.5);
  EXPECT_LT(accepted, 0.99);  // the test must have rejections to test the correction
  auto z = point.z.squeeze(1);
  auto mean = z.mean(0);
  auto covariance = torch::cov(z.t());
  // Standard errors of the mean: sqrt(C_ii / n); of the covariances: about sqrt(2 / n) C_ii.
  for (int i = 0; i < 2; ++i) {
    EXPECT_NEAR(mean[i].item<double>(), target.mean[i].item<double>(),
                4 * std::sqrt(target.covariance[i][i].item<double>() / chains));
    for (int j = 0; j < 2; ++j)
      EXPECT_NEAR(covariance[i][j].item<double>(), target.covariance[i][j].item<double>(),
                  4 * std::sqrt(2.0 / chains) * 1.5);
  }
}

TEST(Hmc, AProposalWithANonFiniteDensityIsRejected) {
  // A target that is -inf beyond z_0 > 1: every chain proposed there stays.
  auto at = annealing_path([](const torch::Tensor& z) { return torch::zeros(z.sizes().slice(0, 2), z.options()); },
                           [](const torch::Tensor& z) {
                             auto z0 = z.select(-1, 0);
                             return torch::where(z0 > 1.0, torch::full_like(z0, -INFINITY), -0.5 * z.pow(2).sum(-1));
                           });
  auto start = at(torch::zeros({1, 1, 2}, kF64));
  auto transition = hmc_transition(at, start, torch::tensor({{{5.0, 0.0}}}, kF64), torch::full({1, 1}, 0.5, kF64),
                                   torch::full({1}, 0.5, kF64), 4, 1.0);
  EXPECT_FALSE(transition.accepted.item<bool>());
  EXPECT_TRUE(torch::equal(transition.point.z, start.z));
}

TEST(Ais, ScheduleRunsFromZeroToOneAndIncreases) {
  for (auto schedule : {AisSchedule::kSigmoid, AisSchedule::kLinear}) {
    auto betas = ais_schedule(schedule, 50);
    ASSERT_EQ(betas.size(), 51u);
    EXPECT_EQ(betas.front(), 0.0);
    EXPECT_EQ(betas.back(), 1.0);
    for (std::size_t t = 1; t < betas.size(); ++t) EXPECT_GT(betas[t], betas[t - 1]);
  }
  auto sigmoid = ais_schedule(AisSchedule::kSigmoid, 100);
  EXPECT_LT(sigmoid[10], 0.03);  // dense near 0, as Grosse et al.'s
  EXPECT_NEAR(sigmoid[50], 0.5, 1e-12);
  EXPECT_THROW(ais_schedule(AisSchedule::kLinear, 0), Error);
}

/// AIS's estimate is within Monte Carlo error of `exact` [B]: on average
/// over the examples within 0.05 nats, each within 3 standard errors (+0.01).
void expect_near_exact(const AisResult& result, const torch::Tensor& exact, const std::string& what) {
  auto error = result.weights.log_estimate - exact;
  auto relative_stderr = (result.weights.log_stderr - result.weights.log_estimate).exp();  // of log p_hat
  EXPECT_LT(error.mean().abs().item<double>(), 0.05) << what << " " << error;
  EXPECT_TRUE((error.abs() < 3 * relative_stderr + 0.01).all().item<bool>())
      << what << " errors " << error << " standard errors " << relative_stderr;
}

TEST(Ais, ConvergesToPpcasExactMarginalAsTGrows) {
  // 128 chains: the standard error of log p_hat is then about 0.03 nats at
  // T = 500, and the log-weights' variance falls by two orders from T = 20.
  PpcaImpl ppca = test::random_ppca(5, 2, 0.5, 5);
  PpcaWithRoughEncoder model(ppca);
  torch::manual_seed(3);
  auto x = test::draw_ppca(ppca, 4);
  auto exact = *ppca.closed_form_log_marginal(x);
  for (auto init : {AisInit::kPrior, AisInit::kEncoder}) {
    auto rough = annealed_importance_sampling(model, x, ais_options(20, 128, init));
    auto fine = annealed_importance_sampling(model, x, ais_options(500, 128, init));
    expect_near_exact(fine, exact, to_string(init));
    EXPECT_TRUE((fine.weights.log_weight_variance < rough.weights.log_weight_variance / 50).all().item<bool>())
        << to_string(init) << " " << rough.weights.log_weight_variance << fine.weights.log_weight_variance;
    EXPECT_GT((rough.weights.log_estimate - exact).abs().max().item<double>(), 0.05) << to_string(init);
  }
}

TEST(Ais, EstimateOfPIsUnbiasedWithAdaptedStepSizes) {
  // 2000 chains of a short run: their mean weight, p_hat, is within 3
  // standard errors of p(x) for every example; the pilot adapted the steps.
  PpcaImpl ppca = test::random_ppca(5, 2, 0.4, 6);
  PpcaWithRoughEncoder model(ppca);
  torch::manual_seed(4);
  auto x = test::draw_ppca(ppca, 3);
  auto exact = *ppca.closed_form_log_marginal(x);
  for (auto init : {AisInit::kPrior, AisInit::kEncoder}) {
    auto options = ais_options(8, 2000, init, 21);
    auto result = annealed_importance_sampling(model, x, options);
    auto ratio = torch::exp(result.weights.log_estimate - exact);  // p_hat / p(x)
    auto relative_error = torch::exp(result.weights.log_stderr - exact);
    for (int64_t b = 0; b < 3; ++b) {
      EXPECT_GT(relative_error[b].item<double>(), 1e-4) << "the test needs variance to be able to fail";
      EXPECT_NEAR(ratio[b].item<double>(), 1.0, 3 * relative_error[b].item<double>()) << to_string(init) << " " << b;
    }
    EXPECT_NE(result.mean_step_size[0].item<double>(), options.ais.step_size);  // the pilot moved it
  }
}

TEST(Ais, WithOneStepFromTheEncoderIsImportanceSamplingOnTheSameDraws) {
  PpcaImpl ppca = test::random_ppca(6, 3, 0.3, 8);
  PpcaWithRoughEncoder model(ppca);
  auto x = test::draw_ppca(ppca, 5);
  auto options = ais_options(1, 40, AisInit::kEncoder, 99);
  auto ais = annealed_importance_sampling(model, x, options);
  auto q = model.proposal(x);
  auto z = q->from_noise(ais_initial_noise(99, 0, 5, 40, 3));
  WeightStatistics is;
  is.add(importance_log_weights(model, x, *q, z));
  EXPECT_TRUE(torch::allclose(ais.weights.log_estimate, is.result().log_estimate, 1e-12, 1e-12));
  EXPECT_TRUE(torch::allclose(ais.weights.ess, is.result().ess, 1e-10, 1e-10));
}

TEST(Ais, ChunkingChainsOrExamplesChangesNothing) {
  PpcaImpl ppca = test::random_ppca(6, 3, 0.3, 9);
  PpcaWithRoughEncoder model(ppca);
  auto x = test::draw_ppca(ppca, 5);
  auto options = ais_options(20, 10, AisInit::kEncoder, 5);
  auto whole = annealed_importance_sampling(model, x, options).weights.log_estimate;
  options.chunk = 3;
  auto chunked = annealed_importance_sampling(model, x, options).weights.log_estimate;
  EXPECT_TRUE(torch::allclose(whole, chunked, 1e-12, 1e-12));
  options.chunk = 0;
  auto first = annealed_importance_sampling(model, x.slice(0, 0, 2), options).weights.log_estimate;
  options.first_example = 2;
  auto rest = annealed_importance_sampling(model, x.slice(0, 2, 5), options).weights.log_estimate;
  EXPECT_TRUE(torch::allclose(whole, torch::cat({first, rest}), 1e-12, 1e-12));
  // And without a seed, two calls draw differently.
  options.seed.reset();
  options.first_example = 0;
  auto fresh = annealed_importance_sampling(model, x, options).weights.log_estimate;
  EXPECT_FALSE(torch::allclose(whole, fresh, 1e-6, 1e-6));
}

TEST(Ais, AMaskedEntryNeverInfluencesTheEstimate) {
  PpcaImpl ppca = test::random_ppca(6, 2, 0.5, 10);
  PpcaWithRoughEncoder model(ppca);
  auto x = test::draw_ppca(ppca, 3);
  auto mask = torch::ones_like(x);
  mask.slice(1, 3, 6).zero_();
  auto changed = x.clone();
  changed.slice(1, 3, 6).fill_(1e6);
  for (auto init : {AisInit::kPrior, AisInit::kEncoder}) {
    auto short_run = ais_options(50, 8, init, 3);
    EXPECT_TRUE(torch::allclose(annealed_importance_sampling(model, x, short_run, mask).weights.log_estimate,
                                annealed_importance_sampling(model, changed, short_run, mask).weights.log_estimate,
                                1e-12, 1e-12));
    auto masked = annealed_importance_sampling(model, x, ais_options(500, 128, init, 3), mask);
    expect_near_exact(masked, *ppca.closed_form_log_marginal(x, mask), to_string(init));
  }
}

TEST(Ais, ReportsAcceptancePerBandAndIsRegistered) {
  PpcaImpl ppca = test::random_ppca(6, 2, 0.3, 11);
  auto x = test::draw_ppca(ppca, 3);
  auto options = ais_options(400, 8, AisInit::kPrior);
  Estimate e = estimate("ais", ppca, x, options);
  ASSERT_TRUE(e.acceptance.has_value());
  ASSERT_TRUE(e.weights.has_value());
  double proposed = 0;
  for (double p : e.acceptance->proposed) proposed += p;
  EXPECT_EQ(proposed, 399.0 * 8 * 3);       // a transition at every beta but the last
  EXPECT_GT(e.acceptance->overall(), 0.4);  // adapted toward 0.65
  EXPECT_LT(e.acceptance->overall(), 0.95);
  EXPECT_TRUE(estimator_registry().at("ais").applies(ppca));
}

TEST(Ais, RefusesModelsWithoutAContinuousLatent) {
  SigmoidBeliefNet sbn(test::sbn_options(4), DataShape{6, {}});
  auto x = torch::bernoulli(torch::full({2, 6}, 0.5));
  EXPECT_FALSE(ais_applies(*sbn));
  EXPECT_THROW(annealed_importance_sampling(*sbn, x, ais_options(10, 4, AisInit::kPrior)), Error);
}

TEST(Bdmc, BracketsPpcasExactMarginalAndClosesAsTGrows) {
  // On data simulated with its latents: the forward bound below the exact
  // value, the reverse one above (both stochastic: up to their Monte Carlo
  // error), and the gap shrinking as T grows.
  PpcaImpl ppca = test::random_ppca(6, 2, 0.3, 12);
  PpcaWithRoughEncoder model(ppca);
  torch::manual_seed(13);
  auto z = torch::randn({6, 2}, kF64);
  auto x = ppca.likelihood(z.unsqueeze(0))->sample(1).squeeze(0).squeeze(0);
  const double exact = ppca.closed_form_log_marginal(x)->mean().item<double>();
  double previous_gap = INFINITY;
  for (int64_t steps : {30, 300, 1000}) {
    auto result = bidirectional_monte_carlo(model, x, z, ais_options(steps, 32, AisInit::kPrior, 17));
    // The Monte Carlo error of the mean over the examples of log p_hat (delta method).
    auto relative_stderr = (result.forward.weights.log_stderr - result.forward.weights.log_estimate).exp();
    const double noise = 3 * relative_stderr.pow(2).sum().sqrt().item<double>() / 6 + 0.01;
    EXPECT_LT(result.lower.mean().item<double>(), exact + noise) << steps;
    EXPECT_GT(result.upper.mean().item<double>(), exact - noise) << steps;
    const double gap = (result.upper - result.lower).mean().item<double>();
    EXPECT_LT(gap, previous_gap) << steps;
    previous_gap = gap;
  }
  EXPECT_LT(previous_gap, 0.1);
  EXPECT_THROW(bidirectional_monte_carlo(model, x, z.slice(0, 0, 2), ais_options(5, 2, AisInit::kPrior)), Error);
}

}  // namespace
}  // namespace dgm
