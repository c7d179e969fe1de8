#include "apps/subject.h"

#include <torch/torch.h>

#include "core/device.h"
#include "core/error.h"
#include "core/random.h"
#include "models/foreign_weights.h"
#include "models/model_registry.h"
#include "models/torchscript_vae.h"
#include "trainers/run_directory.h"

namespace dgm {
namespace {

// The seed streams of the examples' binarization: a run's and a TorchScript
// pair's (1), a reference model's test examples (3; 2 binarizes its fit set).
constexpr uint64_t kExamplesStream = 1;
constexpr uint64_t kReferenceExamplesStream = 3;

/// Limits, checks and binarizes the examples for `model`.
torch::Tensor prepare(ImageSet& set, const LatentVariableModel& model, const SubjectOptions& options,
                      Binarization binarization, uint64_t seed, uint64_t stream) {
  set = set.first(options.limit);
  if (model.needs_unit_interval()) check_unit_interval(set.x, set.source);
  if (model.data_levels() > 0) check_levels(set.x, model.data_levels(), set.source);
  return binarization == Binarization::kNone ? set.x : binarize_seeded(set.x, derive_seed(seed, stream));
}

void check_dim(const ImageSet& set, int64_t dim, const std::string& what) {
  if (set.dim() != dim)
    fail("{} has examples of {} values, but {} was trained on {}", set.source, set.dim(), what, dim);
}

Subject run_subject(const SubjectOptions& options, const torch::Device& device) {
  auto run = std::make_shared<LoadedRun>(load_run(options.run, device));
  Subject subject;
  subject.checkpoint = run->checkpoint;
  if (!options.weights.empty()) {  // weights from elsewhere into the run's architecture
    for (const auto& warning :
         load_foreign_weights(*run->model, options.weights, options.renames, options.key).warnings)
      fmt::print(stderr, "{}\n", warning);
    subject.checkpoint = options.weights;
  }
  const Config& config = run->config;
  const torch::Dtype dtype = to_dtype(config.train.runtime.dtype);
  subject.config = config;
  subject.model = run->model;
  subject.description = fmt::format("{} of run {}", run->model->describe(), options.run);
  subject.image_shape = run->metadata.data.image_shape;
  const std::string data = options.data;
  subject.training_examples = [config, data, device, dtype] {
    return load_examples(config.data, data, Split::kTrain).x.to(device, dtype);
  };
  if (!options.need_examples) return subject;
  ImageSet set = load_examples(config.data, options.data, options.split.value_or(config.eval.split)).to(device, dtype);
  check_dim(set, run->metadata.data.dim, "the run");
  subject.x = prepare(set, *run->model, options, options.binarize.value_or(config.data.binarize),
                      options.seed.value_or(config.eval.seed), kExamplesStream);
  subject.image_shape = set.image_shape.empty() ? subject.image_shape : set.image_shape;
  subject.source = set.source;
  subject.labels = set.labels;
  return subject;
}

Subject torchscript_subject(const SubjectOptions& options, const torch::Device& device) {
  if (options.data.empty())
    fail_usage("a TorchScript model needs --data PATH: the examples fix its input size (and picture shape)");
  ImageSet set = load_examples(DataOptions{}, options.data, options.split.value_or(Split::kTest)).to(device);
  auto model =
      std::make_shared<TorchScriptVae>(options.encoder, options.decoder, options.likelihood, set.dim(), device);
  Subject subject;
  subject.model = model;
  subject.description = model->describe();
  subject.checkpoint = options.encoder + " + " + options.decoder;
  subject.image_shape = set.image_shape;
  subject.source = set.source;
  // A foreign model's data is used as given unless the user says how it was trained.
  subject.x = prepare(set, *model, options, options.binarize.value_or(Binarization::kNone), options.seed.value_or(0),
                      kExamplesStream);
  subject.labels = set.labels;
  auto all = subject.x;
  subject.training_examples = [all] { return all; };
  return subject;
}

Subject reference_subject(const SubjectOptions& options, const torch::Device& device) {
  DataOptions data;
  if (!options.data.empty()) data.path = options.data;
  ImageSet train = load_examples(data, "", Split::kTrain, options.fit_n);
  ReferenceFitOptions fit = options.reference;
  fit.type = options.model;
  fit.seed = options.seed.value_or(0);
  ReferenceModel reference = fit_reference_model(fit, train, device);
  check_dim(train, reference.model->data_dim(), "the model");
  Subject subject;
  subject.model = reference.model;
  subject.description = reference.description;
  subject.checkpoint = "(fitted in memory)";
  subject.image_shape = train.image_shape;
  const torch::Dtype dtype = reference.model->fits_in_closed_form() ? torch::kFloat64 : torch::kFloat32;
  auto train_x = train.x;
  subject.training_examples = [train_x, device, dtype] { return train_x.to(device, dtype); };
  ImageSet set = load_examples(data, "", options.split.value_or(Split::kTest)).to(device, dtype);
  subject.source = set.source;
  const Binarization binary = reference.model->needs_unit_interval() ? Binarization::kFixed : Binarization::kNone;
  subject.x =
      prepare(set, *reference.model, options, options.binarize.value_or(binary), fit.seed, kReferenceExamplesStream);
  subject.labels = set.labels;
  return subject;
}

template <typename E>
std::function<void(const std::string&)> enum_setter(std::optional<E>& target) {
  return [&target](const std::string& text) { target = parse_enum<E>(text); };
}

}  // namespace

void add_subject_options(CLI::App& app, SubjectOptions& options, int64_t default_limit,
                         const std::string& limit_flags) {
  options.limit = default_limit;
  auto* run = app.add_option("--run,-r", options.run, "Run directory written by dgm train or dgm import");
  auto* weights = app.add_option("--weights", options.weights,
                                 "Use these weights in the run's model: .safetensors, or a Python "
                                 "torch.save(model.state_dict(), PATH) (see dgm import)")
                      ->check(CLI::ExistingFile)
                      ->needs(run);
  app.add_option("--rename", options.renames, "With --weights: rewrite a name prefix first, OLD=NEW (repeatable)")
      ->needs(weights);
  app.add_option("--key", options.key, "With --weights: the checkpoint dict's entry that holds the state dict")
      ->needs(weights);
  auto* encoder = app.add_option("--encoder", options.encoder,
                                 "TorchScript encoder: x [B, D_x] -> (mu [B, D_z], logvar [B, D_z]); with --decoder "
                                 "and --data")
                      ->excludes(run);
  auto* decoder = app.add_option("--decoder", options.decoder,
                                 "TorchScript decoder: z [..., D_z] -> logits [..., D_x] (gaussian: (mean, logvar))")
                      ->excludes(run);
  encoder->needs(decoder);
  decoder->needs(encoder);
  app.add_option_function<std::string>(
         "--likelihood", [&options](const std::string& text) { options.likelihood = parse_enum<Likelihood>(text); },
         "Of the TorchScript decoder: bernoulli (default) or gaussian")
      ->check(CLI::IsMember(enum_names<Likelihood>()));
  auto* model = app.add_option("--model", options.model,
                               "A reference model fitted on the spot to --fit-n training images: a model.type "
                               "(ppca: closed form; sbn: exact likelihood)")
                    ->check(CLI::IsMember(model_registry().names()))
                    ->excludes(run)
                    ->excludes(encoder);
  app.add_option("--latent-dim", options.reference.latent_dim, "Latent size of --model (default: the model type's)")
      ->check(cli_check(at_least(1)))
      ->needs(model);
  app.add_option("--fit-n", options.fit_n, "Training images --model is fitted on (default 2000)")
      ->check(cli_check(at_least(1)))
      ->needs(model);
  app.add_option("--epochs", options.reference.epochs, "Gradient fitting epochs of --model (default 5)")
      ->check(cli_check(at_least(1)))
      ->needs(model);
  app.add_option("--data", options.data,
                 "Examples: an IDX directory (its --split) or a data file (IDX, NPY, CSV) (default: the run's "
                 "data, or Fashion-MNIST)");
  app.add_option_function<std::string>("--split", enum_setter(options.split),
                                       "test or train (default: eval.split of the run, else test)")
      ->check(CLI::IsMember(enum_names<Split>()));
  app.add_option(limit_flags, options.limit,
                 fmt::format("The first N examples only ({})",
                             default_limit > 0 ? fmt::format("default {}", default_limit) : "default: all"))
      ->check(cli_check(at_least(1)));
  app.add_option_function<std::string>(
         "--binarize", enum_setter(options.binarize),
         "none, fixed or dynamic: binarize the examples once, seeded (default: the run's data.binarize; none for a "
         "TorchScript model)")
      ->check(CLI::IsMember(enum_names<Binarization>()));
  add_device_option(app, options.device);
}

Subject load_subject(const SubjectOptions& options) {
  const int sources = !options.run.empty() + !options.encoder.empty() + !options.model.empty();
  if (sources == 0)
    fail_usage("give the model: --run DIR, --encoder ENC.pt --decoder DEC.pt --data PATH, or --model TYPE (one of {})",
               join_choices(model_registry().names(), ", "));
  if (sources > 1) fail_usage("give one model: --run, --encoder/--decoder or --model");
  const torch::Device device = prepare_device(options.device, 0);
  if (!options.run.empty()) return run_subject(options, device);
  if (!options.encoder.empty()) return torchscript_subject(options, device);
  return reference_subject(options, device);
}

void check_example_index(const Subject& subject, int64_t index, const std::string& flag) {
  const int64_t n = subject.x.size(0);
  if (index < 0 || index >= n)
    fail("{} {}: there is no such example; {} has {} (0 .. {})", flag, index, subject.source, n, n - 1);
}

std::optional<double> bits_per_dim(const LatentVariableModel& model, double nats, double dims) {
  if (model.data_levels() <= 0 || dims <= 0) return std::nullopt;
  return -nats / (dims * std::log(2.0));
}

std::string bits_per_dim_text(const std::optional<double>& bits) {
  return bits ? fmt::format(" = {:.4f} bits/dim", *bits) : "";
}

}  // namespace dgm
