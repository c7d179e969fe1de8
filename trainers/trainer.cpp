#include "trainers/trainer.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <vector>

#include "core/error.h"
#include "core/interrupt.h"
#include "core/memory_budget.h"
#include "core/progress.h"
#include "core/random.h"
#include "estimators/classification.h"
#include "estimators/elbo.h"
#include "models/class_latent.h"
#include "trainers/data_parallel.h"

namespace dgm {
namespace {

using Clock = std::chrono::steady_clock;

// Independent random streams derived from the one seed.
enum Stream : uint64_t {
  kStepStream = 1,
  kEpochStream = 2,
  kValidationStream = 3,
  kFixedBinarization = 4,
  kObjectiveValidationStream = 5,
  kLabelledStream = 6
};

uint64_t stream_seed(uint64_t seed, Stream stream, uint64_t index = 0) {
  return derive_seed(derive_seed(seed, stream), index);
}

/// Losses of recent steps, kept on the device and checked together, so a CUDA
/// step does not wait for the host to read its loss back.
class LossWindow {
 public:
  explicit LossWindow(int64_t capacity) : capacity_(capacity) {}
  bool full() const { return static_cast<int64_t>(losses_.size()) >= capacity_; }
  void add(torch::Tensor loss, int64_t step, int64_t examples) {
    losses_.push_back(std::move(loss));
    steps_.push_back(step);
    examples_.push_back(examples);
  }
  /// Checks every loss; returns the sum of per-example losses. Throws on the
  /// first non-finite one, naming its step.
  double flush() {
    if (losses_.empty()) return 0.0;
    auto values = torch::stack(losses_).to(torch::kCPU, torch::kFloat64);
    auto* data = values.data_ptr<double>();
    double sum = 0.0;
    for (std::size_t i = 0; i < losses_.size(); ++i) {
      if (!std::isfinite(data[i]))
        fail(
            "training stopped: the loss became {} at step {}; the last good checkpoint is kept. Lower train.lr, "
            "set train.grad_clip, or check the data",
            data[i], steps_[i]);
      sum += data[i] * static_cast<double>(examples_[i]);
      last_ = data[i];
    }
    losses_.clear();
    steps_.clear();
    examples_.clear();
    return sum;
  }
  double last() const { return last_; }

 private:
  int64_t capacity_;
  std::vector<torch::Tensor> losses_;
  std::vector<int64_t> steps_, examples_;
  double last_ = 0.0;
};

/// After the first backward pass: every parameter must have a gradient, or
/// training would never change it (an objective that draws a discrete latent
/// without a score-function term gives its proposal none).
void check_gradients_reach(torch::nn::Module& model, const std::string& objective) {
  std::vector<std::string> unreached;
  for (const auto& item : model.named_parameters())
    if (!item.value().grad().defined()) unreached.push_back(item.key());
  if (unreached.empty()) return;
  fail(
      "train.objective = {} gives no gradient to {} of the model's parameters ({}{}), so training would never change "
      "them; choose an objective that reaches them (for model.type m2: class_elbo, which sums over the class y)",
      objective, unreached.size(), unreached.front(), unreached.size() > 1 ? ", ..." : "");
}

}  // namespace

BatchPlan::BatchPlan(const ImageSet& train, bool use_labels, const TrainerOptions& options)
    : examples_(train.size()),
      pool_size_(train.size()),
      batch_size_(options.batch_size),
      seed_(options.seed),
      device_(train.x.device()) {
  if (!use_labels || !train.labels.defined()) return;
  labels_ = train.labels.to(device_);
  auto known = (labels_ >= 0).nonzero().flatten(), hidden = (labels_ < 0).nonzero().flatten();
  if (known.numel() == 0 || hidden.numel() == 0) return;  // all hidden or all known: plain batches, with labels
  pool_ = hidden;
  known_ = known;
  pool_size_ = hidden.numel();
  const double share = static_cast<double>(options.batch_size) * known.numel() / hidden.numel();
  labelled_batch_ = options.labelled_batch_size > 0 ? options.labelled_batch_size
                                                    : std::max<int64_t>(1, static_cast<int64_t>(std::lround(share)));
}

BatchPlan::Batch BatchPlan::batch(int64_t epoch, int64_t b, int64_t step) const {
  if (epoch != cached_epoch_) {
    epoch_batches_ =
        std::make_shared<EpochBatches>(pool_size_, batch_size_, stream_seed(seed_, kEpochStream, epoch), device_);
    cached_epoch_ = epoch;
  }
  Batch out;
  out.index = epoch_batches_->indices(b);
  if (pool_.defined()) out.index = pool_.index_select(0, out.index);
  if (!mixes_labelled()) {
    if (labels_.defined()) out.labels = labels_.index_select(0, out.index);
    return out;
  }
  const auto options = torch::TensorOptions().device(device_).dtype(torch::kFloat64);
  const int64_t unlabelled = out.index.numel();
  // The labelled rows of this step: positions step * B_l ... of the endless
  // sequence of their permutations, one permutation per pass through them.
  const int64_t known = known_.numel();
  std::vector<int64_t> picked;
  for (int64_t i = 0; i < labelled_batch_; ++i) {
    const int64_t position = step * labelled_batch_ + i, cycle = position / known;
    if (cycle != cached_cycle_) {
      seed_everything(stream_seed(seed_, kLabelledStream, static_cast<uint64_t>(cycle)));
      cached_order_ = torch::randperm(known, torch::TensorOptions().dtype(torch::kLong));
      cached_cycle_ = cycle;
    }
    picked.push_back(cached_order_[position % known].item<int64_t>());
  }
  auto labelled = known_.index_select(0, torch::tensor(picked, torch::kLong).to(device_));
  const double n = static_cast<double>(examples_), n_u = static_cast<double>(pool_size_);
  out.weights = torch::cat({torch::full({unlabelled}, n_u / (n * unlabelled), options),
                            torch::full({labelled_batch_}, known / (n * labelled_batch_), options)});
  out.index = torch::cat({out.index, labelled});
  out.labels = labels_.index_select(0, out.index);
  return out;
}

void check_trainer_options(const TrainerOptions& options, const std::string& where) {
  check_options(options, where);
  for (std::size_t i = 1; i < options.lr_milestones.size(); ++i)
    if (options.lr_milestones[i] <= options.lr_milestones[i - 1])
      fail("{}: train.lr_milestones must increase, got {} after {}", where, options.lr_milestones[i],
           options.lr_milestones[i - 1]);
  if (options.validation_batch_size < 1)
    fail("{}: validation_batch_size = {} must be at least 1", where, options.validation_batch_size);
}

double learning_rate_at(const TrainerOptions& options, int64_t epoch) {
  double lr = options.lr;
  for (const auto milestone : options.lr_milestones)
    if (epoch >= milestone) lr *= options.lr_gamma;
  return lr;
}

Trainer::Trainer(std::shared_ptr<TrainableModel> model, Objective objective, TrainerOptions options)
    : model_(std::move(model)), objective_(std::move(objective)), options_(std::move(options)) {
  check_trainer_options(options_, "TrainerOptions");
}

double Trainer::mean_over(const torch::Tensor& x, uint64_t seed,
                          const std::function<torch::Tensor(const torch::Tensor&)>& per_example) {
  seed_everything(seed);
  double sum = 0.0;
  for (int64_t start = 0; start < x.size(0); start += options_.validation_batch_size) {
    auto batch = x.slice(0, start, std::min(x.size(0), start + options_.validation_batch_size));
    sum += per_example(batch).sum().item<double>();
  }
  return sum / static_cast<double>(x.size(0));
}

double Trainer::validate_elbo(const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  model_->eval();
  const double value = mean_over(x, stream_seed(options_.seed, kValidationStream),
                                 [&](const torch::Tensor& batch) { return elbo(*model_, batch).elbo; });
  model_->train();
  return value;
}

std::vector<std::pair<std::string, double>> Trainer::validate(const torch::Tensor& x, double* objective_value,
                                                              const torch::Tensor& labels) {
  std::vector<std::pair<std::string, double>> metrics{{"val_elbo", validate_elbo(x)}};
  torch::NoGradGuard no_grad;
  if (objective_.is_plain_elbo()) {
    *objective_value = metrics.front().second;
  } else {
    model_->eval();
    *objective_value = mean_over(x, stream_seed(options_.seed, kObjectiveValidationStream),
                                 [&](const torch::Tensor& batch) { return objective_.value(*model_, batch); });
    model_->train();
    const auto& entry = estimator_registry().at(objective_.estimator());
    std::string key = "val_" + objective_.estimator();
    if (entry.takes_k) key += fmt::format("_k{}", objective_.options().k);
    metrics.emplace_back(key, *objective_value);
  }
  ClassLatentModel* classes = class_latent(*model_);
  if (classes != nullptr && labels.defined() && (labels >= 0).any().item<bool>()) {
    model_->eval();
    const auto guess = amortised_classes(*classes, x, options_.validation_batch_size).cpu();
    model_->train();
    metrics.emplace_back("val_accuracy", accuracy(labels.cpu(), guess));
  }
  return metrics;
}

TrainResult Trainer::fit(const ImageSet& train, const ImageSet& validation) {
  torch::optim::Adam optimizer(model_->parameters(), torch::optim::AdamOptions(options_.lr).eps(options_.adam_eps));
  const bool closed_form = model_->fits_in_closed_form();
  torch::optim::Optimizer* kept_optimizer = closed_form ? nullptr : &optimizer;
  TrainingState state;
  for (auto* callback : callbacks_) callback->on_start(*model_, kept_optimizer, state);
  Collectives& group = options_.processes != nullptr ? *options_.processes : single_process();
  const int64_t parts = closed_form ? 1 : group.size() * options_.micro_batches;
  if (state.step > 0 && state.batch_parts != parts)
    fail(
        "cannot resume: the run split each step's batch into {} parts (processes x train.micro_batches), this one "
        "would split it into {} ({} processes x {}); each part draws its own samples, so the continued run would not "
        "be the run it continues. Resume with processes x train.micro_batches = {}",
        state.batch_parts, parts, group.size(), options_.micro_batches, state.batch_parts);
  state.batch_parts = parts;
  if (!closed_form && options_.batch_size < parts)
    fail("train.batch_size = {} cannot be split into {} parts ({} processes x train.micro_batches = {}): raise it",
         options_.batch_size, parts, group.size(), options_.micro_batches);
  broadcast_parameters(group, *model_);
  // Over several processes the gradients live in flat buffers that are
  // summed as they are, with the step's loss and stop flag riding along;
  // made after the first step's gradients are checked (views would look like
  // gradients that reached every parameter).
  std::optional<GradientBuckets> gradient_buckets;

  const int64_t n = train.size();
  // One step holds k decoder outputs per example of a batch (the outputs,
  // their probabilities, the gradient, x broadcast): refused before the
  // allocator would be, naming the options.
  check_memory(saturating_product({static_cast<uint64_t>(objective_.options().k),
                                   static_cast<uint64_t>(std::min(options_.batch_size, std::max<int64_t>(n, 1))),
                                   static_cast<uint64_t>(train.x.numel() / std::max<int64_t>(n, 1)), 4,
                                   static_cast<uint64_t>(train.x.element_size())}),
               fmt::format("training with train.k = {} samples for each of train.batch_size = {} examples",
                           objective_.options().k, options_.batch_size),
               "lower train.k or train.batch_size");
  const BatchPlan plan(train, objective_.takes_labels(), options_);
  if (plan.labelled() > 0) objective_.set_label_counts(plan.examples(), plan.labelled());
  // A closed-form fit is one step of one epoch.
  const int64_t steps_per_epoch = closed_form ? 1 : plan.steps_per_epoch();
  const int64_t first_step = state.step;
  const int64_t total_steps = closed_form ? 1 : options_.epochs * steps_per_epoch;
  const bool dynamic = options_.binarize == Binarization::kDynamic;
  const torch::Tensor train_x = options_.binarize == Binarization::kFixed
                                    ? binarize_seeded(train.x, stream_seed(options_.seed, kFixedBinarization))
                                    : train.x;
  // Validation data is binarized once, so epochs are compared on the same data.
  const torch::Tensor validation_x =
      options_.binarize == Binarization::kNone
          ? validation.x
          : binarize_seeded(validation.x, stream_seed(options_.seed, kFixedBinarization, 1));

  // Ctrl-C stops after the current step (or, at an epoch's end, after its
  // validation and checkpoint), never between a step and its checkpoint.
  const StopAtSafePoint interrupt_scope(
      "\ndgm: Ctrl-C: stopping after the current step and saving a checkpoint (Ctrl-C again quits at once, keeping "
      "the previous checkpoint)\n");
  model_->train();
  TrainResult result;
  result.best_validation = state.best_validation;
  const int64_t epochs = closed_form ? 1 : options_.epochs;
  while (state.step < total_steps) {
    const int64_t epoch = state.step / steps_per_epoch;
    const int64_t first_batch = state.step % steps_per_epoch;
    // The schedule is a function of the epoch, so a resumed run follows it too.
    const double lr = learning_rate_at(options_, epoch);
    for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
    Progress progress(fmt::format("epoch {}/{}", epoch + 1, epochs), steps_per_epoch, "img", options_.progress);
    LossWindow window(20);
    const auto epoch_start = Clock::now();
    int64_t examples_here = 0, examples_unreported = 0;
    bool stop = false;
    if (closed_form) {
      seed_everything(stream_seed(options_.seed, kStepStream, 0));
      model_->fit_closed_form(dynamic ? binarize(train_x) : train_x);
      ++state.step;
      examples_here = n;
      progress.update(1, n, 0.0);
    } else {
      for (int64_t b = first_batch; b < steps_per_epoch; ++b) {
        const BatchPlan::Batch batch = plan.batch(epoch, b, state.step);
        if (gradient_buckets)
          gradient_buckets->zero();
        else
          optimizer.zero_grad();
        objective_.on_step(state.step);
        const int64_t rows = batch.index.numel();
        torch::Tensor loss;  // this process's share of the step's loss
        bool computed = false;
        for (int64_t m = 0; m < options_.micro_batches; ++m) {
          const int64_t part = group.rank() * options_.micro_batches + m;
          const auto [begin, end] = shard_of(rows, static_cast<int>(part), static_cast<int>(parts));
          if (begin == end) continue;
          // One part: the draws of the whole batch, as before parts existed.
          const uint64_t step_seed = stream_seed(options_.seed, kStepStream, state.step);
          seed_everything(parts == 1 ? step_seed : derive_seed(step_seed, static_cast<uint64_t>(part)));
          const auto index = batch.index.slice(0, begin, end);
          auto x = train_x.index_select(0, index);
          if (dynamic) x = binarize(x);
          if (state.step == first_step && !computed) objective_.check_trainable(*model_, x);
          auto bound =
              objective_.bound(*model_, x, batch.labels.defined() ? batch.labels.slice(0, begin, end) : batch.labels);
          torch::Tensor part_loss;
          if (batch.weights.defined())
            part_loss = -(bound * batch.weights.slice(0, begin, end).to(bound.dtype())).sum();
          else if (parts == 1)
            part_loss = -bound.mean();
          else  // its share of the batch's mean
            part_loss = -bound.sum() / static_cast<double>(rows);
          part_loss.backward();
          loss = computed ? loss + part_loss.detach() : part_loss.detach();
          computed = true;
        }
        if (state.step == first_step && computed) check_gradients_reach(*model_, objective_.name());
        if (group.size() > 1 && !gradient_buckets) gradient_buckets.emplace(*model_, 2);
        bool stop_here = stop_requested();
        if (gradient_buckets) {
          // The step's loss, and whether any process was asked to stop: every
          // process stops after the same step.
          std::vector<double> shared{computed ? loss.item<double>() : 0.0, stop_here ? 1.0 : 0.0};
          gradient_buckets->all_reduce(group, shared);
          loss = torch::tensor(shared[0], torch::kFloat64);
          stop_here = shared[1] > 0.0;
        }
        if (options_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model_->parameters(), options_.grad_clip);
        optimizer.step();
        window.add(loss, state.step, rows);
        ++state.step;
        examples_here += rows;
        examples_unreported += rows;
        state.epoch_examples += rows;
        stop = stop_here || (options_.stop_after_steps > 0 && state.step >= options_.stop_after_steps);
        if (window.full() || stop || b + 1 == steps_per_epoch) {
          state.epoch_loss_sum += window.flush();
          progress.update(b + 1, examples_unreported, window.last());
          examples_unreported = 0;
        }
        if (stop) break;
      }
    }
    progress.finish();
    const double train_seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count();
    // A stop after an epoch's last step still validates and saves the epoch,
    // so that a resumed run does not skip its validation.
    if (stop && state.step % steps_per_epoch != 0) {
      for (auto* callback : callbacks_) callback->on_stop(*model_, kept_optimizer, state);
      result.interrupted = true;
      break;
    }
    EpochReport report;
    report.validation = validate(validation_x, &report.objective_value, validation.labels);
    if (group.size() > 1) {
      check_same_parameters(group, *model_, state.step);
      // Every process validated alike; rank 0's figures decide, so that the
      // processes agree on the best epoch whatever the last bit.
      std::vector<double> values{report.objective_value};
      for (const auto& entry : report.validation) values.push_back(entry.second);
      auto shared = torch::tensor(values, torch::kFloat64);
      group.broadcast(shared, 0);
      report.objective_value = shared[0].item<double>();
      for (std::size_t i = 0; i < report.validation.size(); ++i)
        report.validation[i].second = shared[static_cast<int64_t>(i) + 1].item<double>();
    }
    report.train_loss = state.epoch_loss_sum / static_cast<double>(std::max<int64_t>(1, state.epoch_examples));
    report.improved = report.objective_value > state.best_validation;
    if (report.improved) state.best_validation = report.objective_value;
    state.epoch_loss_sum = 0.0;
    state.epoch_examples = 0;
    report.epoch = epoch + 1;
    report.lr = lr;
    report.step = state.step;
    report.images_per_s = static_cast<double>(examples_here) / std::max(train_seconds, 1e-9);
    report.seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count();
    for (auto* callback : callbacks_) callback->on_epoch_end(report, *model_, kept_optimizer, state);
    if (options_.progress) {
      std::string bounds, accuracy;  // the other bounds in nats, then the classifier's accuracy
      for (std::size_t i = 1; i < report.validation.size(); ++i) {
        const auto& [key, value] = report.validation[i];
        if (key == "val_accuracy")
          accuracy = fmt::format(", q(y|x) accuracy {:.4f}", value);
        else
          bounds += fmt::format(", {} {:.3f}", key.substr(4), value);
      }
      fmt::print(stderr, "epoch {}/{}: train loss {:.3f}, validation ELBO {:.3f}{} nats{}, {:.0f} img/s, {:.1f} s\n",
                 report.epoch, epochs, report.train_loss, report.validation.front().second, bounds, accuracy,
                 report.images_per_s, report.seconds);
    }
    result.last_validation = report.objective_value;
    if (stop || stop_requested()) {  // asked during the validation: the epoch is saved, stop here
      result.interrupted = true;
      break;
    }
  }
  result.step = state.step;
  result.epochs_completed = state.step / steps_per_epoch;
  result.best_validation = state.best_validation;
  return result;
}

}  // namespace dgm
