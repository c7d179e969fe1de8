#include "trainers/run_directory.h"

#include <fmt/ranges.h>
#include <torch/torch.h>
#include <torch/version.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/atomic_file.h"
#include "core/device.h"
#include "core/error.h"
#include "core/json_numbers.h"
#include "core/png_grid.h"
#include "trainers/checkpoint.h"

namespace dgm {
namespace fs = std::filesystem;

namespace {
/// 2: run.json records model_type.
constexpr int kRunFormat = 2;

void append_line(const std::string& path, const std::string& line) {
  std::ofstream out(path, std::ios::app);
  out << line << '\n';
  out.flush();
  if (!out) fail("cannot append to {}: {}", path, write_error(errno));
}

}  // namespace

std::string libtorch_version() {
  return fmt::format("{}.{}.{}", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH);
}

std::string last_checkpoint_path(const std::string& run_dir) { return (fs::path(run_dir) / "last.pt").string(); }
std::string best_checkpoint_path(const std::string& run_dir) { return (fs::path(run_dir) / "best.pt").string(); }

std::string write_run_files(const std::string& dir, const Config& config, const DataShape& data) {
  fs::create_directories(dir);
  const std::string config_path = (fs::path(dir) / "config.yaml").string();
  const std::string text = config_to_yaml(config);
  std::string kept;
  if (fs::exists(config_path) && read_text_file(config_path) != text) {
    for (int n = 1; kept.empty() || fs::exists(kept); ++n)
      kept = (fs::path(dir) / fmt::format("config.{}.yaml", n)).string();
    // A hard link, then the atomic replace: config.yaml is never missing.
    std::error_code error;
    fs::create_hard_link(config_path, kept, error);
    if (error) write_text_atomically(kept, read_text_file(config_path));
  }
  write_text_atomically(config_path, text);
  nlohmann::json run{{"format", kRunFormat},
                     {"dgm_version", DGM_VERSION},
                     {"libtorch_version", libtorch_version()},
                     {"model_type", config.model.type},
                     {"data_dim", data.dim},
                     {"image_shape", data.image_shape}};
  write_text_atomically((fs::path(dir) / "run.json").string(), run.dump(2) + "\n");
  return kept;
}

namespace {

/// A model is built from these sizes before any weight is read: a hostile
/// or damaged run.json must not size its layers.
void check_data_shape(const DataShape& data, const std::string& path) {
  constexpr int64_t kMaxDim = int64_t{1} << 30;
  if (data.dim < 1 || data.dim > kMaxDim)
    fail("{}: data_dim is {}, not between 1 and 2^30; the run directory is damaged", path, data.dim);
  if (data.image_shape.empty()) return;
  if (data.image_shape.size() != 2 && data.image_shape.size() != 3)
    fail("{}: image_shape has {} entries, not 2 ([H, W]) or 3 ([C, H, W]); the run directory is damaged", path,
         data.image_shape.size());
  int64_t pixels = 1;
  for (int64_t side : data.image_shape) {
    if (side < 1 || side > kMaxDim)
      fail("{}: image_shape {} has a side that is not between 1 and 2^30; the run directory is damaged", path,
           fmt::join(data.image_shape, "x"));
    pixels *= side;
    if (pixels > kMaxDim) break;
  }
  if (pixels != data.dim)
    fail("{}: image_shape {} does not hold data_dim = {} values; the run directory is damaged", path,
         fmt::join(data.image_shape, "x"), data.dim);
}

}  // namespace

RunMetadata read_run_metadata(const std::string& dir) {
  const std::string path = (fs::path(dir) / "run.json").string();
  if (!fs::exists(path)) fail("{} is not a dgm run directory: it has no run.json (make one with `dgm train`)", dir);
  nlohmann::json run;
  try {
    run = nlohmann::json::parse(read_text_file(path));
  } catch (const nlohmann::json::exception& e) {
    fail("{} is not valid JSON: {}", path, without_tag(e.what()));
  }
  try {
    const int64_t format = json_integer(run.at("format"), path + ": format", 1);
    if (format > kRunFormat)
      fail("{} was written by a newer dgm (run format {}, this dgm {} reads up to {}); upgrade dgm", path, format,
           DGM_VERSION, kRunFormat);
    RunMetadata metadata;
    metadata.dgm_version = run.at("dgm_version").get<std::string>();
    metadata.libtorch_version = run.at("libtorch_version").get<std::string>();
    if (format >= 2) metadata.model_type = run.at("model_type").get<std::string>();
    metadata.data.dim = json_integer(run.at("data_dim"), path + ": data_dim");
    metadata.data.image_shape =
        json_integer_list(run.at("image_shape"), path + ": image_shape", std::numeric_limits<int64_t>::min(),
                          std::numeric_limits<int64_t>::max());
    check_data_shape(metadata.data, path);
    return metadata;
  } catch (const nlohmann::json::exception& e) {
    fail("{} lacks a field or has one of the wrong type: {}", path, without_tag(e.what()));
  }
}

LoadedRun load_run(const std::string& dir, const torch::Device& device) {
  if (!fs::is_directory(dir)) fail("run directory {} does not exist", dir);
  LoadedRun run;
  run.metadata = read_run_metadata(dir);
  run.config = load_config((fs::path(dir) / "config.yaml").string());
  if (run.config.model.type != run.metadata.model_type)
    fail("{}: config.yaml names model.type {} but run.json {}; the run directory was edited by hand", dir,
         run.config.model.type, run.metadata.model_type);
  if (!model_registry().contains(run.config.model.type))
    fail("{} holds a model of type '{}', which this dgm does not know (registered: {})", dir, run.config.model.type,
         join_choices(model_registry().names(), ", "));
  run.model = create_model(run.config.model, run.metadata.data);
  run.model->to(device, to_dtype(run.config.train.runtime.dtype));
  run.checkpoint = best_checkpoint_path(dir);
  if (!fs::exists(run.checkpoint)) run.checkpoint = last_checkpoint_path(dir);
  if (!fs::exists(run.checkpoint)) fail("run directory {} has no checkpoint (best.pt or last.pt)", dir);
  try {
    load_checkpoint(run.checkpoint, *run.model);
  } catch (const Error& e) {
    if (run.metadata.libtorch_version != libtorch_version())
      fail("{} (the run was written with LibTorch {}, this dgm uses {})", e.what(), run.metadata.libtorch_version,
           libtorch_version());
    throw;
  }
  run.model->eval();
  return run;
}

RunCheckpoints::RunCheckpoints(std::string dir, bool resume, bool writes)
    : dir_(std::move(dir)), resume_(resume), writes_(writes) {}

void RunCheckpoints::on_start(TrainableModel& model, torch::optim::Optimizer* optimizer, TrainingState& state) {
  if (writes_) fs::create_directories(dir_);
  if (!resume_) return;
  const auto last = last_checkpoint_path(dir_);
  if (!fs::exists(last))
    fail("--resume: {} has no checkpoint last.pt to continue from{}", dir_,
         writes_ ? ""
                 : " (every process of a data-parallel run reads it: the run directory must be on a file system "
                   "they all see)");
  state = load_checkpoint(last, model, optimizer);
  if (writes_) drop_metrics_after(state.step);
}

void RunCheckpoints::drop_metrics_after(int64_t step) const {
  // An epoch's line is appended before its checkpoint is renamed into place:
  // a run killed in between has the line of an epoch it will train again.
  // Those lines (and a torn last line) go, so each epoch is written once.
  const std::string path = (fs::path(dir_) / "metrics.jsonl").string();
  if (!fs::exists(path)) return;
  std::istringstream lines(read_text_file(path));
  std::string kept, line;
  bool dropped = false;
  while (std::getline(lines, line)) {
    const auto parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_object() && parsed.contains("step") && parsed["step"].is_number_integer() &&
        parsed["step"].get<int64_t>() <= step) {
      kept += line + "\n";
    } else {
      dropped = true;
    }
  }
  if (dropped) write_text_atomically(path, kept);
}

void RunCheckpoints::on_epoch_end(const EpochReport& report, TrainableModel& model, torch::optim::Optimizer* optimizer,
                                  const TrainingState& state) {
  if (!writes_) return;
  nlohmann::json line{
      {"epoch", report.epoch}, {"lr", report.lr}, {"step", report.step}, {"train_loss", report.train_loss}};
  for (const auto& [key, value] : report.validation) line[key] = value;
  line["images_per_s"] = report.images_per_s;
  line["seconds"] = report.seconds;
  // The line first, then the checkpoints: see drop_metrics_after.
  append_line((fs::path(dir_) / "metrics.jsonl").string(), line.dump());
  if (report.improved) save_checkpoint(best_checkpoint_path(dir_), model, nullptr, state);
  save_checkpoint(last_checkpoint_path(dir_), model, optimizer, state);
}

void RunCheckpoints::on_stop(TrainableModel& model, torch::optim::Optimizer* optimizer, const TrainingState& state) {
  if (!writes_) return;
  save_checkpoint(last_checkpoint_path(dir_), model, optimizer, state);
}

void RunTensorBoard::on_start(TrainableModel& /*model*/, torch::optim::Optimizer* /*optimizer*/, TrainingState& state) {
  writer_ = std::make_unique<EventFileWriter>(dir_);
  if (state.step > 0) writer_->add_restart(state.step);  // after RunCheckpoints restored the state
}

void RunTensorBoard::on_epoch_end(const EpochReport& report, TrainableModel& /*model*/,
                                  torch::optim::Optimizer* /*optimizer*/, const TrainingState& /*state*/) {
  writer_->add_scalar("train/loss", report.train_loss, report.step);
  for (const auto& [key, value] : report.validation)  // val_elbo -> validation/elbo
    writer_->add_scalar("validation/" + (key.rfind("val_", 0) == 0 ? key.substr(4) : key), value, report.step);
  writer_->add_scalar("train/lr", report.lr, report.step);
  writer_->add_scalar("train/images_per_s", report.images_per_s, report.step);
}

void RunTensorBoard::add_picture(const std::string& tag, const std::string& png_path, int64_t step) {
  if (!writer_) return;
  const torch::Tensor pixels = read_png(png_path);  // [H, W, C]: the sizes the summary states
  writer_->add_image(tag, read_text_file(png_path), pixels.size(0), pixels.size(1), pixels.size(2), step);
}

RunTraining::RunTraining(std::string dir, const Config& config, const ImageSet& all, const TrainValidation& data,
                         bool resume, bool progress, Collectives& processes)
    : data_(data), model_(model_to_train(config, all, data)), checkpoints_(dir, resume, processes.is_main()) {
  if (processes.is_main()) {
    const std::string kept = write_run_files(dir, config, all.shape());
    if (!kept.empty())
      fmt::print(stderr, "config.yaml changed (--set); the one the run had until now is kept as {}\n", kept);
  }
  TrainerOptions options = trainer_options(config);
  options.progress = progress && processes.is_main();
  options.processes = &processes;
  trainer_ = std::make_unique<Trainer>(model_, Objective(config.train.objective), options);
  trainer_->add_callback(&checkpoints_);
  if (config.train.trainer.log_to == LogTo::kTensorBoard && processes.is_main()) {
    tensorboard_ = std::make_unique<RunTensorBoard>(dir);
    trainer_->add_callback(tensorboard_.get());
  }
}

TrainResult RunTraining::fit() { return trainer_->fit(data_.train, data_.validation); }

}  // namespace dgm
