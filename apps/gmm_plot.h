#pragma once
// `dgm gmm fit --plot`: the points coloured by their most responsible
// component, shaded by that responsibility, and each component's 2-sigma
// ellipse; data of more than 2 dimensions is shown on its first two principal
// directions (means and covariances projected alike).

#include <torch/types.h>

#include <string>

#include "models/gaussian_mixture.h"

namespace dgm {

void write_mixture_plot(const std::string& path, const GaussianMixture& mixture, const torch::Tensor& x);

}  // namespace dgm
