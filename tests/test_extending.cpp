// Extending dgm from outside the library, as a program would (README,
// "Extending dgm"): a model family and an estimator, each one registration,
// then trained, checkpointed, reloaded and evaluated through the registries
// and the same library calls the dgm program makes.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "core/options.h"
#include "core/random.h"
#include "estimators/evaluation.h"
#include "estimators/iwae_bound.h"
#include "estimators/registry.h"
#include "models/model_registry.h"
#include "test_support.h"
#include "trainers/config.h"
#include "trainers/run_directory.h"
#include "trainers/trainer.h"

// --- a model family: a mixture of Bernoullis (README, "Extending dgm") ------

// Its model.* options, declared once: the YAML keys, defaults and checks.
#define BERNOULLI_MIXTURE_OPTIONS(X) X(int64_t, components, 10, "mixture components K", dgm::between(1, 1000))

struct BernoulliMixtureOptions {
  BERNOULLI_MIXTURE_OPTIONS(DGM_OPTION_MEMBER)
};
namespace dgm {
DGM_OPTION_TABLE(BernoulliMixtureOptions, BERNOULLI_MIXTURE_OPTIONS)
}

/// z ~ Categorical(pi), x | z = k ~ Bernoulli(sigmoid(theta_k)): a finite
/// latent space, so dgm sums over it exactly, and its posterior is exact.
class BernoulliMixture : public dgm::TrainableModel {
 public:
  BernoulliMixture(const BernoulliMixtureOptions& options, const dgm::DataShape& shape)
      : components_(options.components), dim_(shape.dim) {
    logits_ = register_parameter("logits", torch::randn({components_, dim_}) * 0.1);
    weight_logits_ = register_parameter("weight_logits", torch::zeros({components_}));
  }
  std::shared_ptr<dgm::Distribution> prior(int64_t batch) override {
    return std::make_shared<dgm::Categorical>(weight_logits_.expand({batch, components_}));
  }
  /// p(z | x): log pi_k + log p(x | k), normalised.
  std::shared_ptr<dgm::Distribution> proposal(const torch::Tensor& x, const torch::Tensor& mask = {}) override {
    return std::make_shared<dgm::Categorical>(torch::log_softmax(weight_logits_, 0) +
                                              component_log_likelihoods(x, mask));
  }
  bool proposal_is_posterior() const override { return true; }
  std::shared_ptr<dgm::Distribution> likelihood(const torch::Tensor& z) override {
    auto sizes = z.sizes().vec();
    sizes.push_back(dim_);
    return std::make_shared<dgm::Bernoulli>(logits_.index_select(0, z.flatten()).view(sizes));
  }
  torch::Tensor log_likelihood(const torch::Tensor& x, const torch::Tensor& z, const torch::Tensor& mask) override {
    auto all = component_log_likelihoods(x, mask);  // [B, K]
    return all.unsqueeze(0).expand({z.size(0), x.size(0), components_}).gather(-1, z.unsqueeze(-1)).squeeze(-1);
  }
  int64_t latent_support_size() const override { return components_; }
  torch::Tensor latent_values(const torch::Tensor& indices) const override { return indices; }
  int64_t data_dim() const override { return dim_; }
  int64_t latent_dim() const override { return 1; }
  bool needs_unit_interval() const override { return true; }

 private:
  /// log p(x_b | z = k) over the observed entries: [B, K], two matrix products.
  torch::Tensor component_log_likelihoods(const torch::Tensor& x, const torch::Tensor& mask) const {
    auto observed = mask.defined() ? mask.to(x.dtype()) : torch::ones_like(x);
    return (x * observed).matmul(logits_.t()) - observed.matmul(torch::softplus(logits_).t());
  }
  int64_t components_, dim_;
  torch::Tensor logits_, weight_logits_;
};

// One registration: model.type bernoulli_mixture now works in configs, run
// directories and everything that loads them.
const dgm::RegisterModel kBernoulliMixture(dgm::model_family<BernoulliMixtureOptions>(
    "bernoulli_mixture", "a mixture of Bernoullis: z ~ Cat(pi), x | z ~ Bernoulli(sigmoid(theta_z))",
    [](const BernoulliMixtureOptions& options, const dgm::DataShape& shape) {
      return std::make_shared<BernoulliMixture>(options, shape);
    }));

// --- an estimator: the IWAE bound with the prior as proposal ----------------

const dgm::RegisterEstimator kPriorIwae({"prior_iwae", "the IWAE-k bound with z drawn from the prior",
                                         dgm::EstimateKind::kLowerBound, /*differentiable=*/true,
                                         [](dgm::LatentVariableModel& model, const torch::Tensor& x,
                                            dgm::EstimatorOptions options, const torch::Tensor& mask) {
                                           options.proposal = dgm::prior_proposal();
                                           auto bound = dgm::iwae_bound(model, x, options, mask);
                                           return dgm::Estimate{bound, bound, std::nullopt, std::nullopt};
                                         }});

namespace dgm {
namespace {

TEST(Extending, ARegisteredModelTypeIsAConfigWithItsOwnKeys) {
  const Config config = parse_config("model:\n  type: bernoulli_mixture\n  components: 4\n", "toy.yaml");
  EXPECT_EQ(config.model.options.as<BernoulliMixtureOptions>().components, 4);
  const auto message =
      test::error_message_of([] { parse_config("model:\n  type: bernoulli_mixture\n  latent_dim: 4\n", "toy.yaml"); });
  EXPECT_NE(message.find("toy.yaml:3: unknown key 'model.latent_dim'"), std::string::npos) << message;
  EXPECT_NE(message.find("model.type bernoulli_mixture takes components"), std::string::npos) << message;
  EXPECT_NE(describe_config_keys().find("model.components (bernoulli_mixture)"), std::string::npos);
  const auto unknown = test::error_message_of([] { parse_config("model: {type: bernoulli_mix}", "toy.yaml"); });
  EXPECT_NE(unknown.find("bernoulli_mixture"), std::string::npos) << unknown;
}

TEST(Extending, ARegisteredModelTrainsCheckpointsReloadsAndEvaluatesLikeABuiltInOne) {
  // What `dgm train` does, for the registered family, with the exact likelihood.
  const auto dir = test::make_temp_dir("toy-run");
  Config config = parse_config("model: {type: bernoulli_mixture, components: 6}", "toy.yaml",
                               {"data.limit=2000", "data.val_size=400", "data.binarize=fixed", "train.epochs=3",
                                "train.batch_size=100", "train.lr=0.05", "train.objective=exact"});
  ImageSet all = load_images(config.data, Split::kTrain);
  TrainValidation data = split_validation(all, config.data.val_size, config.train.trainer.seed);
  RunTraining training(dir, config, all, data, /*resume=*/false, /*progress=*/false);
  const double before = training.trainer().validate_elbo(binarize_seeded(data.validation.x, 1));
  const TrainResult result = training.fit();
  EXPECT_GT(result.best_validation, before + 20.0);

  // What `dgm eval --run` and `dgm estimate --run` do: load whatever the run holds.
  LoadedRun run = load_run(dir, torch::kCPU);
  EXPECT_EQ(run.metadata.model_type, "bernoulli_mixture");
  ASSERT_NE(std::dynamic_pointer_cast<BernoulliMixture>(run.model), nullptr);
  auto x = test::binary_fashion_mnist(50, Split::kTest);
  torch::NoGradGuard no_grad;
  const auto exact = estimate("exact", *run.model, x).value;
  // The exact posterior as proposal: every weight is p(x), even from one sample.
  EXPECT_TRUE(torch::allclose(estimate("is", *run.model, x, EstimatorOptions{1}).value, exact, 1e-4, 1e-4));
  // The registered estimator answers through the same table, below the exact value.
  EstimatorOptions many;
  many.k = 200;
  const auto prior_bound = estimate("prior_iwae", *run.model, x, many).value;
  EXPECT_NEAR(prior_bound.mean().item<double>(), exact.mean().item<double>(), 0.5);
  // `dgm eval`'s figures: with the exact posterior the IWAE bound is exact,
  // and the ELBO is below it.
  EvalOptions eval;
  eval.k = 20;
  const Evaluation evaluation = evaluate(*run.model, x, eval);
  EXPECT_TRUE(torch::allclose(evaluation.iwae, exact.cpu(), 1e-4, 1e-4));
  EXPECT_LE(evaluation.elbo.mean().item<double>(), evaluation.iwae.mean().item<double>() + 1e-3);
}

TEST(Extending, ARegisteredEstimatorIsATrainingObjective) {
  const auto objectives = training_objective_names();
  EXPECT_NE(std::find(objectives.begin(), objectives.end(), "prior_iwae"), objectives.end());
  EXPECT_NO_THROW(parse_config("train: {objective: prior_iwae, k: 5}", "toy.yaml"));
  DataOptions options;
  options.limit = 600;
  TrainValidation data = split_validation(load_images(options, Split::kTrain), 100, 0);
  seed_everything(0);
  auto model = create_model(parse_config("model: {type: bernoulli_mixture, components: 3}", "toy.yaml").model,
                            data.train.shape());
  TrainerOptions trainer_options = test::quiet_trainer(1);
  Trainer trainer(model, test::objective_named("prior_iwae", 5), trainer_options);
  const TrainResult result = trainer.fit(data.train, data.validation);
  EXPECT_TRUE(std::isfinite(result.best_validation));
  EXPECT_EQ(trainer.objective().name(), "prior_iwae (k=5)");
}

}  // namespace
}  // namespace dgm
