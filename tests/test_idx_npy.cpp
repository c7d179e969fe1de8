// The IDX and NPY readers on good, truncated and corrupt files.

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/idx.h"
#include "core/npy.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::make_temp_dir;

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

void write_gzip(const std::string& path, const std::string& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(file);
}

using test::error_message_of;

torch::Tensor sample_images() {
  return torch::arange(2 * 3 * 4, torch::kLong).remainder(256).to(torch::kUInt8).reshape({2, 3, 4});
}

TEST(Idx, RoundTripsRawAndGzip) {
  const auto dir = make_temp_dir("idx");
  const auto raw = dir + "/images-idx3-ubyte";
  write_idx(raw, sample_images());
  EXPECT_TRUE(torch::equal(read_idx(raw), sample_images()));
  const auto gz = dir + "/images-idx3-ubyte.gz";
  write_gzip(gz, read_text_file(raw));
  auto read = read_idx(gz);
  EXPECT_EQ(read.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(torch::equal(read, sample_images()));
}

TEST(Idx, ReadsBigEndianMultiByteTypes) {
  // Two int32 values 1 and 258, as IDX stores them (type 0x0C, big-endian).
  const std::string bytes{'\0', '\0', '\x0C', '\x01', '\0', '\0', '\0',   '\x02',
                          '\0', '\0', '\0',   '\x01', '\0', '\0', '\x01', '\x02'};
  const auto path = make_temp_dir("idx-int") + "/values.idx";
  write_bytes(path, bytes);
  auto values = read_idx(path);
  EXPECT_EQ(values.scalar_type(), torch::kInt32);
  EXPECT_EQ(values[0].item<int>(), 1);
  EXPECT_EQ(values[1].item<int>(), 258);
}

TEST(Idx, TruncatedFileIsAClearError) {
  const auto dir = make_temp_dir("idx-trunc");
  const auto path = dir + "/images";
  write_idx(path, sample_images());
  auto bytes = read_text_file(path);
  write_bytes(path, bytes.substr(0, bytes.size() - 5));
  const auto message = error_message_of([&] { read_idx(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("truncated"), std::string::npos) << message;
}

TEST(Idx, TruncatedGzipIsAClearError) {
  const auto dir = make_temp_dir("idx-gz-trunc");
  const auto path = dir + "/images.gz";
  write_gzip(path, std::string(20000, 'x'));
  auto bytes = read_text_file(path);
  write_bytes(path, bytes.substr(0, bytes.size() / 2));
  const auto message = error_message_of([&] { read_idx(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("gzip"), std::string::npos) << message;
}

TEST(Idx, BadMagicWrongTypeAndOverlongPayloadAreErrors) {
  const auto dir = make_temp_dir("idx-bad");
  write_bytes(dir + "/magic", std::string("PK\x03\x04 not an idx file"));
  EXPECT_NE(error_message_of([&] { read_idx(dir + "/magic"); }).find("not an IDX file"), std::string::npos);
  write_bytes(dir + "/type", std::string{'\0', '\0', '\x07', '\x01', '\0', '\0', '\0', '\x01', 'a'});
  EXPECT_NE(error_message_of([&] { read_idx(dir + "/type"); }).find("unknown data type"), std::string::npos);
  write_idx(dir + "/long", sample_images());
  write_bytes(dir + "/long", read_text_file(dir + "/long") + "extra");
  EXPECT_NE(error_message_of([&] { read_idx(dir + "/long"); }).find("bytes after the data"), std::string::npos);
  EXPECT_NE(error_message_of([&] { read_idx(dir + "/missing"); }).find("cannot open"), std::string::npos);
}

TEST(Idx, ReadsDebianFashionMnist) {
  auto images = read_idx("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
  EXPECT_EQ(images.sizes(), (std::vector<int64_t>{10000, 28, 28}));
  EXPECT_EQ(images.scalar_type(), torch::kUInt8);
  EXPECT_GT(images.max().item<int>(), 200);
  auto labels = read_idx("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz");
  EXPECT_EQ(labels.sizes(), (std::vector<int64_t>{10000}));
  EXPECT_EQ(labels.max().item<int>(), 9);
}

TEST(Npy, RoundTripsEveryDtype) {
  const auto dir = make_temp_dir("npy");
  for (auto dtype : {torch::kFloat32, torch::kFloat64, torch::kUInt8, torch::kLong}) {
    auto data = torch::arange(12).to(dtype).reshape({3, 4});
    write_npy(dir + "/a.npy", data);
    auto read = read_npy(dir + "/a.npy");
    EXPECT_EQ(read.scalar_type(), dtype);
    EXPECT_TRUE(torch::equal(read, data));
  }
}

TEST(Npy, ReadsNumpyWrittenHeader) {
  // The exact bytes numpy 1.x writes for np.save(f, np.array([[1.5, 2.5]], np.float32)).
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }";
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header.push_back('\n');
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) + '\0' + header;
  const float values[] = {1.5f, 2.5f};
  bytes.append(reinterpret_cast<const char*>(values), sizeof(values));
  const auto path = make_temp_dir("npy-numpy") + "/x.npy";
  write_bytes(path, bytes);
  auto x = read_npy(path);
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{1, 2}));
  EXPECT_FLOAT_EQ(x[0][1].item<float>(), 2.5f);
}

TEST(Npy, BadFilesAreClearErrors) {
  const auto dir = make_temp_dir("npy-bad");
  write_npy(dir + "/good.npy", torch::ones({4, 4}));
  const auto good = read_text_file(dir + "/good.npy");
  write_bytes(dir + "/short.npy", good.substr(0, good.size() - 4));
  EXPECT_NE(error_message_of([&] { read_npy(dir + "/short.npy"); }).find("truncated"), std::string::npos);
  write_bytes(dir + "/magic.npy", "hello world, not numpy");
  EXPECT_NE(error_message_of([&] { read_npy(dir + "/magic.npy"); }).find("not a .npy file"), std::string::npos);
  auto fortran = good;
  fortran.replace(fortran.find("False"), 5, "True ");
  write_bytes(dir + "/fortran.npy", fortran);
  EXPECT_NE(error_message_of([&] { read_npy(dir + "/fortran.npy"); }).find("Fortran order"), std::string::npos);
  auto int32 = good;
  int32.replace(int32.find("<f4"), 3, "<i4");
  write_bytes(dir + "/int32.npy", int32);
  const auto message = error_message_of([&] { read_npy(dir + "/int32.npy"); });
  EXPECT_NE(message.find("'<i4'"), std::string::npos) << message;
  EXPECT_NE(message.find(dir + "/int32.npy"), std::string::npos) << message;
}

}  // namespace
}  // namespace dgm
