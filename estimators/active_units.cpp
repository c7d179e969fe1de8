#include "estimators/active_units.h"

#include <torch/torch.h>

#include "core/error.h"

namespace dgm {

ActiveUnits active_units(LatentVariableModel& model, const torch::Tensor& x, double threshold, int64_t batch_size) {
  if (x.size(0) < 2) fail("active units need at least 2 examples, got {}", x.size(0));
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> means;
  for (int64_t start = 0; start < x.size(0); start += batch_size) {
    auto q = model.proposal(x.slice(0, start, start + batch_size));
    if (!q->has_mean()) {
      ActiveUnits undefined;
      undefined.defined = false;
      return undefined;
    }
    means.push_back(q->mean().to(torch::kFloat64));
  }
  auto all = torch::cat(means);
  if (all.dim() != 2) fail("active units need a proposal whose mean is [N, D_z], got {}", c10::str(all.sizes()));
  ActiveUnits result;
  result.variances = all.var(0, /*unbiased=*/false).cpu();
  result.total = all.size(1);
  result.active = result.variances.gt(threshold).sum().item<int64_t>();
  return result;
}

}  // namespace dgm
