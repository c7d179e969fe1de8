#pragma once
// What `dgm estimate` and `dgm inpaint` evaluate: a model and the examples it
// is evaluated on, from a run directory or built on the spot (pPCA fitted in
// closed form, a sigmoid belief net fitted by exact maximum likelihood).

#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "models/latent_variable_model.h"

namespace dgm {

struct SubjectOptions {
  std::string run;      ///< a run directory, or empty
  std::string encoder;  ///< or a TorchScript encoder/decoder pair (see models/torchscript_vae.h)
  std::string decoder;
  std::string likelihood = "bernoulli";
  std::string binarize;    ///< for a TorchScript pair: none (default), fixed or dynamic
  std::string model;       ///< ppca or sbn when run is empty
  std::string data;        ///< overrides data.path (an IDX directory or file)
  int64_t latent_dim = 0;  ///< 0 = the model's default (pPCA 8, SBN 10)
  int64_t fit_n = 2000;    ///< training examples the reference model is fitted on
  int64_t epochs = 5;      ///< SBN fitting epochs
  int64_t n = 100;         ///< examples evaluated
  uint64_t seed = 0;
  std::string device = "auto";
};

struct EstimationSubject {
  std::shared_ptr<void> owner;  ///< keeps the model alive
  LatentVariableModel* model = nullptr;
  torch::Tensor x;  ///< [n, D] test examples, binarized where the model needs it
  std::vector<int64_t> image_shape;
  std::string description;
};

EstimationSubject load_subject(const SubjectOptions& options);

}  // namespace dgm
