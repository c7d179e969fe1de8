#include "models/latent_variable_model.h"

#include "core/error.h"

namespace dgm {

torch::Tensor LatentVariableModel::latent_values(const torch::Tensor&) const {
  fail("this model has a continuous latent space: its values cannot be enumerated");
}

}  // namespace dgm
