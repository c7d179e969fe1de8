#pragma once
// The gradient trainer: Adam on a bound that an Objective estimates, over
// shuffled mini-batches, with validation every epoch, metrics.jsonl, atomic
// best/last checkpoints, exact resume and a clean stop on Ctrl-C.
//
// Exact resume: before step s the generators are reseeded from (seed, s), and
// the order of epoch e from (seed, e), so a run continued from a checkpoint
// draws what an uninterrupted run would, without saving generator state.

#include <torch/types.h>

#include <memory>
#include <string>

#include "core/dataset.h"
#include "models/latent_variable_model.h"
#include "trainers/objective.h"

namespace dgm {

struct TrainConfig;

struct TrainerOptions {
  int64_t epochs = 10;
  int64_t batch_size = 128;
  /// Adam learning rate. Default: 1e-3.
  double lr = 1e-3;
  /// Adam's epsilon. Default: 1e-8.
  double adam_eps = 1e-8;
  /// Epochs after which the learning rate is multiplied by lr_gamma (PyTorch's MultiStepLR). Default: none.
  std::vector<int64_t> lr_milestones;
  /// Default: 0.1.
  double lr_gamma = 0.1;
  uint64_t seed = 0;
  /// Clip the gradient's global L2 norm (0 = off). Default: 0.
  double grad_clip = 0.0;
  /// dynamic, fixed or none. Default: dynamic.
  std::string binarize = "dynamic";
  /// Where last.pt, best.pt and metrics.jsonl go. Required.
  std::string out_dir;
  /// Continue from out_dir/last.pt. Default: false.
  bool resume = false;
  /// Draw a progress bar / progress lines on stderr. Default: true.
  bool progress = true;
  /// Stop as if interrupted once this many steps are done (0 = never): lets
  /// tests cut a run short deterministically. Default: 0.
  int64_t stop_after_steps = 0;
  /// Examples per validation batch. Default: 1000.
  int64_t validation_batch_size = 1000;

  /// The options train.* of a config describes (plus data.binarize).
  static TrainerOptions from_config(const TrainConfig& train, const std::string& binarize, const std::string& out_dir);
};

/// The learning rate of (0-based) `epoch` under the milestones: lr * gamma^(milestones passed).
double learning_rate_at(const TrainerOptions& options, int64_t epoch);

struct TrainResult {
  int64_t step = 0;
  int64_t epochs_completed = 0;
  bool interrupted = false;
  double best_validation = 0.0;  ///< nats per example, higher is better
  double last_validation = 0.0;
};

class Trainer {
 public:
  Trainer(std::shared_ptr<TrainableModel> model, std::unique_ptr<Objective> objective, TrainerOptions options);

  /// Trains on `train`, validating on `validation` after every epoch.
  TrainResult fit(const ImageSet& train, const ImageSet& validation);

  /// Mean ELBO (analytic KL, one seeded sample) over already binarized x.
  double validate(const torch::Tensor& x);

 private:
  std::shared_ptr<TrainableModel> model_;
  std::unique_ptr<Objective> objective_;
  TrainerOptions options_;
};

/// Path of the last / best checkpoint in a run directory.
std::string last_checkpoint_path(const std::string& run_dir);
std::string best_checkpoint_path(const std::string& run_dir);

/// Asks a running fit() to save and stop after the current step; what SIGINT
/// does while fit() runs. Async-signal-safe.
void request_stop();

}  // namespace dgm
