#pragma once
// What several dgm processes say to each other: sums, broadcasts and
// gathers of tensors over a process group (core/process_group.h joins one
// through c10d; Gloo on CPU). Code that can run as N processes takes a
// Collectives& and its share of the rows; single_process() makes every
// collective the identity, so the same code is the one-process path.

#include <torch/types.h>

#include <cstdint>
#include <utility>

namespace dgm {

class Collectives {
 public:
  virtual ~Collectives() = default;
  /// This process's place, 0..size() - 1; rank 0 writes files and prints.
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// Every process's t summed, on every process (in place; any device).
  virtual void all_reduce_sum(torch::Tensor& t) = 0;
  /// root's t on every process (in place; the same shape everywhere).
  virtual void broadcast(torch::Tensor& t, int root) = 0;
  /// Every process's t (the same shape everywhere) stacked in rank order: [size, ...].
  virtual torch::Tensor all_gather(const torch::Tensor& t) = 0;
  /// Returns when every process has reached it.
  virtual void barrier() = 0;
  bool is_main() const { return rank() == 0; }
};

/// The process alone: every collective is the identity.
Collectives& single_process();

/// Rows [begin, end) of n that process `rank` of `size` holds: contiguous,
/// in rank order, their counts differing by at most one.
std::pair<int64_t, int64_t> shard_of(int64_t n, int rank, int size);

/// Each process's rows [n_r, ...] (any n_r, the same trailing shape)
/// concatenated in rank order on every process.
torch::Tensor all_gather_rows(Collectives& group, const torch::Tensor& rows);

/// A number summed over the processes (float64 on the wire: exact for
/// integers below 2^53).
double all_reduce_sum(Collectives& group, double value);

/// Where this process's rows sit among the rows all processes hold together,
/// in rank order: rows [begin, begin + count) of total.
struct RowShard {
  int64_t begin = 0, count = 0, total = 0;
};
/// The shard of a process holding `local_rows` rows (a collective: every
/// process calls it).
RowShard row_shard(Collectives& group, int64_t local_rows);

/// Rows `indices` (int64 [m], numbered among all processes' rows) of the
/// rows held together, on every process: each owner contributes its own,
/// summed over the group. local is this process's rows [count, ...].
torch::Tensor rows_at(Collectives& group, const RowShard& shard, const torch::Tensor& local,
                      const torch::Tensor& indices);

}  // namespace dgm
