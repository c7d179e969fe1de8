#include "core/assignment.h"

#include <torch/torch.h>

#include <limits>

#include "core/error.h"

namespace dgm {

std::vector<int64_t> best_assignment(const torch::Tensor& score) {
  if (score.dim() != 2) fail("best_assignment needs a matrix of scores, got shape {}", c10::str(score.sizes()));
  const int64_t rows = score.size(0), columns = score.size(1), n = std::max(rows, columns);
  if (n == 0) return {};
  // Minimize cost = -score on an n x n matrix padded with zeros (a padded row
  // or column is "no match"), 1-based as in the classical statement.
  auto s = score.to(torch::kCPU, torch::kFloat64).contiguous();
  if (!torch::isfinite(s).all().item<bool>()) fail("best_assignment: the scores must be finite");
  const double* data = s.data_ptr<double>();
  auto cost = [&](int64_t i, int64_t j) {
    return i <= rows && j <= columns ? -data[(i - 1) * columns + (j - 1)] : 0.0;
  };
  const double infinity = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1, 0.0), v(n + 1, 0.0);
  std::vector<int64_t> match(n + 1, 0), way(n + 1, 0);  // match[j]: the row matched to column j
  for (int64_t i = 1; i <= n; ++i) {
    match[0] = i;
    int64_t j0 = 0;
    std::vector<double> least(n + 1, infinity);
    std::vector<bool> used(n + 1, false);
    do {
      used[j0] = true;
      const int64_t i0 = match[j0];
      double delta = infinity;
      int64_t j1 = 0;
      for (int64_t j = 1; j <= n; ++j) {
        if (used[j]) continue;
        const double reduced = cost(i0, j) - u[i0] - v[j];
        if (reduced < least[j]) {
          least[j] = reduced;
          way[j] = j0;
        }
        if (least[j] < delta) {
          delta = least[j];
          j1 = j;
        }
      }
      for (int64_t j = 0; j <= n; ++j) {
        if (used[j]) {
          u[match[j]] += delta;
          v[j] -= delta;
        } else {
          least[j] -= delta;
        }
      }
      j0 = j1;
    } while (match[j0] != 0);
    do {  // flip the augmenting path
      const int64_t j1 = way[j0];
      match[j0] = match[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<int64_t> column_of(rows, -1);
  for (int64_t j = 1; j <= n; ++j)
    if (match[j] >= 1 && match[j] <= rows && j <= columns) column_of[match[j] - 1] = j - 1;
  return column_of;
}

}  // namespace dgm
