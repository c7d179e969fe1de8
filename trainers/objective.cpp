#include "trainers/objective.h"

#include <fmt/format.h>

#include "core/config.h"
#include "core/error.h"
#include "estimators/elbo.h"
#include "estimators/exact_marginal.h"
#include "estimators/iwae_bound.h"

namespace dgm {
namespace {

class ElboObjective : public Objective {
 public:
  explicit ElboObjective(int64_t samples) : samples_(samples) {}
  torch::Tensor bound(LatentVariableModel& model, const torch::Tensor& x) override {
    return elbo(model, x, ElboOptions{samples_, true}).elbo;
  }
  std::string name() const override { return samples_ == 1 ? "elbo" : fmt::format("elbo (k={})", samples_); }

 private:
  int64_t samples_;
};

class IwaeObjective : public Objective {
 public:
  explicit IwaeObjective(int64_t k) : k_(k) {}
  torch::Tensor bound(LatentVariableModel& model, const torch::Tensor& x) override {
    IwaeOptions options;
    options.k = k_;
    options.check_weights = false;  // the trainer checks the loss
    return iwae_bound(model, x, options);
  }
  std::string name() const override { return fmt::format("iwae (k={})", k_); }

 private:
  int64_t k_;
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

std::unique_ptr<Objective> make_elbo_objective(int64_t samples) { return std::make_unique<ElboObjective>(samples); }

std::unique_ptr<Objective> make_iwae_objective(int64_t k) { return std::make_unique<IwaeObjective>(k); }

std::unique_ptr<Objective> make_objective(const TrainConfig& config) {
  if (config.objective == "elbo") return make_elbo_objective(config.k);
  if (config.objective == "iwae") return make_iwae_objective(config.k);
  if (config.objective == "exact") return make_exact_objective();
  fail("unknown train.objective '{}': use elbo, iwae or exact", config.objective);
}

}  // namespace dgm
