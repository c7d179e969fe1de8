#pragma once
// What the commands that evaluate or draw (eval, estimate, inpaint, sample)
// work on: one model and the examples, from the same command-line options in
// every command:
//   --run DIR [--weights FILE [--rename OLD=NEW]]    a run directory (any model type)
//   --encoder ENC.pt --decoder DEC.pt [--likelihood L] a TorchScript pair (needs --data)
//   --model TYPE [--latent-dim L --fit-n N --epochs E] a reference model fitted on the spot
//   --data PATH --split S --limit N --binarize B --device D
// Examples with a Bernoulli model must lie in [0, 1], wherever they come from.

#include <torch/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apps/cli_common.h"
#include "core/dataset.h"
#include "models/latent_variable_model.h"
#include "models/likelihood.h"
#include "trainers/config.h"
#include "trainers/reference_model.h"

namespace dgm {

struct SubjectOptions {
  std::string run;
  std::string weights;
  std::vector<std::string> renames;
  std::string key;  ///< with weights: a checkpoint dict's entry holding the state dict
  std::string encoder, decoder;
  Likelihood likelihood = Likelihood::kBernoulli;
  /// A registered model.type fitted on the spot (with `reference`).
  std::string model;
  ReferenceFitOptions reference;
  /// Training examples a reference model is fitted on.
  int64_t fit_n = 2000;
  std::string data;
  std::optional<Split> split;
  /// The first N examples only (0 = all).
  int64_t limit = 0;
  std::optional<Binarization> binarize;
  /// Fixes the binarization of the examples (and, for --model, the fit).
  /// Default: eval.seed of a run, else 0.
  std::optional<uint64_t> seed;
  std::string device = "auto";
  /// Load the examples (sample does not need them for a run).
  bool need_examples = true;
};

struct Subject {
  std::shared_ptr<LatentVariableModel> model;
  /// The examples [n, D], on the model's device and in its dtype, binarized
  /// where the model needs binary data (once, under the seed).
  torch::Tensor x;
  std::vector<int64_t> image_shape;
  /// The examples' classes, int64 [n] (-1 = unknown), where their source has
  /// labels (an IDX label file, data.label_column); undefined otherwise.
  torch::Tensor labels;
  /// The model, one line.
  std::string description;
  /// Where the examples came from.
  std::string source;
  /// The weights: a checkpoint, a --weights file, the TorchScript files.
  std::string checkpoint;
  /// A run's config (eval reads its eval.* options).
  std::optional<Config> config;
  /// The training examples (for codes of the training set, as `dgm sample
  /// --latent-sampler gmm:K` fits): a run's training split, or --data.
  std::function<torch::Tensor()> training_examples;
};

/// Adds the options above to `app`; `default_limit` is the command's default
/// for --limit, which `limit_flags` name (dgm sample keeps --n for its samples).
void add_subject_options(CLI::App& app, SubjectOptions& options, int64_t default_limit,
                         const std::string& limit_flags = "--limit,--n");

/// Loads the model and the examples. No model source, or two, is a UsageError.
Subject load_subject(const SubjectOptions& options);

/// Checks that `index` (given as `flag`) names one of the subject's
/// examples; otherwise a dgm::Error that says which are there.
void check_example_index(const Subject& subject, int64_t index, const std::string& flag);

/// A log-likelihood (or bound) of `nats` per example over `dims` values as
/// bits per dimension, -nats / (dims ln 2), the convention for pictures:
/// where the model gives 8-bit values a mass (model.data_levels() > 0), so
/// that log p(x) is a log probability; nullopt otherwise.
std::optional<double> bits_per_dim(const LatentVariableModel& model, double nats, double dims);

/// " = 3.456 bits/dim" for bits_per_dim's value, "" without one.
std::string bits_per_dim_text(const std::optional<double>& bits);

}  // namespace dgm
