#include "trainers/trainer.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>

#include "core/config.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/random.h"
#include "estimators/elbo.h"
#include "trainers/checkpoint.h"

namespace dgm {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Independent random streams derived from the one seed.
enum Stream : uint64_t { kStepStream = 1, kEpochStream = 2, kValidationStream = 3, kFixedBinarization = 4 };

uint64_t stream_seed(uint64_t seed, Stream stream, uint64_t index = 0) {
  return derive_seed(derive_seed(seed, stream), index);
}

std::atomic<bool> g_stop_requested{false};

extern "C" void on_interrupt(int) {
  g_stop_requested = true;
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

/// Installs the Ctrl-C handler for the lifetime of one fit().
class InterruptScope {
 public:
  InterruptScope() {
    g_stop_requested = false;
    previous_ = std::signal(SIGINT, on_interrupt);
  }
  ~InterruptScope() { std::signal(SIGINT, previous_); }

 private:
  void (*previous_)(int);
};

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

void append_line(const std::string& path, const std::string& line) {
  std::ofstream out(path, std::ios::app);
  out << line << '\n';
  out.flush();
  if (!out) fail("cannot append to {}", path);
}

}  // namespace

std::string last_checkpoint_path(const std::string& run_dir) { return (fs::path(run_dir) / "last.pt").string(); }
std::string best_checkpoint_path(const std::string& run_dir) { return (fs::path(run_dir) / "best.pt").string(); }

void request_stop() { g_stop_requested = true; }

TrainerOptions TrainerOptions::from_config(const TrainConfig& train, const std::string& binarize,
                                           const std::string& out_dir) {
  TrainerOptions options;
  options.epochs = train.epochs;
  options.batch_size = train.batch_size;
  options.lr = train.lr;
  options.adam_eps = train.adam_eps;
  options.lr_milestones = train.lr_milestones;
  options.lr_gamma = train.lr_gamma;
  options.seed = train.seed;
  options.grad_clip = train.grad_clip;
  options.binarize = binarize;
  options.out_dir = out_dir;
  return options;
}

double learning_rate_at(const TrainerOptions& options, int64_t epoch) {
  double lr = options.lr;
  for (const auto milestone : options.lr_milestones)
    if (epoch >= milestone) lr *= options.lr_gamma;
  return lr;
}

Trainer::Trainer(std::shared_ptr<TrainableModel> model, std::unique_ptr<Objective> objective, TrainerOptions options)
    : model_(std::move(model)), objective_(std::move(objective)), options_(std::move(options)) {
  TORCH_CHECK(options_.lr > 0, "Invalid learning rate: ", options_.lr);
  TORCH_CHECK(options_.batch_size > 0, "Invalid batch size: ", options_.batch_size);
  TORCH_CHECK(options_.epochs >= 0, "Invalid number of epochs: ", options_.epochs);
  TORCH_CHECK(!options_.out_dir.empty(), "Trainer needs an output directory");
}

double Trainer::validate(const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  model_->eval();
  seed_everything(stream_seed(options_.seed, kValidationStream));
  double sum = 0.0;
  for (int64_t start = 0; start < x.size(0); start += options_.validation_batch_size) {
    auto batch = x.slice(0, start, std::min(x.size(0), start + options_.validation_batch_size));
    sum += elbo(*model_, batch).elbo.sum().item<double>();
  }
  model_->train();
  return sum / static_cast<double>(x.size(0));
}

TrainResult Trainer::fit(const ImageSet& train, const ImageSet& validation) {
  fs::create_directories(options_.out_dir);
  const std::string last_path = last_checkpoint_path(options_.out_dir);
  const std::string best_path = best_checkpoint_path(options_.out_dir);
  const std::string metrics_path = (fs::path(options_.out_dir) / "metrics.jsonl").string();

  torch::optim::Adam optimizer(model_->parameters(), torch::optim::AdamOptions(options_.lr).eps(options_.adam_eps));
  TrainingState state;
  if (options_.resume) {
    if (!fs::exists(last_path)) fail("--resume: {} has no checkpoint last.pt to continue from", options_.out_dir);
    state = load_checkpoint(last_path, *model_, &optimizer);
  }

  const int64_t n = train.size();
  const int64_t steps_per_epoch = (n + options_.batch_size - 1) / options_.batch_size;
  const int64_t total_steps = options_.epochs * steps_per_epoch;
  const bool dynamic = options_.binarize == "dynamic";
  const torch::Tensor train_x =
      options_.binarize == "fixed" ? binarize_seeded(train.x, stream_seed(options_.seed, kFixedBinarization)) : train.x;
  // Validation data is binarized once, so epochs are compared on the same data.
  const torch::Tensor validation_x =
      options_.binarize == "none" ? validation.x
                                  : binarize_seeded(validation.x, stream_seed(options_.seed, kFixedBinarization, 1));

  InterruptScope interrupt_scope;
  model_->train();
  TrainResult result;
  result.best_validation = state.best_validation;
  while (state.step < total_steps) {
    const int64_t epoch = state.step / steps_per_epoch;
    const int64_t first_batch = state.step % steps_per_epoch;
    // The schedule is a function of the epoch, so a resumed run follows it too.
    const double lr = learning_rate_at(options_, epoch);
    for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
    EpochBatches batches(n, options_.batch_size, stream_seed(options_.seed, kEpochStream, epoch), train_x.device());
    Progress progress(fmt::format("epoch {}/{}", epoch + 1, options_.epochs), steps_per_epoch, "img",
                      options_.progress);
    LossWindow window(20);
    const auto epoch_start = Clock::now();
    int64_t examples_here = 0, examples_unreported = 0;
    bool stop = false;
    for (int64_t b = first_batch; b < steps_per_epoch; ++b) {
      seed_everything(stream_seed(options_.seed, kStepStream, state.step));
      auto x = train_x.index_select(0, batches.indices(b));
      if (dynamic) x = binarize(x);
      optimizer.zero_grad();
      objective_->on_step(state.step);
      auto loss = -objective_->bound(*model_, x).mean();
      loss.backward();
      if (options_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model_->parameters(), options_.grad_clip);
      optimizer.step();
      window.add(loss.detach(), state.step, x.size(0));
      ++state.step;
      examples_here += x.size(0);
      examples_unreported += x.size(0);
      state.epoch_examples += x.size(0);
      stop = g_stop_requested || (options_.stop_after_steps > 0 && state.step >= options_.stop_after_steps);
      if (window.full() || stop || b + 1 == steps_per_epoch) {
        state.epoch_loss_sum += window.flush();
        progress.update(b + 1, examples_unreported, window.last());
        examples_unreported = 0;
      }
      if (stop) break;
    }
    progress.finish();
    const double train_seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count();
    if (stop) {
      save_checkpoint(last_path, *model_, &optimizer, state);
      result.interrupted = true;
      break;
    }
    const double validation_elbo = validate(validation_x);
    const double train_loss = state.epoch_loss_sum / static_cast<double>(std::max<int64_t>(1, state.epoch_examples));
    if (validation_elbo > state.best_validation) {
      state.best_validation = validation_elbo;
      save_checkpoint(best_path, *model_, nullptr, state);
    }
    state.epoch_loss_sum = 0.0;
    state.epoch_examples = 0;
    save_checkpoint(last_path, *model_, &optimizer, state);
    const double seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count();
    const double images_per_s = static_cast<double>(examples_here) / std::max(train_seconds, 1e-9);
    append_line(metrics_path, nlohmann::json{{"epoch", epoch + 1},
                                             {"lr", lr},
                                             {"step", state.step},
                                             {"train_loss", train_loss},
                                             {"val_elbo", validation_elbo},
                                             {"images_per_s", images_per_s},
                                             {"seconds", seconds}}
                                  .dump());
    if (options_.progress)
      fmt::print(stderr, "epoch {}/{}: train loss {:.3f}, validation ELBO {:.3f} nats, {:.0f} img/s, {:.1f} s\n",
                 epoch + 1, options_.epochs, train_loss, validation_elbo, images_per_s, seconds);
    result.last_validation = validation_elbo;
  }
  result.step = state.step;
  result.epochs_completed = state.step / steps_per_epoch;
  result.best_validation = state.best_validation;
  return result;
}

}  // namespace dgm
