// IWAE training against ELBO training: the same small VAE trained three ways
// (ELBO, IWAE-10, IWAE-10 with DReG); the test IWAE-500 bound is higher after
// IWAE training (slow: three trainings).

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>

#include "core/random.h"
#include "estimators/iwae_bound.h"
#include "models/vae.h"
#include "test_support.h"
#include "trainers/trainer.h"

namespace dgm {
namespace {

TEST(IwaeTraining, RaisesTheTestBoundOverElboTraining) {
  DataOptions data;
  data.limit = 4000;
  const TrainValidation split = split_validation(load_images(data, Split::kTrain), 500, 0);
  const auto test_x = test::binary_fashion_mnist(500, Split::kTest);
  auto test_bound = [&](Objective objective) {
    seed_everything(0);
    Vae vae = test::make_vae(10, {100});
    Trainer(vae.ptr(), std::move(objective), test::quiet_trainer(10, 50)).fit(split.train, split.validation);
    vae->eval();
    torch::NoGradGuard no_grad;
    seed_everything(9);
    EstimatorOptions iwae;
    iwae.k = 500;
    iwae.chunk = 100;
    return iwae_bound(*vae, test_x, iwae).mean().item<double>();
  };
  const double elbo_trained = test_bound(test::objective_named("elbo"));
  const double iwae_trained = test_bound(test::objective_named("iwae", 10));
  const double dreg_trained = test_bound(test::objective_named("iwae", 10, true));
  std::printf("test IWAE-500 after 10 epochs: ELBO-trained %.2f, IWAE-10 %.2f, IWAE-10 with DReG %.2f\n", elbo_trained,
              iwae_trained, dreg_trained);
  EXPECT_GT(iwae_trained, elbo_trained);
  EXPECT_GT(dreg_trained, elbo_trained);
}

}  // namespace
}  // namespace dgm
