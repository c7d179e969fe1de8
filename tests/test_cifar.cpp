// CIFAR-10 and CIFAR-100 binary batches, on files written here in the
// published record layout (a label byte, or CIFAR-100's coarse and fine
// label bytes, then the red, green and blue 32 x 32 planes): the pixels land
// where the layout says, a directory is its batches in order, and a file of
// the wrong size or labels is an error naming it.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "core/cifar.h"
#include "core/data_sources.h"
#include "core/dataset.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::error_message_of;

/// The byte of record `i`'s pixel (c, h, w), a function of all four.
uint8_t pixel(int64_t i, int64_t c, int64_t h, int64_t w) {
  return static_cast<uint8_t>((i * 131 + c * 71 + h * 7 + w * 3) % 256);
}

/// A batch of `labels.size()` records in CIFAR-10's (one label byte) or
/// CIFAR-100's (coarse, fine) layout, numbered from `first`.
void write_batch(const std::string& path, const std::vector<int>& labels, bool hundred, int64_t first = 0) {
  std::ofstream out(path, std::ios::binary);
  for (std::size_t r = 0; r < labels.size(); ++r) {
    if (hundred) out.put(static_cast<char>(labels[r] / 5));  // coarse
    out.put(static_cast<char>(labels[r]));
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t h = 0; h < 32; ++h)
        for (int64_t w = 0; w < 32; ++w) out.put(static_cast<char>(pixel(first + static_cast<int64_t>(r), c, h, w)));
  }
}

torch::Tensor expected_pixels(int64_t first, int64_t n) {
  auto x = torch::empty({n, 3, 32, 32}, torch::kUInt8);
  auto a = x.accessor<uint8_t, 4>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t h = 0; h < 32; ++h)
        for (int64_t w = 0; w < 32; ++w) a[i][c][h][w] = pixel(first + i, c, h, w);
  return x;
}

TEST(Cifar, RecordsLandWhereTheLayoutSays) {
  const auto dir = test::make_temp_dir("cifar-file");
  write_batch(dir + "/data_batch_1.bin", {3, 0, 9}, false);
  const DataFile ten = read_cifar(dir + "/data_batch_1.bin");
  EXPECT_TRUE(torch::equal(ten.x, expected_pixels(0, 3)));
  EXPECT_TRUE(torch::equal(ten.labels, torch::tensor({3, 0, 9}, torch::kLong)));
  EXPECT_EQ(data_sources().for_path(dir + "/data_batch_1.bin").name, "cifar");

  write_batch(dir + "/train.bin", {99, 42}, true);
  const DataFile hundred = read_cifar(dir + "/train.bin");
  EXPECT_TRUE(torch::equal(hundred.x, expected_pixels(0, 2)));
  EXPECT_TRUE(torch::equal(hundred.labels, torch::tensor({99, 42}, torch::kLong))) << "the fine label";

  // As data: 3 x 32 x 32 pictures scaled to [0, 1], with their labels.
  const ImageSet set = read_images(dir + "/data_batch_1.bin");
  EXPECT_EQ(set.image_shape, (std::vector<int64_t>{3, 32, 32}));
  EXPECT_TRUE(torch::allclose(set.x, expected_pixels(0, 3).reshape({3, -1}).to(torch::kFloat32) / 255.0));
  EXPECT_TRUE(torch::equal(set.labels, ten.labels));
}

TEST(Cifar, ADirectoryIsItsBatchesInOrder) {
  const auto dir = test::make_temp_dir("cifar-dir");
  write_batch(dir + "/data_batch_1.bin", {1, 2}, false, 0);
  write_batch(dir + "/data_batch_2.bin", {3, 4, 5}, false, 2);
  write_batch(dir + "/test_batch.bin", {6}, false, 100);
  DataOptions options;
  options.path = dir;
  const ImageSet train = load_images(options, Split::kTrain);
  EXPECT_EQ(train.size(), 5);
  EXPECT_TRUE(torch::equal(train.labels, torch::tensor({1, 2, 3, 4, 5}, torch::kLong)));
  EXPECT_TRUE(torch::allclose(train.x, expected_pixels(0, 5).reshape({5, -1}).to(torch::kFloat32) / 255.0));
  const ImageSet test_split = load_images(options, Split::kTest);
  EXPECT_TRUE(torch::equal(test_split.labels, torch::tensor({6}, torch::kLong)));
  EXPECT_TRUE(torch::allclose(test_split.x, expected_pixels(100, 1).reshape({1, -1}).to(torch::kFloat32) / 255.0));

  // CIFAR-100's directory: train.bin and test.bin.
  const auto hundred = test::make_temp_dir("cifar100-dir");
  write_batch(hundred + "/train.bin", {10, 20}, true);
  options.path = hundred;
  EXPECT_TRUE(torch::equal(load_images(options, Split::kTrain).labels, torch::tensor({10, 20}, torch::kLong)));
  const auto no_test = error_message_of([&] { load_images(options, Split::kTest); });
  EXPECT_NE(no_test.find("has no test.bin for the test split"), std::string::npos) << no_test;
}

TEST(Cifar, WrongSizesAndLabelsAreNamed) {
  const auto dir = test::make_temp_dir("cifar-bad");
  write_batch(dir + "/data_batch_1.bin", {1, 2}, false);
  std::filesystem::resize_file(dir + "/data_batch_1.bin", 2 * 3073 - 5);
  const auto cut = error_message_of([&] { read_cifar(dir + "/data_batch_1.bin"); });
  EXPECT_NE(cut.find("has 6141 bytes, not a whole number of 3073-byte records of CIFAR-10"), std::string::npos) << cut;
  // CIFAR-100's records read as CIFAR-10's (a renamed file): the sizes do not fit.
  write_batch(dir + "/renamed.bin", {1, 2, 3}, true);
  const auto renamed = error_message_of([&] { read_cifar(dir + "/renamed.bin"); });
  EXPECT_NE(renamed.find("CIFAR-100's files are named train.bin and test.bin"), std::string::npos) << renamed;
  write_batch(dir + "/test_batch.bin", {1, 12}, false);
  const auto label = error_message_of([&] { read_cifar(dir + "/test_batch.bin"); });
  EXPECT_NE(label.find("record 1 has the label 12, but CIFAR-10 has 10 classes"), std::string::npos) << label;
  std::ofstream(dir + "/empty.bin");
  EXPECT_NE(error_message_of([&] { read_cifar(dir + "/empty.bin"); }).find("has 0 bytes"), std::string::npos);
}

}  // namespace
}  // namespace dgm
