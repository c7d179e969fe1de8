#include "core/png_grid.h"

#include <png.h>
#include <torch/torch.h>

#include <cmath>
#include <csetjmp>
#include <cstdio>

#include "core/atomic_file.h"
#include "core/error.h"

namespace dgm {
namespace {

constexpr int64_t kBorder = 2;

/// Closes a FILE* however the function leaves.
struct FileCloser {
  void operator()(FILE* file) const {
    if (file != nullptr) std::fclose(file);
  }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;

void write_png(const std::string& path, const torch::Tensor& pixels) {  // pixels [H, W, C] uint8
  const auto height = pixels.size(0), width = pixels.size(1), channels = pixels.size(2);
  FilePtr file(std::fopen(path.c_str(), "wb"));
  if (!file) fail("cannot open {} for writing", path);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (png == nullptr || info == nullptr) {
    png_destroy_write_struct(&png, nullptr);
    fail("libpng could not start writing {}", path);
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    fail("libpng failed while writing {} (disk full?)", path);
  }
  png_init_io(png, file.get());
  png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8,
               channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  auto* data = pixels.data_ptr<uint8_t>();
  for (int64_t row = 0; row < height; ++row) png_write_row(png, data + row * width * channels);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  if (std::fflush(file.get()) != 0) fail("cannot write {}", path);
}

}  // namespace

void write_png_grid(const std::string& path, const torch::Tensor& images, const std::vector<int64_t>& image_shape,
                    int64_t columns) {
  if (image_shape.size() != 2 && image_shape.size() != 3)
    fail("cannot draw {}: examples of {} values have no picture shape", path, images.size(1));
  const int64_t channels = image_shape.size() == 3 ? image_shape[0] : 1;
  if (channels != 1 && channels != 3) fail("cannot draw {}: {} channels (1 or 3 expected)", path, channels);
  const int64_t height = image_shape[image_shape.size() - 2], width = image_shape.back();
  const int64_t n = images.size(0);
  TORCH_CHECK(n > 0 && images.size(1) == channels * height * width, "write_png_grid: images ", images.sizes(),
              " do not match the picture shape");
  if (columns <= 0) columns = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(n))));
  const int64_t rows = (n + columns - 1) / columns;
  // [N, C, H, W] -> [H, W, C] tiles placed on a canvas with borders.
  auto tiles = (images.detach().to(torch::kCPU, torch::kFloat32).clamp(0, 1) * 255.0)
                   .round()
                   .to(torch::kUInt8)
                   .reshape({n, channels, height, width})
                   .permute({0, 2, 3, 1});
  auto canvas = torch::full({rows * (height + kBorder) + kBorder, columns * (width + kBorder) + kBorder, channels}, 64,
                            torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t top = kBorder + (i / columns) * (height + kBorder);
    const int64_t left = kBorder + (i % columns) * (width + kBorder);
    canvas.slice(0, top, top + height).slice(1, left, left + width).copy_(tiles[i]);
  }
  write_atomically(path, [&](const std::string& tmp) { write_png(tmp, canvas.contiguous()); });
}

torch::Tensor read_png(const std::string& path) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, path.c_str())) fail("cannot read PNG {}: {}", path, image.message);
  const bool colour = (image.format & PNG_FORMAT_FLAG_COLOR) != 0;
  image.format = colour ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  const int64_t channels = colour ? 3 : 1;
  auto pixels = torch::empty({image.height, image.width, channels}, torch::kUInt8);
  if (!png_image_finish_read(&image, nullptr, pixels.data_ptr<uint8_t>(), 0, nullptr))
    fail("cannot decode PNG {}: {}", path, image.message);
  return pixels;
}

}  // namespace dgm
