#include "trainers/reference_model.h"

#include <torch/torch.h>

#include "core/error.h"
#include "core/random.h"
#include "estimators/exact_marginal.h"
#include "models/model_registry.h"
#include "trainers/trainer.h"

namespace dgm {
namespace {

/// The family's default options with model.latent_dim set.
ModelConfig reference_config(const ReferenceFitOptions& options) {
  ModelConfig config(options.type);
  if (options.latent_dim > 0) {
    if (!config.options.read_text("latent_dim", std::to_string(options.latent_dim), {"--latent-dim", "latent_dim"}))
      fail("model.type {} has no latent_dim to set", options.type);
  }
  return config;
}

}  // namespace

ReferenceModel fit_reference_model(const ReferenceFitOptions& options, const ImageSet& train,
                                   const torch::Device& device) {
  const ModelConfig config = reference_config(options);
  seed_everything(options.seed);  // the initial weights
  auto model = create_model(config, train.shape());
  ReferenceModel out;
  if (model->fits_in_closed_form()) {
    model->to(device, torch::kFloat64);
    model->fit_closed_form(train.x.to(device, torch::kFloat64));
    out.description =
        fmt::format("{} fitted in closed form to {} images of {}", model->describe(), train.size(), train.source);
  } else {
    model->to(device);
    auto x = train.x.to(device);
    if (model->needs_unit_interval()) x = binarize_seeded(x, derive_seed(options.seed, 2));
    TrainValidation split = split_validation({x, train.image_shape, train.source, {}},
                                             std::max<int64_t>(1, train.size() / 10), options.seed);
    const bool exact = has_exact_marginal(*model);
    ObjectiveOptions objective;
    objective.objective = exact ? "exact" : "elbo";
    TrainerOptions fit;
    fit.epochs = options.epochs;
    fit.batch_size = options.batch_size;
    fit.lr = options.lr;
    fit.binarize = Binarization::kNone;
    fit.progress = false;
    fit.seed = options.seed;
    const TrainResult result = Trainer(model, Objective(objective), fit).fit(split.train, split.validation);
    out.description = fmt::format("{} fitted by {} to {} images, {} epochs (validation {:.2f} nats)", model->describe(),
                                  exact ? "exact likelihood" : "the ELBO", split.train.size(), options.epochs,
                                  result.best_validation);
  }
  model->eval();
  out.model = model;
  return out;
}

}  // namespace dgm
