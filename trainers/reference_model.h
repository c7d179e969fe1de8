#pragma once
// A model fitted on the spot, in memory, as a reference for the estimators
// (`dgm estimate --model ppca|sbn`): any registered family, fitted in closed
// form where it can be (pPCA, in float64: its D x D algebra must be exact
// enough to be the reference), else by the gradient trainer on its exact
// likelihood where it has one (a sigmoid belief net) or the ELBO.

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "core/dataset.h"
#include "models/latent_variable_model.h"

namespace dgm {

struct ReferenceFitOptions {
  /// The registered model family (model.type). Default: ppca.
  std::string type = "ppca";
  /// Latent size (0 = the family's default). Default: 0.
  int64_t latent_dim = 0;
  /// Gradient fitting: passes over the examples. Default: 5.
  int64_t epochs = 5;
  /// Gradient fitting: Adam's learning rate (a shallow model learns fast). Default: 3e-2.
  double lr = 3e-2;
  /// Gradient fitting: examples per step. Default: 50.
  int64_t batch_size = 50;
  /// Fixes the initialisation, the binarization and the draws. Default: 0.
  uint64_t seed = 0;
};

struct ReferenceModel {
  std::shared_ptr<TrainableModel> model;
  /// What was fitted, to what: for reports.
  std::string description;
};

/// Fits a model of options.type to the training examples `train` on `device`.
/// Binary models see the examples binarized once (seeded); a tenth of them is
/// held out to validate a gradient fit.
ReferenceModel fit_reference_model(const ReferenceFitOptions& options, const ImageSet& train,
                                   const torch::Device& device);

}  // namespace dgm
