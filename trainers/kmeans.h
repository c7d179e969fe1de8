#pragma once
// k-means for EM's initialisation: k-means++ seeding (Arthur & Vassilvitskii
// 2007, with scikit-learn's greedy local trials) and Lloyd steps, the
// distances computed in chunks that several CPU threads share.

#include <torch/types.h>

#include <cstdint>

#include "core/collectives.h"

namespace dgm {

/// Squared distances [n, K] of rows x [n, D] to centres [K, D], by
/// |x|^2 - 2 x.c + |c|^2, clamped at 0.
torch::Tensor squared_distances(const torch::Tensor& x, const torch::Tensor& centres);

/// Index of the nearest centre for every row [N], in chunks of `chunk_rows`
/// shared by `workers` threads.
torch::Tensor nearest_centres(const torch::Tensor& x, const torch::Tensor& centres, int64_t chunk_rows, int workers);

/// k-means++ seeding: k rows of x chosen from the current generator, each new
/// one in proportion to its squared distance from those chosen, the best of
/// 2 + log k candidates kept: [k, D].
/// Over a process group, x is this process's shard of the rows: the squared
/// distances are gathered (one number per row) so that every process draws
/// the same candidates from the same generator state, the candidates' rows
/// come from their owners, and the potentials are summed, so N processes
/// choose the centres one process would (to the rounding of those sums).
torch::Tensor kmeans_plus_plus(const torch::Tensor& x, int64_t k, Collectives& group = single_process());

/// Cluster centres by k-means++ seeding and up to `iterations` Lloyd steps
/// (stopping when no label changes): [K, D]. `workers` CPU threads share the
/// distance computations, each with single-threaded products. Over a process
/// group the counts and sums of each step are summed over the shards.
torch::Tensor kmeans_centres(const torch::Tensor& x, int64_t k, int64_t iterations, int64_t chunk_rows, int workers = 1,
                             Collectives& group = single_process());

}  // namespace dgm
