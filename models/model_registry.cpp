#include "models/model_registry.h"

#include "core/error.h"
#include "models/ppca.h"
#include "models/sigmoid_belief_net.h"
#include "models/vae.h"

namespace dgm {
namespace {

ModelRegistry with_builtin_families() {
  ModelRegistry registry;
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
  return registry;
}

}  // namespace

void ModelRegistry::add(ModelFamily family) {
  if (family.name.empty() || !family.create) fail("a model family needs a name and a create function");
  if (contains(family.name)) fail("a model family named '{}' is already registered", family.name);
  families_.push_back(std::move(family));
}

const ModelFamily& ModelRegistry::at(const std::string& name) const {
  for (const auto& family : families_)
    if (family.name == name) return family;
  fail("unknown model.type '{}': the registered ones are {}", name, join_choices(names(), ", "));
}

bool ModelRegistry::contains(const std::string& name) const {
  for (const auto& family : families_)
    if (family.name == name) return true;
  return false;
}

std::vector<std::string> ModelRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& family : families_) out.push_back(family.name);
  return out;
}

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
