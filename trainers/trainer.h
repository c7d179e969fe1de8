#pragma once
// The gradient trainer: Adam on the bound an Objective estimates, over
// shuffled mini-batches, with validation every epoch (the ELBO, and the
// objective's own estimate, which decides the best epoch), a clean stop on
// Ctrl-C, and callbacks for what a program keeps (run_directory.h writes
// checkpoints and metrics.jsonl; without callbacks the fit stays in memory).
// Models that fit in closed form (TrainableModel::fits_in_closed_form) are
// fitted once and validated as one epoch.
//
// Exact resume: before step s the generators are reseeded from (seed, s), and
// the order of epoch e from (seed, e), so a run continued from a checkpoint
// draws what an uninterrupted run would, without saving generator state.
//
// Data-parallel (TrainerOptions::processes, as PyTorch's
// DistributedDataParallel): every process holds the data and the model;
// rank 0's parameters are broadcast at the start; each step's batch, taken
// from the epoch's one shared permutation, is split into parts (processes x
// micro_batches), each part's draws seeded from (seed, step, part); the
// gradients are summed over the processes in buckets, so every process
// takes the same Adam step. Each part's loss is its share of the batch's
// mean, so the sum is the gradient of the whole batch's mean. Validation
// runs on every process (the same seeds, so the same figures; rank 0's are
// used), and the parameters are compared across processes after each epoch.

#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/collectives.h"
#include "core/dataset.h"
#include "core/interrupt.h"  // request_stop() stops a running fit()
#include "core/options.h"
#include "models/latent_variable_model.h"
#include "trainers/checkpoint.h"
#include "trainers/objective.h"

namespace dgm {

/// Where a run directory's epoch metrics go besides metrics.jsonl (which
/// dgm plot and --resume read, and is always written).
enum class LogTo {
  kJsonl,        ///< metrics.jsonl only
  kTensorBoard,  ///< also TensorBoard event files (core/tensorboard.h) in the run directory
};
DGM_ENUM_NAMES(LogTo, "log destination", {LogTo::kJsonl, "jsonl"}, {LogTo::kTensorBoard, "tensorboard"});

// clang-format off
#define DGM_TRAINER_OPTIONS(X)                                                                                    \
  X(int64_t, epochs, 10, "passes over the training examples", between(1, 1000000))                               \
  X(int64_t, batch_size, 128, "examples per Adam step", between(1, 1 << 24))                                      \
  X(double, lr, 1e-3, "Adam's learning rate", above(0))                                                           \
  X(double, adam_eps, 1e-8, "Adam's epsilon (the IWAE paper: 1e-4)", above(0))                                    \
  X(std::vector<int64_t>, lr_milestones, (std::vector<int64_t>{}),                                                \
    "epochs after which the learning rate is multiplied by lr_gamma, as PyTorch's MultiStepLR (the IWAE paper: "  \
    "[1, 4, 13, 40, 121, 364, 1093])", at_least(1))                                                               \
  X(double, lr_gamma, 0.1, "the factor of each milestone (the IWAE paper: 10^(-1/7) = 0.7197)", above(0))         \
  X(uint64_t, seed, 0, "fixes every draw: initialisation, split, batches, binarization, z", any_value())          \
  X(double, grad_clip, 0.0, "clip the gradient's global L2 norm to this value (0 = off)", at_least(0))          \
  X(int64_t, labelled_batch_size, 0,                                                                              \
    "with labels (train.objective class_elbo): labelled examples added to each step, cycling through them; "      \
    "epochs pass over the unlabelled ones (0 = in proportion to them, at least 1, as Kingma et al.'s code)",       \
    at_least(0))                                                                                                  \
  X(int64_t, micro_batches, 1,                                                                                    \
    "computes each step's batch in this many parts, one after another, their gradients summed: less memory for "  \
    "the same step; N processes split it into N x micro_batches parts, and 1 process with micro_batches = N "     \
    "trains as N processes do", between(1, 1 << 16))                                                              \
  X(LogTo, log_to, LogTo::kJsonl,                                                                                 \
    "jsonl (metrics.jsonl), or tensorboard: also TensorBoard event files in the run directory (scalars every "    \
    "epoch, the sample and reconstruction grids at the end)", any_value())
// clang-format on

struct TrainerOptions {
  DGM_TRAINER_OPTIONS(DGM_OPTION_MEMBER)
  // Not config keys: set by the program.
  /// How the training examples are binarized (a config's data.binarize). Default: dynamic.
  Binarization binarize = Binarization::kDynamic;
  /// Draw a progress bar / progress lines on stderr. Default: true.
  bool progress = true;
  /// Stop as if interrupted once this many steps are done (0 = never): lets
  /// tests cut a run short deterministically. Default: 0.
  int64_t stop_after_steps = 0;
  /// Examples per validation batch. Default: 1000.
  int64_t validation_batch_size = 1000;
  /// The processes training together (data-parallel, core/collectives.h);
  /// null: this one alone. Each step's batch is split among them, their
  /// gradients summed. Default: null. Not owned.
  Collectives* processes = nullptr;
};
DGM_OPTION_TABLE(TrainerOptions, DGM_TRAINER_OPTIONS)

/// Checks the options (each against its range, and the milestones
/// increasing); errors name `where`.
void check_trainer_options(const TrainerOptions& options, const std::string& where);

/// The learning rate of (0-based) `epoch` under the milestones: lr * gamma^(milestones passed).
double learning_rate_at(const TrainerOptions& options, int64_t epoch);

/// Which training examples each step takes, and how much each one's
/// objective counts. Plain training: a seeded permutation per epoch in
/// batches, each example 1/B. With an objective that takes labels and a
/// training split that has both labelled and hidden classes (semi-supervised,
/// Kingma et al. 2014): epochs pass over the hidden ones, and each step adds
/// labelled_batch_size labelled examples from their own seeded permutations,
/// cycled; an unlabelled example counts N_u / (N B_u), a labelled one
/// N_l / (N B_l), so that the step's sum estimates the objective's mean over
/// all N examples. Every batch is a function of (seed, epoch, step), so a
/// resumed run takes what an uninterrupted one would.
class BatchPlan {
 public:
  BatchPlan(const ImageSet& train, bool use_labels, const TrainerOptions& options);
  struct Batch {
    torch::Tensor index;    ///< rows of the training set, int64 [B], on its device
    torch::Tensor weights;  ///< each row's weight in the step's loss [B]; undefined: 1/B each (the mean)
    torch::Tensor labels;   ///< their classes (-1 = hidden), or undefined without labels
  };
  int64_t steps_per_epoch() const { return (pool_size_ + batch_size_ - 1) / batch_size_; }
  /// Batch b of (0-based) `epoch`, the run's step `step`.
  Batch batch(int64_t epoch, int64_t b, int64_t step) const;
  /// Examples of the training set, and of them the labelled ones the trainer uses.
  int64_t examples() const { return examples_; }
  int64_t labelled() const { return known_.defined() ? known_.numel() : 0; }
  /// True when steps add labelled examples to each batch of unlabelled ones.
  bool mixes_labelled() const { return labelled_batch_ > 0; }

 private:
  torch::Tensor pool_;    ///< the rows epochs pass over (undefined: all)
  torch::Tensor known_;   ///< labelled rows (mixing only)
  torch::Tensor labels_;  ///< every row's label (with labels only)
  int64_t examples_, pool_size_, batch_size_, labelled_batch_ = 0;
  uint64_t seed_;
  torch::Device device_;
  mutable int64_t cached_epoch_ = -1, cached_cycle_ = -1;
  mutable std::shared_ptr<EpochBatches> epoch_batches_;
  mutable torch::Tensor cached_order_;
};

/// What one epoch gave.
struct EpochReport {
  int64_t epoch = 0;  ///< 1-based
  double lr = 0.0;
  int64_t step = 0;
  double train_loss = 0.0;
  /// Validation metrics, nats per example, as metrics.jsonl names them:
  /// "val_elbo" always, then the objective's own ("val_iwae_k50") unless it
  /// is the one-sample ELBO.
  std::vector<std::pair<std::string, double>> validation;
  /// The objective's validation value: what decides the best epoch.
  double objective_value = 0.0;
  /// A new best objective_value.
  bool improved = false;
  double images_per_s = 0.0;
  double seconds = 0.0;
};

/// What a program keeps of a fit: checkpoints, metrics. Every hook has a
/// do-nothing default; the optimizer is null for a closed-form fit.
class TrainerCallback {
 public:
  virtual ~TrainerCallback() = default;
  /// Before the first step: may restore the model, the optimizer and the state (resume).
  virtual void on_start(TrainableModel& /*model*/, torch::optim::Optimizer* /*optimizer*/, TrainingState& /*state*/) {}
  /// After each epoch's validation.
  virtual void on_epoch_end(const EpochReport& /*report*/, TrainableModel& /*model*/,
                            torch::optim::Optimizer* /*optimizer*/, const TrainingState& /*state*/) {}
  /// When a fit stops before its end (Ctrl-C, stop_after_steps), after the current step.
  virtual void on_stop(TrainableModel& /*model*/, torch::optim::Optimizer* /*optimizer*/,
                       const TrainingState& /*state*/) {}
};

struct TrainResult {
  int64_t step = 0;
  int64_t epochs_completed = 0;
  bool interrupted = false;
  /// The best and the last validation value of the objective, nats per example.
  double best_validation = 0.0;
  double last_validation = 0.0;
};

class Trainer {
 public:
  Trainer(std::shared_ptr<TrainableModel> model, Objective objective, TrainerOptions options);

  /// Adds a callback (not owned; it must outlive fit()).
  void add_callback(TrainerCallback* callback) { callbacks_.push_back(callback); }

  /// Trains on `train`, validating on `validation` after every epoch.
  TrainResult fit(const ImageSet& train, const ImageSet& validation);

  /// Mean ELBO (analytic KL, one seeded sample) over already binarized x.
  double validate_elbo(const torch::Tensor& x);
  /// The validation metrics of already binarized x (see EpochReport::validation)
  /// and the objective's value; with `labels` (int64 [N], -1 = unknown) and a
  /// model whose latent has a class, also "val_accuracy", the share of the
  /// labelled examples whose most probable class under q(y | x) is theirs.
  std::vector<std::pair<std::string, double>> validate(const torch::Tensor& x, double* objective_value,
                                                       const torch::Tensor& labels = {});

  const Objective& objective() const { return objective_; }

 private:
  /// Mean of `per_example` over x in validation batches, under `seed`.
  double mean_over(const torch::Tensor& x, uint64_t seed,
                   const std::function<torch::Tensor(const torch::Tensor&)>& per_example);
  std::shared_ptr<TrainableModel> model_;
  Objective objective_;
  TrainerOptions options_;
  std::vector<TrainerCallback*> callbacks_;
};

}  // namespace dgm
