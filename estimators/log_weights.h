#pragma once
// Importance log-weights log w = log p(x, z) - log q(z | x) with z ~ q: the
// quantity every sampling estimator of log p(x) is built from; and the stream
// of draws of z that the estimators take them from, chunk by chunk.

#include <torch/types.h>

#include <functional>

#include "core/distributions.h"
#include "models/latent_variable_model.h"

namespace dgm {

/// The `total` draws of z from q that an estimator uses, handed out in chunks
/// of any size, reparameterized when q allows it: sample i is the same however
/// the draws are chunked. On the CPU they are drawn one at a time (LibTorch's
/// vectorised normal sampler fills blocks of 16 values, so one call for n
/// samples differs from n calls for one). With `in_blocks` (on a GPU) they are
/// drawn kBlock at a time, in blocks whose boundaries depend only on `total`:
/// a kernel launch per sample is slow on a GPU (README, "GPU").
class SampleStream {
 public:
  static constexpr int64_t kBlock = 256;
  SampleStream(const Distribution& q, int64_t total, bool in_blocks);
  /// The next n draws, [n, *batch, *event]; at most `total` in all.
  torch::Tensor next(int64_t n);

 private:
  torch::Tensor draw(int64_t n) const;
  const Distribution& q_;
  int64_t remaining_;  ///< not yet drawn from q
  bool in_blocks_;
  torch::Tensor buffered_;  ///< drawn, not yet handed out
};

/// Whether the draws for x go in blocks: on a GPU, where launches cost.
inline bool draws_in_blocks(const torch::Tensor& x) { return x.is_cuda(); }

/// All `samples` draws of a SampleStream at once.
torch::Tensor draw_samples(const Distribution& q, int64_t samples, bool in_blocks);

/// The log-weights [S, B] of draws z [S, B, *event] from q.
torch::Tensor importance_log_weights(LatentVariableModel& model, const torch::Tensor& x, const Distribution& q,
                                     const torch::Tensor& z, const torch::Tensor& mask = {});

/// Values of x (times samples) per tile when the CPU weighs a chunk: about
/// 2 MB of float32 per [tile, B, D] tensor, which stays in cache (README,
/// "Performance", for what tiles of other sizes measured).
inline constexpr int64_t kTileValues = int64_t{1} << 19;

/// Draws `total` samples of z from q (a SampleStream) and weighs them `chunk`
/// at a time: consume(z, log_weights) gets every chunk, in order, on the
/// calling thread. The chunk bounds memory. Evaluation on the CPU (gradients
/// off) weighs a chunk in tiles of about kTileValues values, one tile per core
/// at once (the BLAS's thread count, OpenBLAS's or MKL's), each with single-threaded products. The
/// draws stay in order on the calling thread, so every estimate is that of one
/// chunk up to the rounding of the matrix products (about 1e-9 relative in
/// float32).
void weigh_in_chunks(LatentVariableModel& model, const torch::Tensor& x, const Distribution& q, int64_t total,
                     int64_t chunk, const torch::Tensor& mask,
                     const std::function<void(const torch::Tensor& z, const torch::Tensor& log_weights)>& consume);

}  // namespace dgm
