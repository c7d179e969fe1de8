#pragma once
// A fitted mixture on disk: DIR/gmm.json (type, sizes, fit summary), DIR/gmm.pt
// (weights, means, precision Cholesky factors) and the same three as NPY files
// under scikit-learn's names, all written atomically.

#include <nlohmann/json.hpp>

#include <string>

#include "models/gaussian_mixture.h"

namespace dgm {

/// Saves the mixture and `summary` (any JSON object, e.g. the fit's figures).
void save_mixture(const std::string& dir, const GaussianMixture& mixture, const nlohmann::json& summary);

/// Loads a mixture saved by save_mixture; a missing or damaged directory is a
/// dgm::Error naming the file.
GaussianMixture load_mixture(const std::string& dir, torch::Device device, torch::Dtype dtype);

}  // namespace dgm
