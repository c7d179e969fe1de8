#include "apps/estimation_subject.h"

#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>

#include "apps/cli_common.h"
#include "apps/run_directory.h"
#include "core/dataset.h"
#include "core/device.h"
#include "core/error.h"
#include "core/random.h"
#include "models/ppca.h"
#include "models/sigmoid_belief_net.h"
#include "models/torchscript_vae.h"
#include "trainers/trainer.h"

namespace dgm {
EstimationSubject load_subject(const SubjectOptions& options) {
  const torch::Device device = prepare_device(options.device, 0);
  EstimationSubject subject;
  if (!options.run.empty()) {
    auto run = std::make_shared<LoadedRun>(load_run(options.run, device));
    ImageSet test = load_examples(run->config.data, options.data, "test", options.n);
    if (test.dim() != run->metadata.data_dim)
      fail("{} has examples of {} values, but the run was trained on {}", test.source, test.dim(),
           run->metadata.data_dim);
    auto x = test.x.to(device, resolve_dtype(run->config.train.dtype));
    subject.x = run->config.data.binarize == "none" ? x : binarize_seeded(x, derive_seed(options.seed, 1));
    subject.image_shape = test.image_shape;
    subject.model = run->model.get();
    subject.description =
        fmt::format("VAE of run {} ({} -> {} latent)", options.run, test.dim(), run->config.model.latent_dim);
    subject.owner = run;
    return subject;
  }
  if (!options.encoder.empty() || !options.decoder.empty()) {
    if (options.encoder.empty() || options.decoder.empty() || options.data.empty())
      fail("a TorchScript model needs --encoder ENC.pt, --decoder DEC.pt and --data PATH");
    ImageSet test = load_examples(DataConfig{}, options.data, "test", options.n);
    auto model =
        std::make_shared<TorchScriptVae>(options.encoder, options.decoder, options.likelihood, test.dim(), device);
    auto x = test.x.to(device);
    if (options.likelihood == "bernoulli") check_unit_interval(x, test.source);
    const std::string binarize = options.binarize.empty() ? "none" : options.binarize;
    subject.x = binarize == "none" ? x : binarize_seeded(x, derive_seed(options.seed, 1));
    subject.image_shape = test.image_shape;
    subject.model = model.get();
    subject.description = fmt::format("TorchScript VAE {} + {} ({} -> {} latent)", options.encoder, options.decoder,
                                      test.dim(), model->latent_dim());
    subject.owner = model;
    return subject;
  }
  DataConfig data;
  if (!options.data.empty()) data.path = options.data;
  ImageSet train = load_examples(data, "", "train", options.fit_n);
  ImageSet test = load_examples(data, "", "test", options.n);
  subject.image_shape = test.image_shape;
  if (options.model == "ppca") {
    const int64_t latent = options.latent_dim > 0 ? options.latent_dim : 8;
    // pPCA models continuous pixel intensities; float64 keeps its 784 x 784
    // algebra exact enough to be the reference.
    auto model = std::make_shared<Ppca>(Ppca::fit(train.x.to(torch::kFloat64), latent).to(device, torch::kFloat64));
    subject.x = test.x.to(device, torch::kFloat64);
    subject.model = model.get();
    subject.description = fmt::format("pPCA ({} -> {} latent) fitted in closed form to {} images of {}", train.dim(),
                                      latent, train.size(), train.source);
    subject.owner = model;
    return subject;
  }
  if (options.model == "sbn") {
    const int64_t latent = options.latent_dim > 0 ? options.latent_dim : 10;
    seed_everything(options.seed);
    SigmoidBeliefNet sbn(SigmoidBeliefNetOptions(train.dim(), latent));
    sbn->to(device);
    auto binary = binarize_seeded(train.x.to(device), derive_seed(options.seed, 2));
    TrainValidation split = split_validation({binary, train.image_shape, train.source},
                                             std::max<int64_t>(1, train.size() / 10), options.seed);
    // Exact maximum likelihood by gradient: the 2^d terms are summed every step.
    const auto dir = std::filesystem::temp_directory_path() / fmt::format("dgm-sbn-{}", ::getpid());
    TrainerOptions fit;
    fit.epochs = options.epochs;
    fit.batch_size = 50;
    fit.lr = 3e-2;
    fit.binarize = "none";
    fit.out_dir = dir.string();
    fit.progress = false;
    fit.seed = options.seed;
    const TrainResult result = Trainer(sbn.ptr(), make_exact_objective(), fit).fit(split.train, split.validation);
    std::filesystem::remove_all(dir);
    sbn->eval();
    subject.x = binarize_seeded(test.x.to(device), derive_seed(options.seed, 3));
    subject.model = sbn.get();
    subject.description = fmt::format(
        "sigmoid belief net ({} binary latents, {} pixels) fitted by exact likelihood to {} images, {} epochs "
        "(validation ELBO {:.2f})",
        latent, train.dim(), split.train.size(), options.epochs, result.best_validation);
    subject.owner = std::make_shared<SigmoidBeliefNet>(sbn);
    return subject;
  }
  fail("give --run DIR, --model ppca|sbn, or --encoder/--decoder (got model '{}')", options.model);
}

}  // namespace dgm
