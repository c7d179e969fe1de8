#pragma once
// The model families dgm can make from a config, keyed by model.type: the
// built-in "vae", "ppca" and "sbn", and any a program registers. A family
// declares its model.* options (an options struct with its table, see
// core/options.h) and makes a fresh model for a data shape. `dgm train`, run
// directories and every command that loads a run go through this registry,
// so a new family is one new file and one registration:
//
//   static const dgm::RegisterModel toy(dgm::model_family<ToyOptions>(
//       "toy", "a toy model", [](const ToyOptions& o, const dgm::DataShape& s) { return std::make_shared<ToyImpl>(o,
//       s); }));

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/dataset.h"
#include "core/options.h"
#include "core/registry.h"
#include "models/latent_variable_model.h"

namespace dgm {

/// The model.type every config starts from.
inline constexpr const char* kDefaultModelType = "vae";

struct ModelFamily {
  /// model.type, e.g. "vae".
  std::string name;
  /// One line for listings.
  std::string summary;
  /// Its model.* options with their defaults (model.type aside).
  AnyOptions defaults;
  /// Checks what one option alone cannot; errors name `where`. May be empty.
  std::function<void(const AnyOptions& options, const std::string& where)> check;
  /// A model with fresh parameters, drawn from the current generator, for
  /// examples of `shape`.
  std::function<std::shared_ptr<TrainableModel>(const AnyOptions& options, const DataShape& shape)> create;
};

/// A family whose options are the struct Options (with an option_table):
/// `create` gets them typed.
template <typename Options>
ModelFamily model_family(std::string name, std::string summary,
                         std::function<std::shared_ptr<TrainableModel>(const Options&, const DataShape&)> create,
                         std::function<void(const Options&, const std::string&)> check = nullptr) {
  ModelFamily family;
  family.name = std::move(name);
  family.summary = std::move(summary);
  family.defaults = AnyOptions::of(Options{});
  if (check)
    family.check = [check](const AnyOptions& options, const std::string& where) {
      check(options.as<Options>(), where);
    };
  family.create = [create](const AnyOptions& options, const DataShape& shape) {
    return create(options.as<Options>(), shape);
  };
  return family;
}

using ModelRegistry = Registry<ModelFamily>;

/// Every family dgm knows: the built-in ones, then those registered since.
ModelRegistry& model_registry();

/// Registers a family when constructed (a static object in a program or test).
struct RegisterModel {
  explicit RegisterModel(ModelFamily family) { model_registry().add(std::move(family)); }
};

/// The model.* section of a config: a family and its options.
struct ModelConfig {
  /// The default family (vae) with its default options.
  ModelConfig();
  /// `type`'s family with its default options.
  explicit ModelConfig(const std::string& type);
  std::string type;
  AnyOptions options;
};

/// A fresh model of the config's family for examples of `shape`.
std::shared_ptr<TrainableModel> create_model(const ModelConfig& config, const DataShape& shape);

}  // namespace dgm
