#include "apps/pictures.h"

#include <torch/torch.h>

#include "core/png_grid.h"
#include "models/class_latent.h"
#include "models/generation.h"

namespace dgm {

void write_samples_png(LatentVariableModel& model, int64_t n, const std::vector<int64_t>& image_shape,
                       const std::string& path) {
  ClassLatentModel* classes = class_latent(model);
  if (classes == nullptr || classes->classes() > 64) return write_png_grid(path, sample_means(model, n), image_shape);
  // z = (y, w): one row per class, each with 8 draws of w from p(w).
  torch::NoGradGuard no_grad;
  constexpr int64_t kPerClass = 8;
  const int64_t k = classes->classes();
  auto y = torch::arange(k, torch::kLong).repeat_interleave(kPerClass);
  auto w = classes->rest_prior(k * kPerClass).sample(1)[0];
  write_png_grid(path, decode_codes(model, join_class_and_rest(y.to(w.device()), w)), image_shape, kPerClass);
}

void write_reconstructions_png(LatentVariableModel& model, const torch::Tensor& x,
                               const std::vector<int64_t>& image_shape, const std::string& path) {
  // Rows of 8, or one row of them all when a small validation split has fewer.
  const int64_t kColumns = std::min<int64_t>(8, x.size(0));
  TORCH_CHECK(kColumns > 0, "write_reconstructions_png needs at least one example");
  const int64_t n = (x.size(0) / kColumns) * kColumns;
  auto originals = x.slice(0, 0, n);
  auto reconstructions = reconstruct(model, originals);
  // [rows, 8, D] pairs interleaved row by row: originals, then their reconstructions.
  auto grid =
      torch::stack(
          {originals.reshape({n / kColumns, kColumns, -1}), reconstructions.reshape({n / kColumns, kColumns, -1})}, 1)
          .reshape({2 * n, -1});
  write_png_grid(path, grid, image_shape, kColumns);
}

}  // namespace dgm
