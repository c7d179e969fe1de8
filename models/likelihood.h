#pragma once
// What p(x | z) is for the decoder-based models (a native VAE, a TorchScript pair).

#include <torch/types.h>

#include <memory>

#include "core/distributions.h"
#include "core/options.h"

namespace dgm {

enum class Likelihood {
  kBernoulli,            ///< logits; data in [0, 1]
  kGaussian,             ///< means, with a per-pixel variance
  kDiscretizedLogistic,  ///< locations, with a per-pixel scale; 8-bit data k / 255
};
DGM_ENUM_NAMES(Likelihood, "likelihood", {Likelihood::kBernoulli, "bernoulli"}, {Likelihood::kGaussian, "gaussian"},
               {Likelihood::kDiscretizedLogistic, "discretized_logistic"});

/// The levels of each value a likelihood gives mass to: 256 for the
/// discretized logistic (8-bit pixels), 0 where it has a density (or models
/// binary data).
inline int64_t likelihood_levels(Likelihood likelihood) {
  return likelihood == Likelihood::kDiscretizedLogistic ? 256 : 0;
}

/// p(x | z) from a decoder's output `out` [..., D]: Bernoulli with logits
/// `out`, a diagonal Gaussian with means `out` and log-variances `log_var`
/// (broadcast to out's shape; unused for Bernoulli), or a discretized
/// logistic with locations `out` and log-scales `log_var`.
std::shared_ptr<Distribution> decoder_distribution(Likelihood likelihood, const torch::Tensor& out,
                                                   const torch::Tensor& log_var);

/// log p(x | z) of decoder_distribution summed over the observed entries of
/// x [B, D] (all of them without a mask): [...].
torch::Tensor decoder_log_likelihood(Likelihood likelihood, const torch::Tensor& out, const torch::Tensor& log_var,
                                     const torch::Tensor& x, const torch::Tensor& mask);

}  // namespace dgm
