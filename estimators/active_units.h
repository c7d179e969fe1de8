#pragma once
// The "active units" diagnostic of the IWAE paper (Burda et al. 2015, sec. 5.2):
// latent dimension j is active when Cov_x(E_q[z_j | x]) > 0.01, i.e. when the
// mean of the proposal moves with the data; inactive units are ignored by the
// decoder and mark a posterior that collapsed to the prior.

#include <torch/types.h>

#include "models/latent_variable_model.h"

namespace dgm {

struct ActiveUnits {
  int64_t active = 0;
  int64_t total = 0;
  /// Variance over examples of each dimension's proposal mean: [D_z].
  torch::Tensor variances;
  /// False where the proposal has no mean (a category, as a mixture's z):
  /// the diagnostic does not apply.
  bool defined = true;
};

/// Counts active units over the rows of x [N, D], in batches; `threshold`
/// defaults to the paper's 0.01.
ActiveUnits active_units(LatentVariableModel& model, const torch::Tensor& x, double threshold = 0.01,
                         int64_t batch_size = 1000);

}  // namespace dgm
