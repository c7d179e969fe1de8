#include "trainers/objective.h"

#include <fmt/format.h>

#include "core/config.h"
#include "core/error.h"
#include "estimators/elbo.h"
#include "estimators/exact_marginal.h"
#include "estimators/iwae_bound.h"
#include "estimators/iwae_dreg.h"

namespace dgm {
namespace {

class ElboObjective : public Objective {
 public:
  explicit ElboObjective(const ElboObjectiveOptions& options) : options_(options), weight_(warmup_weight(0)) {}
  torch::Tensor bound(LatentVariableModel& model, const torch::Tensor& x) override {
    ElboOptions estimator;
    estimator.samples = options_.samples;
    estimator.kl_weight = weight_;
    estimator.free_bits = options_.free_bits;
    return elbo(model, x, estimator).objective;
  }
  void on_step(int64_t step) override { weight_ = warmup_weight(step); }
  std::string name() const override {
    return options_.samples == 1 ? "elbo" : fmt::format("elbo (k={})", options_.samples);
  }

 private:
  double warmup_weight(int64_t step) const {
    if (options_.warmup_steps <= 0) return options_.beta;
    return options_.beta * std::min(1.0, static_cast<double>(step) / static_cast<double>(options_.warmup_steps));
  }
  ElboObjectiveOptions options_;
  double weight_;
};

class IwaeObjective : public Objective {
 public:
  IwaeObjective(int64_t k, bool dreg) : k_(k), dreg_(dreg) {}
  torch::Tensor bound(LatentVariableModel& model, const torch::Tensor& x) override {
    if (dreg_) return iwae_bound_dreg(model, x, k_);
    IwaeOptions options;
    options.k = k_;
    options.check_weights = false;  // the trainer checks the loss
    return iwae_bound(model, x, options);
  }
  std::string name() const override { return fmt::format("iwae (k={}{})", k_, dreg_ ? ", DReG" : ""); }

 private:
  int64_t k_;
  bool dreg_;
};

class ExactObjective : public Objective {
 public:
  torch::Tensor bound(LatentVariableModel& model, const torch::Tensor& x) override {
    return exact_log_marginal(model, x);
  }
  std::string name() const override { return "exact log-likelihood"; }
};

}  // namespace

std::unique_ptr<Objective> make_exact_objective() { return std::make_unique<ExactObjective>(); }

std::unique_ptr<Objective> make_elbo_objective(int64_t samples) {
  ElboObjectiveOptions options;
  options.samples = samples;
  return make_elbo_objective(options);
}

std::unique_ptr<Objective> make_elbo_objective(const ElboObjectiveOptions& options) {
  return std::make_unique<ElboObjective>(options);
}

std::unique_ptr<Objective> make_iwae_objective(int64_t k, bool dreg) {
  return std::make_unique<IwaeObjective>(k, dreg);
}

std::unique_ptr<Objective> make_objective(const TrainConfig& config) {
  if (config.objective != "elbo" && (config.beta != 1.0 || config.warmup_steps > 0 || config.free_bits > 0))
    fail("train.beta, train.warmup_steps and train.free_bits shape the elbo objective, not {}", config.objective);
  if (config.objective == "elbo") {
    ElboObjectiveOptions options;
    options.samples = config.k;
    options.beta = config.beta;
    options.warmup_steps = config.warmup_steps;
    options.free_bits = config.free_bits;
    return make_elbo_objective(options);
  }
  if (config.objective == "iwae") return make_iwae_objective(config.k, config.gradient == "dreg");
  if (config.objective == "exact") return make_exact_objective();
  fail("unknown train.objective '{}': use elbo, iwae or exact", config.objective);
}

}  // namespace dgm
