#pragma once
// A checkpoint is one file holding the model's parameters and buffers, the
// optimizer's state and the trainer's position, written atomically (temporary
// name, then rename) so that a crash never leaves a half-written checkpoint.

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <string>

namespace dgm {

/// Where training stands: enough to continue exactly where it stopped.
struct TrainingState {
  int64_t step = 0;             ///< optimizer steps completed
  double epoch_loss_sum = 0.0;  ///< sum of per-example losses so far in the current epoch
  int64_t epoch_examples = 0;   ///< examples seen so far in the current epoch
  double best_validation = -std::numeric_limits<double>::infinity();  ///< best validation ELBO (nats)
  /// The parts each step's batch was split into (processes x micro_batches):
  /// each part draws its own samples, so a resumed run must split as the run did.
  int64_t batch_parts = 1;
};

/// Saves model (and optimizer, when given) and state to `path` atomically.
void save_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer,
                     const TrainingState& state);

/// Loads a checkpoint into `model` (and `optimizer`, when given). A missing,
/// damaged or mismatching file is a dgm::Error naming it.
TrainingState load_checkpoint(const std::string& path, torch::nn::Module& model,
                              torch::optim::Optimizer* optimizer = nullptr);

}  // namespace dgm
