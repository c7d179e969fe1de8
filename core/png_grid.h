#pragma once
// PNG pictures of examples: a grid of images, written with libpng, atomically.

#include <torch/types.h>

#include <string>
#include <vector>

namespace dgm {

/// Writes the rows of `images` ([N, D], values in [0, 1], clamped) as a grid of
/// pictures of `image_shape` ([H, W] grey or [C, H, W] with C = 1 or 3), `columns`
/// per row (0 = a square-ish grid), with a 2-pixel border.
void write_png_grid(const std::string& path, const torch::Tensor& images, const std::vector<int64_t>& image_shape,
                    int64_t columns = 0);

/// Reads back a PNG's width, height and channels plus its pixels [H, W, C]
/// (uint8): for tests.
torch::Tensor read_png(const std::string& path);

}  // namespace dgm
