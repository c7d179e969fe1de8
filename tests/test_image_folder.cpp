// Image folders as data: pictures decoded by stb_image to what Pillow reads,
// resized and centre-cropped to what Pillow's BILINEAR + torchvision's
// CenterCrop give (tests/fixtures/make_image_fixtures.py), ImageFolder's
// class subfolders as labels, train/ and test/ as the splits, and bad
// pictures named: skipped with a warning, or an error under data.strict.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "core/atomic_file.h"
#include "core/dataset.h"
#include "core/image_folder.h"
#include "core/memory_budget.h"
#include "core/npy.h"
#include "test_support.h"

namespace dgm {
namespace {
namespace fs = std::filesystem;

using test::error_message_of;

const std::string kWide = test::kFixtures + "image_wide.png";
const std::string kGrey = test::kFixtures + "image_tall_grey.png";
const std::string kJpeg = test::kFixtures + "image_photo.jpg";

void put(const std::string& from, const fs::path& to) {
  fs::create_directories(to.parent_path());
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

/// The largest difference between two uint8 tensors, in grey levels.
int64_t largest_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kLong) - b.to(torch::kLong)).abs().max().item<int64_t>();
}

TEST(ImageFolder, ResizeAndCropMatchPillowAndTorchvision) {
  const auto dir = test::make_temp_dir("image_folder_resize");
  put(kWide, fs::path(dir) / "wide" / "a.png");
  put(kGrey, fs::path(dir) / "grey" / "b.png");
  // Shrinking (antialiased) an RGB picture, and enlarging a grey one.
  const DataFile wide = read_image_folder(dir + "/wide", {16, 0, true});
  const auto pillow_wide = read_npy(test::kFixtures + "image_wide_16.npy");
  ASSERT_EQ(wide.x.sizes(), (std::vector<int64_t>{1, 3, 16, 16}));
  EXPECT_LE(largest_difference(wide.x[0], pillow_wide), 1);  // Pillow rounds in fixed point
  EXPECT_LT((wide.x[0].to(torch::kFloat) - pillow_wide.to(torch::kFloat)).abs().mean().item<double>(), 0.25);
  const DataFile grey = read_image_folder(dir + "/grey", {16, 0, true});
  const auto pillow_grey = read_npy(test::kFixtures + "image_tall_grey_16.npy");
  ASSERT_EQ(grey.x.sizes(), (std::vector<int64_t>{1, 1, 16, 16}));
  EXPECT_LE(largest_difference(grey.x[0], pillow_grey), 1);
  EXPECT_FALSE(wide.labels.defined());  // pictures directly in the folder have no class
}

TEST(ImageFolder, CentreCropRoundsHalvesToEvenAsTorchvision) {
  // The short side is already 4, so only the crop acts: 7 - 4 = 3 columns
  // to lose, the first at round(3 / 2) = round(1.5) = 2.
  auto image = torch::arange(4 * 7, torch::kLong).reshape({1, 4, 7}).to(torch::kUInt8);
  auto cropped = resize_and_centre_crop(image, 4);
  EXPECT_TRUE(torch::equal(cropped, image.narrow(2, 2, 4)));
  auto five = torch::arange(4 * 9, torch::kLong).reshape({1, 4, 9}).to(torch::kUInt8);  // round(5 / 2) = 2
  EXPECT_TRUE(torch::equal(resize_and_centre_crop(five, 4), five.narrow(2, 2, 4)));
  auto one = torch::arange(4 * 5, torch::kLong).reshape({1, 4, 5}).to(torch::kUInt8);  // round(1 / 2) = 0
  EXPECT_TRUE(torch::equal(resize_and_centre_crop(one, 4), one.narrow(2, 0, 4)));
}

TEST(ImageFolder, JpegDecodesToWhatPillowReads) {
  const auto dir = test::make_temp_dir("image_folder_jpeg");
  put(kJpeg, fs::path(dir) / "photo.JPG");  // extensions in any case
  const DataFile photo = read_image_folder(dir, {0, 0, true});
  ASSERT_EQ(photo.x.sizes(), (std::vector<int64_t>{1, 3, 37, 53}));
  const auto pillow = read_npy(test::kFixtures + "image_photo.npy");
  // Two JPEG decoders differ in their IDCT and chroma upsampling by a few levels.
  EXPECT_LE(largest_difference(photo.x[0], pillow), 8);
  EXPECT_LT((photo.x[0].to(torch::kFloat) - pillow.to(torch::kFloat)).abs().mean().item<double>(), 1.5);
}

TEST(ImageFolder, ClassSubfoldersAreLabelsInSortedOrder) {
  const auto dir = test::make_temp_dir("image_folder_classes");
  put(kWide, fs::path(dir) / "cat" / "1.png");
  put(kWide, fs::path(dir) / "cat" / "deeper" / "2.png");  // searched recursively
  put(kGrey, fs::path(dir) / "ant" / "3.png");
  put(kGrey, fs::path(dir) / ".hidden" / "4.png");  // hidden: not a class
  put(kGrey, fs::path(dir) / "ant" / ".5.png");     // hidden: not read
  put(kWide, fs::path(dir) / "stray.png");          // beside the classes: not read
  fs::create_directories(fs::path(dir) / "empty");  // no pictures: not a class
  std::ofstream(fs::path(dir) / "cat" / "notes.txt") << "not a picture";
  const auto listing = list_image_folder(dir);
  EXPECT_EQ(listing.classes, (std::vector<std::string>{"ant", "cat"}));
  EXPECT_EQ(listing.labels, (std::vector<int64_t>{0, 1, 1}));
  EXPECT_EQ(listing.ignored, (std::vector<std::string>{dir + "/stray.png"}));
  DataOptions options;
  options.image_size = 8;
  const ImageSet set = read_images(dir, options);
  EXPECT_EQ(set.size(), 3);
  EXPECT_EQ(set.image_shape, (std::vector<int64_t>{3, 8, 8}));  // one colour picture: all RGB
  EXPECT_TRUE(torch::equal(set.labels, torch::tensor({0, 1, 1}, torch::kLong)));
  // The grey picture as RGB has three equal planes.
  const auto ant = set.x[0].reshape({3, 64});
  EXPECT_TRUE(torch::equal(ant[0], ant[1]) && torch::equal(ant[1], ant[2]));
  EXPECT_LE(set.x.max().item<float>(), 1.0f);
  options.channels = 1;
  EXPECT_EQ(read_images(dir, options).image_shape, (std::vector<int64_t>{1, 8, 8}));
}

TEST(ImageFolder, BadPicturesAreSkippedWithTheirNameOrRefusedWhenStrict) {
  const auto dir = test::make_temp_dir("image_folder_bad");
  put(kWide, fs::path(dir) / "a" / "good.png");
  std::ofstream(fs::path(dir) / "a" / "text.png") << "this is not a PNG";
  // A PNG cut short after its header: the header pass accepts it, decoding does not.
  const std::string bytes = read_text_file(kWide);
  std::ofstream(fs::path(dir) / "a" / "cut.png", std::ios::binary) << bytes.substr(0, 60);
  testing::internal::CaptureStderr();
  const DataFile file = read_image_folder(dir, {0, 0, false});
  const std::string warnings = testing::internal::GetCapturedStderr();
  EXPECT_EQ(file.x.size(0), 1);
  EXPECT_NE(warnings.find("text.png"), std::string::npos) << warnings;
  EXPECT_NE(warnings.find("cut.png"), std::string::npos) << warnings;
  EXPECT_NE(warnings.find("data.strict"), std::string::npos) << warnings;
  // Strict: the headers are read first, so the one without a header is named.
  const auto strict = error_message_of([&] { read_image_folder(dir, {0, 0, true}); });
  EXPECT_NE(strict.find("text.png: not a picture"), std::string::npos) << strict;
  EXPECT_NE(strict.find("data.strict is true"), std::string::npos) << strict;
  fs::remove(fs::path(dir) / "a" / "text.png");
  const auto cut = error_message_of([&] { read_image_folder(dir, {0, 0, true}); });
  EXPECT_NE(cut.find("cut.png: cannot be decoded"), std::string::npos) << cut;
}

TEST(ImageFolder, PicturesOfSeveralSizesNeedAnImageSize) {
  const auto dir = test::make_temp_dir("image_folder_sizes");
  put(kWide, fs::path(dir) / "a.png");
  put(kGrey, fs::path(dir) / "b.png");
  const auto error = error_message_of([&] { read_image_folder(dir, {0, 0, false}); });
  EXPECT_NE(error.find("b.png is 11 x 14 pixels but"), std::string::npos) << error;
  EXPECT_NE(error.find("data.image_size"), std::string::npos) << error;
  const auto empty = test::make_temp_dir("image_folder_empty");
  const auto none = error_message_of([&] { read_image_folder(empty, {0, 0, false}); });
  EXPECT_NE(none.find("has no pictures (.png .jpg"), std::string::npos) << none;
  const auto channels = error_message_of([&] { read_image_folder(dir, {8, 2, false}); });
  EXPECT_NE(channels.find("data.channels = 2"), std::string::npos) << channels;
}

TEST(ImageFolder, TrainAndTestSubfoldersAreTheSplits) {
  const auto dir = test::make_temp_dir("image_folder_splits");
  put(kWide, fs::path(dir) / "train" / "x" / "1.png");
  put(kWide, fs::path(dir) / "train" / "y" / "2.png");
  put(kWide, fs::path(dir) / "train" / "y" / "3.png");
  put(kWide, fs::path(dir) / "val" / "y" / "4.png");
  DataOptions options;
  options.path = dir;
  options.image_size = 4;
  EXPECT_EQ(load_images(options, Split::kTrain).size(), 3);
  const ImageSet test_split = load_images(options, Split::kTest);
  EXPECT_EQ(test_split.size(), 1);
  EXPECT_TRUE(torch::equal(test_split.labels, torch::tensor({0}, torch::kLong)));  // val/ has only class y
  // A folder of one split: the test split is data.test_path's, and a command
  // given the folder itself reads it.
  options.path = dir + "/train";
  const auto no_test = error_message_of([&] { load_images(options, Split::kTest); });
  EXPECT_NE(no_test.find("data.test_path"), std::string::npos) << no_test;
  EXPECT_EQ(load_examples(options, dir + "/val", Split::kTest).size(), 1);
  options.test_path = dir + "/val";
  EXPECT_EQ(load_images(options, Split::kTest).size(), 1);
}

TEST(ImageFolder, AFolderTooLargeForMemoryIsRefusedBeforeDecoding) {
  const auto dir = test::make_temp_dir("image_folder_memory");
  put(kWide, fs::path(dir) / "a.png");
  set_memory_limit(1000);
  const auto error = error_message_of([&] { read_image_folder(dir, {64, 3, false}); });
  set_memory_limit(0);
  EXPECT_NE(error.find("1 pictures of 3 x 64 x 64"), std::string::npos) << error;
  EXPECT_NE(error.find("memory limit"), std::string::npos) << error;
}

}  // namespace
}  // namespace dgm
