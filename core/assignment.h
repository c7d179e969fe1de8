#pragma once
// The linear assignment problem: match rows to columns one to one so that
// the matched scores add up to the most. Used to score a clustering against
// the true classes (cluster accuracy: the best one-to-one naming of clusters
// by classes, as in the clustering literature since Yang et al. 2010).

#include <torch/types.h>

#include <vector>

namespace dgm {

/// The column matched to each row of `score` [R, C] (float64 or convertible)
/// that maximizes the sum of the matched scores, each column used at most
/// once: [R] entries, -1 for a row left unmatched when R > C. O(n^3) in
/// n = max(R, C) (the Hungarian method with potentials, Kuhn 1955 / Munkres 1957).
std::vector<int64_t> best_assignment(const torch::Tensor& score);

}  // namespace dgm
