#pragma once
// A run directory holds everything `dgm eval`, `dgm sample` and the other
// commands need: the resolved config.yaml, run.json (versions, model type,
// data shape), best.pt / last.pt, metrics.jsonl and the PNG grids. Any
// registered model family can live in one: the config names it.

#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "core/dataset.h"
#include "core/tensorboard.h"
#include "models/latent_variable_model.h"
#include "trainers/config.h"
#include "trainers/trainer.h"

namespace dgm {

struct RunMetadata {
  std::string dgm_version;
  std::string libtorch_version;
  /// model.type of the run (run format 1, before it was recorded: vae).
  std::string model_type = kDefaultModelType;
  DataShape data;
};

/// The LibTorch version this program was built against, e.g. "1.13.1".
std::string libtorch_version();

/// Path of the last / best checkpoint in a run directory.
std::string last_checkpoint_path(const std::string& run_dir);
std::string best_checkpoint_path(const std::string& run_dir);

/// Writes config.yaml and run.json into `dir` (atomically). A config.yaml
/// already there that says something else (a resume with --set) is kept as
/// config.N.yaml, N the first free number, and its path returned ("" when
/// nothing was kept): the settings a run was started with are never lost.
std::string write_run_files(const std::string& dir, const Config& config, const DataShape& data);

/// Reads run.json; a missing or malformed file is a dgm::Error that says why.
RunMetadata read_run_metadata(const std::string& dir);

/// A trained model loaded from a run directory.
struct LoadedRun {
  Config config;
  RunMetadata metadata;
  std::shared_ptr<TrainableModel> model;
  std::string checkpoint;  ///< the file the weights came from
};

/// Loads config, metadata and the best checkpoint (last.pt when there is no
/// best.pt yet) onto `device`, in eval mode, whatever family the run holds.
LoadedRun load_run(const std::string& dir, const torch::Device& device);

/// The trainer callback that keeps a run directory: best.pt when the
/// objective's validation value improves, last.pt (with the optimizer's state
/// and the trainer's position) after every epoch and on a stop, one line of
/// metrics.jsonl per epoch; with `resume`, the fit continues from last.pt.
/// With `writes` false (the processes of a data-parallel run other than
/// rank 0) it only reads last.pt on resume.
class RunCheckpoints : public TrainerCallback {
 public:
  RunCheckpoints(std::string dir, bool resume, bool writes = true);
  void on_start(TrainableModel& model, torch::optim::Optimizer* optimizer, TrainingState& state) override;
  void on_epoch_end(const EpochReport& report, TrainableModel& model, torch::optim::Optimizer* optimizer,
                    const TrainingState& state) override;
  void on_stop(TrainableModel& model, torch::optim::Optimizer* optimizer, const TrainingState& state) override;

 private:
  /// On resume: removes metrics.jsonl's lines of steps past the checkpoint.
  void drop_metrics_after(int64_t step) const;
  std::string dir_;
  bool resume_, writes_;
};

/// The trainer callback that writes TensorBoard event files into a run
/// directory (train.log_to: tensorboard): every epoch's training loss,
/// validation metrics, learning rate and rate as scalars at its step; on
/// resume a restart marker, so TensorBoard drops what an earlier file logged
/// past the checkpoint.
class RunTensorBoard : public TrainerCallback {
 public:
  explicit RunTensorBoard(std::string dir) : dir_(std::move(dir)) {}
  void on_start(TrainableModel& model, torch::optim::Optimizer* optimizer, TrainingState& state) override;
  void on_epoch_end(const EpochReport& report, TrainableModel& model, torch::optim::Optimizer* optimizer,
                    const TrainingState& state) override;
  /// A PNG file of the run (a grid) as an image at `step`.
  void add_picture(const std::string& tag, const std::string& png_path, int64_t step);
  /// The event file, once on_start has made it.
  std::string path() const { return writer_ ? writer_->path() : ""; }

 private:
  std::string dir_;
  std::unique_ptr<EventFileWriter> writer_;
};

/// What `dgm train` does between loading the data and drawing its pictures:
/// the model (model_to_train), config.yaml and run.json in `dir`, and a
/// trainer that keeps the run's checkpoints and metrics (continuing from
/// last.pt with `resume`). `data` must outlive it. With `processes` of more
/// than one, it trains data-parallel and only rank 0 writes into `dir`.
class RunTraining {
 public:
  RunTraining(std::string dir, const Config& config, const ImageSet& all, const TrainValidation& data, bool resume,
              bool progress = true, Collectives& processes = single_process());
  RunTraining(const RunTraining&) = delete;
  RunTraining& operator=(const RunTraining&) = delete;

  /// Trains (or fits in closed form) on data.train, validating on data.validation.
  TrainResult fit();
  const std::shared_ptr<TrainableModel>& model() const { return model_; }
  Trainer& trainer() { return *trainer_; }
  /// The TensorBoard writer with train.log_to: tensorboard (on rank 0), else nullptr.
  RunTensorBoard* tensorboard() { return tensorboard_.get(); }

 private:
  const TrainValidation& data_;
  std::shared_ptr<TrainableModel> model_;
  std::unique_ptr<Trainer> trainer_;
  RunCheckpoints checkpoints_;
  std::unique_ptr<RunTensorBoard> tensorboard_;
};

}  // namespace dgm
