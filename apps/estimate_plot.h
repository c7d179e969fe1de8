#pragma once
// The picture `dgm estimate --plot` draws with gnuplot: the running estimate of
// log p(x) against the number of samples, naive Monte Carlo beside importance
// sampling, on one example (the lecture's argument for importance sampling);
// and each estimator's bias (or mean, without an exact value) against k.

#include <torch/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "estimators/proposal.h"
#include "models/latent_variable_model.h"

namespace dgm {

/// means_without_k: estimators that do not read k (AIS), drawn as level lines.
void write_estimate_plot(const std::string& path, LatentVariableModel& model, const torch::Tensor& example,
                         const torch::Tensor& example_mask, const Proposal& proposal, const std::vector<int64_t>& ks,
                         const std::map<std::string, std::vector<double>>& means_by_estimator,
                         std::optional<double> exact_mean, std::optional<double> exact_of_example,
                         const std::map<std::string, double>& means_without_k = {});

}  // namespace dgm
