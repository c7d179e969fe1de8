#pragma once
// An experiment's configuration: YAML (yaml-cpp) read into the options
// structs of the library, section by section:
//   data.*   DataOptions                 (core/dataset.h)
//   model.*  model.type and that family's options (models/model_registry.h)
//   train.*  TrainerOptions, ObjectiveOptions, RuntimeOptions
//   eval.*   EvalOptions                 (estimators/evaluation.h)
// Every key is declared once, in its options struct; the valid keys of
// model.* are those of the family model.type names. Every mistake (unknown
// key, wrong type, value out of range) is a dgm::Error that names the file,
// the line and the key, and suggests the nearest valid key.

#include <string>
#include <vector>

#include "core/dataset.h"
#include "core/device.h"
#include "core/options.h"
#include "estimators/evaluation.h"
#include "models/model_registry.h"
#include "trainers/objective.h"
#include "trainers/trainer.h"

namespace dgm {

/// The train.* section: how to fit, what to maximize, where to compute.
struct TrainConfig {
  TrainerOptions trainer;
  ObjectiveOptions objective;
  RuntimeOptions runtime;
};

/// The train.* keys: the trainer's, then the objective's, then the runtime's.
template <>
const OptionTable<TrainConfig>& option_table<TrainConfig>();

struct Config {
  DataOptions data;
  ModelConfig model;
  TrainConfig train;
  EvalOptions eval;
};

/// Loads `path` and applies `overrides` ("section.key=value", the value in
/// YAML syntax, e.g. "model.hidden=[512,256]"), then validates.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});

/// Parses YAML text (named `source` in error messages) with overrides.
Config parse_config(const std::string& text, const std::string& source, const std::vector<std::string>& overrides = {});

/// The complete config as YAML, every key written (with `comments`, each
/// key's description and valid values beside it); parse_config of it gives the
/// same Config back.
std::string config_to_yaml(const Config& config, bool comments = false);

/// Every valid key of a config of model.type `model_type`, "section.key", in file order.
std::vector<std::string> config_keys(const std::string& model_type = kDefaultModelType);

/// One line per key: key, default, valid values and description, for every
/// registered model type (`dgm config --keys`).
std::string describe_config_keys();

/// The trainer's options a config describes (data.binarize included).
TrainerOptions trainer_options(const Config& config);

/// The training and validation examples of a config: data.val_size held out
/// under train.seed, then data.labels_per_class applied to the training part
/// (the validation part keeps its labels, for reports only).
TrainValidation training_data(const Config& config, const ImageSet& all);

/// The model a config describes, ready to train on `data`, split from `all`
/// (on the device the model is to live on): its parameters drawn under
/// train.seed, moved to all's device in train.dtype, the examples checked for
/// the range its likelihood needs (and their labels, for a model whose latent
/// has a class, against its classes), then initialised from the training ones.
std::shared_ptr<TrainableModel> model_to_train(const Config& config, const ImageSet& all, const TrainValidation& data);

}  // namespace dgm
