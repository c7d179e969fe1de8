// NumPy's .npz archives as data: np.savez (stored) and np.savez_compressed
// (deflated) read to the values NumPy wrote (tests/fixtures/make_npz_fixtures.py),
// the arrays chosen by data.key and data.labels_key, and damaged archives
// named in a dgm::Error, never a crash or a silent short read.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <iterator>

#include "core/csv.h"
#include "core/data_sources.h"
#include "core/dataset.h"
#include "core/npz.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::error_message_of;

const std::string kStored = test::kFixtures + "npz_stored.npz";
const std::string kDeflated = test::kFixtures + "npz_deflated.npz";
const std::string kSingle = test::kFixtures + "npz_single.npz";

torch::Tensor expected_x() { return torch::arange(24, torch::kFloat32).add(0.5).reshape({6, 4}); }

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string write_file(const std::string& dir, const std::string& name, const std::string& bytes) {
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST(Npz, StoredAndDeflatedArchivesGiveWhatNumPyWrote) {
  for (const auto& path : {kStored, kDeflated}) {
    EXPECT_EQ(npz_keys(path), (std::vector<std::string>{"extra", "x", "y"})) << path;
    const auto x = read_npz(path, "x");
    EXPECT_EQ(x.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(torch::equal(x, expected_x())) << path;
    EXPECT_TRUE(torch::equal(read_npz(path, "y"), torch::tensor({0, 1, 2, -1, 1, 0}, torch::kLong))) << path;
    EXPECT_TRUE(torch::equal(read_npz(path, "extra"), torch::tensor({7, 9}, torch::kUInt8))) << path;
  }
  // One positional array (arr_0) is the data without a key, through the registry too.
  const auto single = read_data_file(kSingle);
  EXPECT_TRUE(torch::equal(single, torch::arange(12, torch::kUInt8).reshape({3, 2, 2})));
  EXPECT_EQ(data_sources().for_path(kSingle).name, "npz");
}

TEST(Npz, KeysChooseTheArraysAndTheLabels) {
  const auto several = error_message_of([] { read_npz(kStored, ""); });
  EXPECT_NE(several.find("holds 3 arrays (extra, x, y): say which one is the data with data.key"), std::string::npos)
      << several;
  const auto missing = error_message_of([] { read_npz(kStored, "images"); });
  EXPECT_NE(missing.find("holds no array 'images' (data.key); its arrays: extra, x, y"), std::string::npos) << missing;

  const ImageSet set = read_images(kDeflated, -1, {"x", "y"});
  EXPECT_TRUE(torch::equal(set.x, expected_x()));
  EXPECT_TRUE(torch::equal(set.labels, torch::tensor({0, 1, 2, -1, 1, 0}, torch::kLong)));
  EXPECT_EQ(set.image_shape, (std::vector<int64_t>{2, 2})) << "4 values a row: a 2 x 2 picture";
  EXPECT_FALSE(read_images(kStored, -1, {"x", ""}).labels.defined());

  const auto shape = error_message_of([] { read_images(kStored, -1, {"x", "extra"}); });
  EXPECT_NE(shape.find("the labels 'extra' (data.labels_key) have shape [2], but the examples are 6"),
            std::string::npos)
      << shape;
  const auto both = error_message_of([] { read_images(kStored, 0, {"x", "y"}); });
  EXPECT_NE(both.find("data.label_column = 0 and data.labels_key = 'y' both name labels"), std::string::npos) << both;
  const auto npy = error_message_of([] { read_data(test::kFixtures + "lr_features.npy", {"x", ""}); });
  EXPECT_NE(npy.find("data.key and data.labels_key name the arrays of an archive (.npz); unset them"),
            std::string::npos)
      << npy;

  // Through data.*: labels that are not whole numbers are refused, naming the row.
  DataOptions options;
  options.path = test::kFixtures + "npz_bad_labels.npz";
  options.key = "x";
  options.labels_key = "y";
  const auto fraction = error_message_of([&] { load_images(options, Split::kTrain); });
  EXPECT_NE(fraction.find("label 2 of 'y' is 0.5: a label is a class 0, 1, 2, ..."), std::string::npos) << fraction;
}

TEST(Npz, GmmPointsComeFromTheArrayKeyNames) {
  EXPECT_TRUE(torch::equal(read_points(kStored, "x"), expected_x().to(torch::kFloat64)));
  // One array needs no key: its [3, 2, 2] reaches the check of the points' shape.
  const auto single = error_message_of([] { read_points(kSingle); });
  EXPECT_NE(single.find("has shape [3, 2, 2]: points must be [N, D]"), std::string::npos) << single;
  const auto several = error_message_of([] { read_points(kStored); });
  EXPECT_NE(several.find("holds 3 arrays (extra, x, y): say which one is the data with --key"), std::string::npos)
      << several;
  const auto missing = error_message_of([] { read_points(kStored, "z"); });
  EXPECT_NE(missing.find("no array 'z' (--key)"), std::string::npos) << missing;
  const auto table = error_message_of([] { read_points(test::kFixtures + "lr_features.npy", "x"); });
  EXPECT_NE(table.find("--key names an array of an .npz archive"), std::string::npos) << table;
}

TEST(Npz, DamagedArchivesAreNamed) {
  const auto dir = test::make_temp_dir("npz-damaged");
  const std::string stored = bytes_of(kStored), deflated = bytes_of(kDeflated);
  // Cut anywhere: the central directory is gone or points past the end.
  for (std::size_t keep : {std::size_t{0}, std::size_t{10}, stored.size() / 2, stored.size() - 1}) {
    const auto path = write_file(dir, "cut.npz", stored.substr(0, keep));
    const auto message = error_message_of([&] { read_npz(path, "x"); });
    EXPECT_NE(message.find(path), std::string::npos) << keep << ": " << message;
  }
  // A flipped bit in the stored data of x (its last value): the CRC-32 says so.
  std::string flipped = stored;
  const auto at = flipped.find(std::string("\x00\x00\xbc\x41", 4));  // 23.5f
  ASSERT_NE(at, std::string::npos);
  flipped[at + 1] ^= 0x01;
  const auto crc_path = write_file(dir, "flipped.npz", flipped);
  EXPECT_NE(error_message_of([&] { read_npz(crc_path, "x"); }).find("does not match its CRC-32"), std::string::npos);
  EXPECT_TRUE(torch::equal(read_npz(crc_path, "y"), torch::tensor({0, 1, 2, -1, 1, 0}, torch::kLong)))
      << "the other records are whole";
  // Every byte of a deflated archive flipped in turn: an error or the right
  // values, never a crash (zlib's own checks or the CRC-32 catch the rest).
  for (std::size_t i = 0; i < deflated.size(); ++i) {
    std::string damaged = deflated;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
    const auto path = write_file(dir, "damaged.npz", damaged);
    try {
      EXPECT_TRUE(torch::equal(read_npz(path, "x"), expected_x())) << "byte " << i;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << "byte " << i << ": " << e.what();
    }
  }
  // A zip archive without .npy records.
  const std::string not_npz = bytes_of(test::kFixtures + "python_vae.pt");
  const auto pt = write_file(dir, "model.npz", not_npz);
  EXPECT_NE(error_message_of([&] { read_npz(pt, ""); }).find("not an .npz file that np.savez wrote"),
            std::string::npos);
}

}  // namespace
}  // namespace dgm
