#pragma once
// What p(x | z) is for the decoder-based models (a native VAE, a TorchScript pair).

#include "core/options.h"

namespace dgm {

enum class Likelihood {
  kBernoulli,  ///< logits; data in [0, 1]
  kGaussian,   ///< means, with a per-pixel variance
};
DGM_ENUM_NAMES(Likelihood, "likelihood", {Likelihood::kBernoulli, "bernoulli"}, {Likelihood::kGaussian, "gaussian"});

}  // namespace dgm
