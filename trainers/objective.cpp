#include "trainers/objective.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "core/error.h"

namespace dgm {

std::vector<std::string> training_objective_names() {
  std::vector<std::string> names;
  for (const auto& entry : estimator_registry().entries())
    if (entry.differentiable) names.push_back(entry.name);
  return names;
}

void check_objective_options(const ObjectiveOptions& options, const std::string& where) {
  check_options(options, where);
  const EstimatorEntry& entry = estimator_registry().at(options.objective);
  if (!entry.differentiable)
    fail("{}: train.objective = {} cannot be trained: use one of {}", where, options.objective,
         join_choices(training_objective_names(), ", "));
  if (options.gradient == Gradient::kDreg && !entry.takes_gradient)
    fail(
        "{}: train.gradient = dreg is the IWAE bound's gradient: set train.objective=iwae (with k = 1 it is the "
        "'sticking the landing' ELBO gradient)",
        where);
  if (!entry.takes_surrogates && (options.beta != 1.0 || options.warmup_steps > 0 || options.free_bits > 0))
    fail("{}: train.beta, train.warmup_steps and train.free_bits shape the elbo objective, not {}", where,
         options.objective);
  if (!entry.takes_labels && options.alpha != ObjectiveOptions{}.alpha)
    fail("{}: train.alpha weighs the labelled examples of an objective that takes labels (class_elbo), not {}", where,
         options.objective);
}

Objective::Objective(ObjectiveOptions options) : options_(std::move(options)) {
  check_objective_options(options_, "ObjectiveOptions");
  entry_ = &estimator_registry().at(options_.objective);
  estimator_options_.k = options_.k;
  estimator_options_.gradient = options_.gradient;
  estimator_options_.check_weights = false;  // the trainer checks the loss
  on_step(0);
}

void Objective::on_step(int64_t step) {
  double weight = options_.beta;
  if (options_.warmup_steps > 0)
    weight *= std::min(1.0, static_cast<double>(step) / static_cast<double>(options_.warmup_steps));
  estimator_options_.kl_weight = weight;
  estimator_options_.free_bits = options_.free_bits;
}

torch::Tensor Objective::bound(LatentVariableModel& model, const torch::Tensor& x, const torch::Tensor& labels) {
  if (!labels.defined() || !entry_->takes_labels) return entry_->estimate(model, x, estimator_options_, {}).objective;
  EstimatorOptions with_labels = estimator_options_;
  with_labels.labels = labels;
  return entry_->estimate(model, x, with_labels, {}).objective;
}

bool Objective::takes_labels() const { return entry_->takes_labels; }

void Objective::check_trainable(LatentVariableModel& model, const torch::Tensor& x) const {
  if (!entry_->reparameterized) return;
  torch::NoGradGuard no_grad;
  auto q = model.proposal(x.slice(0, 0, std::min<int64_t>(1, x.size(0))));
  if (q->has_rsample()) return;
  std::vector<std::string> better;
  for (const auto& entry : estimator_registry().entries())
    if (entry.differentiable && !entry.reparameterized && (!entry.applies || entry.applies(model)))
      better.push_back(entry.name);
  fail(
      "train.objective = {} draws z from the proposal by the reparameterization trick, but {} has a proposal ({}) "
      "with a discrete part that has none, so its gradient would not reach it; use train.objective = {}",
      options_.objective, model.describe(), q->name(), join_choices(better));
}

void Objective::set_label_counts(int64_t examples, int64_t labelled) {
  estimator_options_.class_weight =
      labelled > 0 ? options_.alpha * static_cast<double>(examples) / static_cast<double>(labelled) : 0.0;
}

torch::Tensor Objective::value(LatentVariableModel& model, const torch::Tensor& x) {
  EstimatorOptions plain = estimator_options_;
  plain.kl_weight = 1.0;
  plain.free_bits = 0.0;
  plain.gradient = Gradient::kStandard;
  plain.check_weights = true;
  return entry_->estimate(model, x, plain, {}).value;
}

bool Objective::is_plain_elbo() const { return entry_ == &estimator_registry().at("elbo") && options_.k == 1; }

std::string Objective::name() const {
  std::vector<std::string> details;
  if (entry_->takes_k && (options_.k != 1 || entry_->takes_gradient))
    details.push_back(fmt::format("k={}", options_.k));
  if (options_.gradient == Gradient::kDreg) details.push_back("DReG");
  if (details.empty()) return options_.objective;
  return fmt::format("{} ({})", options_.objective, fmt::join(details, ", "));
}

}  // namespace dgm
