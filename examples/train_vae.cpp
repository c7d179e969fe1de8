// dgm as a library: train the default VAE briefly on Fashion-MNIST and print
// its IWAE bound on test images. Built against the installed package
// (find_package(dgm), dgm::dgm); `dgm train` and `dgm eval` make the same calls.

#include <dgm/core/dataset.h>
#include <dgm/core/numerics.h>
#include <dgm/core/random.h>
#include <dgm/estimators/registry.h>
#include <dgm/trainers/config.h>
#include <dgm/trainers/trainer.h>

#include <cstdio>

int main() {
  try {
    // The config's defaults are configs/vae.yaml's model; a short run here.
    const dgm::Config config =
        dgm::parse_config("", "example", {"data.limit=10000", "data.val_size=1000", "train.epochs=2", "train.seed=0"});
    const dgm::ImageSet all = dgm::load_images(config.data, dgm::Split::kTrain);
    const dgm::TrainValidation data = dgm::split_validation(all, config.data.val_size, config.train.trainer.seed);

    auto model = dgm::model_to_train(config, all, data);  // seeded by train.seed
    dgm::TrainerOptions options = dgm::trainer_options(config);
    options.progress = false;
    dgm::Trainer trainer(model, dgm::Objective(config.train.objective), options);
    const dgm::TrainResult result = trainer.fit(data.train, data.validation);
    std::printf("%s trained %lld epochs: validation ELBO %.2f nats\n", model->describe().c_str(),
                static_cast<long long>(result.epochs_completed), result.best_validation);

    // IWAE-1000 over 500 test images, binarized once under a seed.
    const dgm::ImageSet test = dgm::load_images(config.data, dgm::Split::kTest).first(500);
    const torch::Tensor x = dgm::binarize_seeded(test.x, 1);
    model->eval();
    torch::NoGradGuard no_grad;
    dgm::EstimatorOptions iwae;
    iwae.k = 1000;
    iwae.chunk = 250;
    dgm::seed_everything(2);
    const dgm::MeanAndError bound = dgm::mean_and_error(dgm::estimate("iwae", *model, x, iwae).value);
    const dgm::MeanAndError elbo = dgm::mean_and_error(dgm::estimate("elbo", *model, x).value);
    std::printf("test ELBO %.2f, IWAE-1000 %.2f +- %.2f nats per image (%lld images)\n", elbo.mean, bound.mean,
                bound.standard_error, static_cast<long long>(x.size(0)));
    return bound.mean > elbo.mean ? 0 : 1;  // the IWAE bound is the tighter one
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
