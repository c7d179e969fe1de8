// PNG grids: the pixels written are the pixels read back.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "core/error.h"
#include "core/png_grid.h"
#include "test_support.h"

namespace dgm {
namespace {

TEST(PngGrid, WritesTilesWithBordersThatReadBack) {
  const auto path = test::make_temp_dir("png") + "/grid.png";
  auto images = torch::zeros({3, 4 * 5});
  images[1] = 1.0;                 // second tile white
  images[2].slice(0, 0, 5) = 0.5;  // third tile: first row grey
  write_png_grid(path, images, {4, 5}, 2);
  auto pixels = read_png(path);  // 2 rows x 2 columns of 4x5 tiles, 2-pixel borders
  ASSERT_EQ(pixels.sizes(), (std::vector<int64_t>{2 * (4 + 2) + 2, 2 * (5 + 2) + 2, 1}));
  EXPECT_EQ(pixels[2][2][0].item<uint8_t>(), 0);        // tile 0
  EXPECT_EQ(pixels[2][2 + 7][0].item<uint8_t>(), 255);  // tile 1
  EXPECT_EQ(pixels[2 + 6][2][0].item<uint8_t>(), 128);  // tile 2, first row
  EXPECT_EQ(pixels[3 + 6][2][0].item<uint8_t>(), 0);    // tile 2, second row
  EXPECT_EQ(pixels[0][0][0].item<uint8_t>(), 64);       // border
}

TEST(PngGrid, RgbImagesKeepTheirChannels) {
  const auto path = test::make_temp_dir("png-rgb") + "/rgb.png";
  auto image = torch::zeros({1, 3, 2, 2});
  image[0][0] = 1.0;  // red
  write_png_grid(path, image.reshape({1, -1}), {3, 2, 2});
  auto pixels = read_png(path);
  ASSERT_EQ(pixels.size(2), 3);
  EXPECT_EQ(pixels[2][2][0].item<uint8_t>(), 255);
  EXPECT_EQ(pixels[2][2][1].item<uint8_t>(), 0);
}

TEST(PngGrid, NoPictureShapeIsAClearErrorAndWritesNothing) {
  const auto path = test::make_temp_dir("png-none") + "/none.png";
  EXPECT_THROW(write_png_grid(path, torch::zeros({2, 7}), {}), Error);
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace dgm
