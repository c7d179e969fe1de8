#include "core/collectives.h"

#include <torch/torch.h>

#include "core/error.h"

namespace dgm {
namespace {

class SingleProcess final : public Collectives {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_reduce_sum(torch::Tensor&) override {}
  void broadcast(torch::Tensor&, int) override {}
  torch::Tensor all_gather(const torch::Tensor& t) override { return t.unsqueeze(0); }
  void barrier() override {}
};

}  // namespace

Collectives& single_process() {
  static SingleProcess alone;
  return alone;
}

std::pair<int64_t, int64_t> shard_of(int64_t n, int rank, int size) {
  if (size < 1 || rank < 0 || rank >= size) fail("shard_of: rank {} of {} processes is not valid", rank, size);
  const int64_t base = n / size, extra = n % size;
  const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

torch::Tensor all_gather_rows(Collectives& group, const torch::Tensor& rows) {
  if (group.size() == 1) return rows;
  auto counts = group.all_gather(torch::tensor({rows.size(0)}, torch::kInt64)).flatten();
  const int64_t most = counts.max().item<int64_t>();
  // Gloo gathers equal shapes: pad every part to the longest, then trim.
  std::vector<int64_t> padded_shape(rows.sizes().begin(), rows.sizes().end());
  padded_shape[0] = most;
  auto padded = torch::zeros(padded_shape, rows.options());
  padded.slice(0, 0, rows.size(0)).copy_(rows);
  auto gathered = group.all_gather(padded);
  std::vector<torch::Tensor> parts;
  for (int r = 0; r < group.size(); ++r) parts.push_back(gathered[r].slice(0, 0, counts[r].item<int64_t>()));
  return torch::cat(parts);
}

double all_reduce_sum(Collectives& group, double value) {
  if (group.size() == 1) return value;
  auto t = torch::tensor({value}, torch::kFloat64);
  group.all_reduce_sum(t);
  return t.item<double>();
}

RowShard row_shard(Collectives& group, int64_t local_rows) {
  if (group.size() == 1) return {0, local_rows, local_rows};
  auto counts = group.all_gather(torch::tensor({local_rows}, torch::kInt64)).flatten();
  RowShard shard;
  shard.count = local_rows;
  shard.begin = counts.slice(0, 0, group.rank()).sum().item<int64_t>();
  shard.total = counts.sum().item<int64_t>();
  return shard;
}

torch::Tensor rows_at(Collectives& group, const RowShard& shard, const torch::Tensor& local,
                      const torch::Tensor& indices) {
  if (group.size() == 1) return local.index_select(0, indices.to(local.device()));
  auto global = indices.to(torch::kCPU);
  auto own = (global >= shard.begin) & (global < shard.begin + shard.count);
  std::vector<int64_t> shape(local.sizes().begin(), local.sizes().end());
  shape[0] = global.size(0);
  auto rows = torch::zeros(shape, local.options());
  auto positions = own.nonzero().squeeze(1);
  if (positions.numel() > 0)
    rows.index_copy_(0, positions.to(local.device()),
                     local.index_select(0, (global.index_select(0, positions) - shard.begin).to(local.device())));
  group.all_reduce_sum(rows);  // one owner per row, zeros elsewhere: the sum is the row, exactly
  return rows;
}

}  // namespace dgm
