#include "models/latent_variable_model.h"

#include "core/error.h"

namespace dgm {

torch::Tensor LatentVariableModel::latent_values(const torch::Tensor&) const {
  fail("this model has a continuous latent space: its values cannot be enumerated");
}

std::string LatentVariableModel::describe() const {
  return fmt::format("latent variable model ({} -> {} latent)", data_dim(), latent_dim());
}

void TrainableModel::fit_closed_form(const torch::Tensor&) {
  fail("this model has no closed-form fit: train it with the gradient trainer");
}

}  // namespace dgm
