// Data sets: file lookup, scaling, validation split, batches, binarization.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/dataset.h"
#include "core/error.h"
#include "core/idx.h"
#include "core/npy.h"
#include "core/random.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::error_message_of;

TEST(Dataset, IdxDirectoryGivesScaledFlatImagesWithTheirShape) {
  const auto dir = test::make_temp_dir("data");
  auto pixels = torch::tensor({0, 255, 51, 102}, torch::kUInt8).reshape({1, 2, 2}).repeat({3, 1, 1});
  write_idx(dir + "/train-images-idx3-ubyte", pixels);
  DataOptions config;
  config.path = dir;
  ImageSet set = load_images(config, Split::kTrain);
  EXPECT_EQ(set.x.sizes(), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(set.image_shape, (std::vector<int64_t>{2, 2}));
  EXPECT_FLOAT_EQ(set.x[0][1].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(set.x[0][2].item<float>(), 0.2f);
  const auto message = error_message_of([&] { load_images(config, Split::kTest); });
  EXPECT_NE(message.find("t10k-images-idx3-ubyte"), std::string::npos) << message;
}

TEST(Dataset, LimitKeepsTheFirstExamples) {
  DataOptions config;
  config.limit = 100;
  ImageSet set = load_images(config, Split::kTrain);
  EXPECT_EQ(set.size(), 100);
  EXPECT_EQ(set.dim(), 784);
  EXPECT_EQ(set.image_shape, (std::vector<int64_t>{28, 28}));
}

TEST(Dataset, MissingFashionMnistNamesTheDebianPackage) {
  DataOptions config;
  config.path = std::string(kFashionMnistDir) + "/no-such-file.gz";
  const auto message = error_message_of([&] { load_images(config, Split::kTrain); });
  EXPECT_NE(message.find("dataset-fashion-mnist"), std::string::npos) << message;
  EXPECT_NE(message.find("no-such-file.gz"), std::string::npos) << message;
}

TEST(Dataset, NpyFileWithNonFiniteValuesIsRejected) {
  const auto dir = test::make_temp_dir("data-nan");
  auto x = torch::rand({4, 9});
  x[2][3] = std::nan("");
  write_npy(dir + "/x.npy", x);
  const auto message = error_message_of([&] { read_images(dir + "/x.npy"); });
  EXPECT_NE(message.find("NaN"), std::string::npos) << message;
}

TEST(Dataset, UnitIntervalCheckNamesTheRange) {
  const auto message = error_message_of([&] { check_unit_interval(torch::tensor({-0.5, 3.0}), "x.npy"); });
  EXPECT_NE(message.find("x.npy"), std::string::npos);
  EXPECT_NE(message.find("[-0.5, 3]"), std::string::npos) << message;
}

TEST(Dataset, ValidationSplitIsSeededAndDisjoint) {
  ImageSet all{torch::arange(50, torch::kFloat32).unsqueeze(1), {}, "ids"};
  auto a = split_validation(all, 10, 3), b = split_validation(all, 10, 3), c = split_validation(all, 10, 4);
  EXPECT_TRUE(torch::equal(a.validation.x, b.validation.x));
  EXPECT_FALSE(torch::equal(a.validation.x, c.validation.x));
  EXPECT_EQ(a.train.size(), 40);
  auto together = std::get<0>(torch::sort(torch::cat({a.train.x, a.validation.x}).squeeze(1)));
  EXPECT_TRUE(torch::equal(together, torch::arange(50, torch::kFloat32)));
  EXPECT_NE(error_message_of([&] { split_validation(all, 50, 0); }).find("val_size"), std::string::npos);
}

TEST(EpochBatches, CoverEveryExampleOnceWithASmallerLastBatch) {
  EpochBatches batches(10, 4, 9, torch::kCPU);
  ASSERT_EQ(batches.count(), 3);
  EXPECT_EQ(batches.indices(2).size(0), 2);
  auto all = std::get<0>(torch::sort(torch::cat({batches.indices(0), batches.indices(1), batches.indices(2)})));
  EXPECT_TRUE(torch::equal(all, torch::arange(10, torch::kLong)));
  EpochBatches again(10, 4, 9, torch::kCPU);
  EXPECT_TRUE(torch::equal(again.indices(0), batches.indices(0)));
}

TEST(Binarize, SeededIsRepeatableAndUnbiased) {
  auto x = torch::full({200, 500}, 0.3);
  auto a = binarize_seeded(x, 11), b = binarize_seeded(x, 11), c = binarize_seeded(x, 12);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
  EXPECT_TRUE(torch::all((a == 0) | (a == 1)).item<bool>());
  EXPECT_NEAR(a.mean().item<double>(), 0.3, 0.005);
}

}  // namespace
}  // namespace dgm
