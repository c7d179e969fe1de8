#include "estimators/exact_marginal.h"

#include <torch/torch.h>

#include "core/error.h"
#include "core/numerics.h"
#include "estimators/input_checks.h"

namespace dgm {

bool has_exact_marginal(LatentVariableModel& model) {
  const int64_t size = model.latent_support_size();
  return model.has_closed_form_marginal() || (size > 0 && size <= kMaxEnumeration);
}

torch::Tensor exact_log_marginal(LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options,
                                 const torch::Tensor& mask) {
  check_estimator_input(x, 1, mask, "exact marginal");
  if (auto closed = model.closed_form_log_marginal(x, mask)) return *closed;
  const int64_t size = model.latent_support_size();
  if (size == 0)
    fail(
        "this model has a continuous latent space and no closed-form marginal: log p(x) can only be estimated "
        "(use is, iwae or elbo)");
  if (size > kMaxEnumeration)
    fail(
        "the latent space has {} configurations (2^{:.0f}); exact enumeration is limited to {} (2^24): use a "
        "sampling estimator (is, iwae) instead",
        size, std::log2(static_cast<double>(size)), kMaxEnumeration);
  if (options.chunk < 0)
    fail("exact marginal: chunk = {} is not valid: it must be at least 1 (or 0: {})", options.chunk, kEnumerationChunk);
  const int64_t chunk = options.chunk > 0 ? options.chunk : kEnumerationChunk;
  const int64_t batch = x.size(0);
  LogSumExpAccumulator total;
  for (int64_t start = 0; start < size; start += chunk) {
    auto indices = torch::arange(start, std::min(size, start + chunk), x.options().dtype(torch::kLong));
    auto z = model.latent_values(indices);  // [c, *latent]
    std::vector<int64_t> shape{z.size(0), batch};
    for (int64_t d = 1; d < z.dim(); ++d) shape.push_back(z.size(d));
    total.add(model.log_joint(x, z.unsqueeze(1).expand(shape), mask));
  }
  return total.log_sum_exp();
}

}  // namespace dgm
