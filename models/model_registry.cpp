#include "models/model_registry.h"

#include "core/error.h"
#include "models/m2.h"
#include "models/ppca.h"
#include "models/sigmoid_belief_net.h"
#include "models/vae.h"

namespace dgm {
namespace {

ModelRegistry with_builtin_families() {
  ModelRegistry registry("model.type");
  registry.add(model_family<VaeOptions>(
      "vae", "variational autoencoder (Kingma & Welling 2013): MLP or conv, one or two stochastic layers",
      [](const VaeOptions& options, const DataShape& shape) { return Vae(options, shape).ptr(); }, check_vae_options));
  registry.add(model_family<PpcaOptions>(
      "ppca", "probabilistic PCA (Tipping & Bishop 1999): exact marginal and posterior, fitted in closed form",
      [](const PpcaOptions& options, const DataShape& shape) { return Ppca(options, shape).ptr(); }));
  registry.add(model_family<SigmoidBeliefNetOptions>(
      "sbn", "sigmoid belief net (Neal 1992): binary latents, exact log p(x) by summing 2^d terms",
      [](const SigmoidBeliefNetOptions& options, const DataShape& shape) {
        return SigmoidBeliefNet(options, shape).ptr();
      }));
  registry.add(model_family<M2Options>(
      "m2", "M2 (Kingma et al. 2014): z = (y, w), a class y and the rest w; p(y | x) by the sum over y",
      [](const M2Options& options, const DataShape& shape) { return M2(options, shape).ptr(); }, check_m2_options));
  return registry;
}

}  // namespace

ModelRegistry& model_registry() {
  static ModelRegistry registry = with_builtin_families();
  return registry;
}

ModelConfig::ModelConfig() : ModelConfig(kDefaultModelType) {}

ModelConfig::ModelConfig(const std::string& type) : type(type), options(model_registry().at(type).defaults) {}

std::shared_ptr<TrainableModel> create_model(const ModelConfig& config, const DataShape& shape) {
  const ModelFamily& family = model_registry().at(config.type);
  if (family.check) family.check(config.options, "model." + config.type);
  return family.create(config.options, shape);
}

}  // namespace dgm
