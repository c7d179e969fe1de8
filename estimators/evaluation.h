#pragma once
// What `dgm eval` reports of a model on a set of examples: the mean ELBO and
// the mean IWAE-k bound (a lower bound on log p(x) that tends to it as k
// grows; IWAE-5000 is the usual test log-likelihood), per example, with the
// active latent units (active_units.h), and AIS's estimate where asked
// (ais.h). The eval.* options of a config.

#include <torch/types.h>

#include <cstdint>

#include "core/collectives.h"
#include "core/dataset.h"
#include "core/options.h"
#include "estimators/active_units.h"
#include "estimators/ais.h"
#include "models/latent_variable_model.h"

namespace dgm {

// clang-format off
#define DGM_EVAL_OPTIONS(X)                                                                                 \
  X(int64_t, k, 5000, "importance samples per example for the IWAE bound", between(1, 1 << 24))            \
  X(int64_t, batch_size, 100, "examples per evaluation batch", between(1, 1 << 24))                        \
  X(int64_t, chunk, 250, "samples drawn at once: bounds memory at chunk x batch_size x data size",         \
    between(1, 1 << 24))                                                                                    \
  X(Split, split, Split::kTest, "the split evaluated, test or train", any_value())                         \
  X(uint64_t, seed, 0, "fixes the evaluation's draws (binarization of the examples, z)", any_value())             \
  X(int64_t, ais, 0, "AIS with this many intermediate distributions beside the bounds (0: none)",               \
    between(0, 10000000))
// clang-format on

/// The eval.* section of a config.
struct EvalOptions {
  DGM_EVAL_OPTIONS(DGM_OPTION_MEMBER)
  /// AIS's other settings (chains, leapfrog steps, ...); ais above is its T.
  AisOptions ais_settings;
};
DGM_OPTION_TABLE(EvalOptions, DGM_EVAL_OPTIONS)

struct Evaluation {
  /// Per example [N] (CPU), nats.
  torch::Tensor elbo, iwae;
  /// AIS's estimate per example [N] and its standard error, where options.ais > 0.
  torch::Tensor ais, ais_stderr;
  BandAcceptance ais_acceptance;
  ActiveUnits active;
  /// Wall time of the bounds (not the active units).
  double seconds = 0.0;
};

/// The ELBO and IWAE-k bound of every row of x [N, D] (already binarized
/// where the model needs it), batch by batch, under options.seed: the same
/// call gives the same figures. A progress bar on stderr when `progress`.
/// A non-finite result is a dgm::Error.
/// Each batch draws from its own seed (batch_seed), so a batch's figures do
/// not depend on which batches came before it: over a process group every
/// process (x is all the rows on each) evaluates a contiguous share of the
/// batches, and the per-example results, gathered in order, are those of
/// one process, as are their mean and standard error (every process returns
/// them).
Evaluation evaluate(LatentVariableModel& model, const torch::Tensor& x, const EvalOptions& options,
                    bool progress = false, Collectives& group = single_process());

/// The seed of batch b's draws: the evaluation's seed for batch 0 (so that a
/// one-batch evaluation is what it was before batches had their own seeds),
/// a stream derived from it for the others.
uint64_t batch_seed(uint64_t seed, int64_t batch);

}  // namespace dgm
