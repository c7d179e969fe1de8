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

TEST(Idx, BytesAfterTheGzipStreamAreAnErrorAndMembersMayFollowEachOther) {
  const auto dir = test::make_temp_dir("idx-trailing");
  const auto images = sample_images();
  write_idx(dir + "/raw", images);
  const std::string raw = read_text_file(dir + "/raw");
  write_gzip(dir + "/one.gz", raw);
  const std::string packed = read_text_file(dir + "/one.gz");
  // zlib's gzread ignored these silently.
  write_bytes(dir + "/garbage.gz", packed + "GARBAGE after the stream");
  const auto message = error_message_of([&] { read_idx(dir + "/garbage.gz"); });
  EXPECT_NE(message.find("has data after its gzip stream that is not gzip"), std::string::npos) << message;
  // `cat a.gz b.gz` is a valid gzip file (two members): the data split in two.
  write_gzip(dir + "/a.gz", raw.substr(0, 10));
  write_gzip(dir + "/b.gz", raw.substr(10));
  write_bytes(dir + "/two.gz", read_text_file(dir + "/a.gz") + read_text_file(dir + "/b.gz"));
  EXPECT_TRUE(torch::equal(read_idx(dir + "/two.gz"), images));
  // Cut inside the compressed data: truncated, not short data.
  write_bytes(dir + "/cut.gz", packed.substr(0, packed.size() / 2));
  const auto cut = error_message_of([&] { read_idx(dir + "/cut.gz"); });
  EXPECT_NE(cut.find("truncated"), std::string::npos) << cut;
  EXPECT_NE(cut.find("cut.gz"), std::string::npos) << cut;
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
  // An IDX file of incompressible bytes, gzipped, then cut in the middle of its data.
  write_idx(dir + "/raw", torch::randint(0, 256, {20, 1000}, torch::kLong).to(torch::kUInt8));
  write_gzip(path, read_text_file(dir + "/raw"));
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

std::string idx_header(std::initializer_list<uint32_t> sizes) {
  std::string bytes{'\0', '\0', '\x08', static_cast<char>(sizes.size())};
  for (uint32_t size : sizes)
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>((size >> shift) & 0xFF));
  return bytes;
}

TEST(Idx, AGzipThatInflatesPastItsHeaderIsRefusedWithoutReadingItWhole) {
  // Issue 13: a small .gz inflating to 3 GiB was read whole before the size
  // check. Here 64 MiB of zeros (64 KiB compressed) follow a 10 x 10 header.
  const auto dir = make_temp_dir("idx-bomb");
  write_gzip(dir + "/bomb.gz", idx_header({10, 10}) + std::string(100, '\1') + std::string(64 << 20, '\0'));
  const auto message = error_message_of([&] { read_idx(dir + "/bomb.gz"); });
  EXPECT_NE(message.find("more than 1048576 bytes after the data"), std::string::npos) << message;
  EXPECT_NE(message.find(dir + "/bomb.gz"), std::string::npos) << message;
  // A header that promises more than the compressed file can hold: refused
  // before the allocation (60,000 x 28 x 28 from a few dozen bytes).
  write_gzip(dir + "/liar.gz", idx_header({60000, 28, 28}) + "abc");
  const auto liar = error_message_of([&] { read_idx(dir + "/liar.gz"); });
  EXPECT_NE(liar.find("more than a gzip file of"), std::string::npos) << liar;
  // Raw: 2^31 x 2^9 bytes promised by a 12-byte file.
  write_bytes(dir + "/liar", idx_header({1u << 31, 1u << 9}));
  const auto raw = error_message_of([&] { read_idx(dir + "/liar"); });
  EXPECT_NE(raw.find("truncated"), std::string::npos) << raw;
  EXPECT_NE(raw.find("1099511627776 bytes"), std::string::npos) << raw;
  // Found by fuzz_idx_gzip: sizes whose product wraps around 2^64 (2^40
  // times 2^24 is 0 modulo 2^64) reached LibTorch's "Storage size
  // calculation overflowed"; the product is checked before it is taken.
  for (const char* name : {"wrap", "wrap.gz"}) {
    const std::string header = idx_header({1u << 20, 1u << 20, 1u << 24, 1u << 24});
    if (std::string(name) == "wrap.gz")
      write_gzip(dir + "/" + name, header);
    else
      write_bytes(dir + "/" + name, header);
    const auto wrap = error_message_of([&] { read_idx(dir + "/" + name); });
    EXPECT_NE(wrap.find("multiply past 2^40 entries"), std::string::npos) << wrap;
  }
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

/// A .npy file with the given header text (padded as NumPy pads it) and
/// `data` after it, in format version 1 or 2.
std::string npy_bytes(std::string header, const std::string& data, int version = 1) {
  const std::size_t prefix = version == 1 ? 10 : 12;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header.push_back('\n');
  std::string bytes = std::string("\x93NUMPY", 6) + static_cast<char>(version) + '\0';
  const uint64_t length = header.size();
  for (std::size_t i = 0; i < prefix - 8; ++i) bytes.push_back(static_cast<char>((length >> (8 * i)) & 0xFF));
  return bytes + header + data;
}

std::string npy_error(const std::string& dir, const std::string& name, const std::string& bytes) {
  write_bytes(dir + "/" + name, bytes);
  return error_message_of([&] { read_npy(dir + "/" + name); });
}

TEST(Npy, HostileHeadersAreClearErrorsInBoundedTimeAndStack) {
  // Issue 13: a descr or shape of 10^5-10^6 characters overflowed the stack
  // inside std::regex. The header is now bounded and scanned by hand.
  const auto dir = make_temp_dir("npy-hostile");
  const std::string four_floats(16, '\0');
  auto huge =
      npy_error(dir, "huge.npy",
                npy_bytes("{'descr': '" + std::string(1000000, 'f') + "', 'fortran_order': False, 'shape': (4,), }",
                          four_floats, 2));
  EXPECT_NE(huge.find("header of"), std::string::npos) << huge;
  EXPECT_NE(huge.find(dir + "/huge.npy"), std::string::npos) << huge;
  // Just under the bound: a long descr is named (shortened) as a dtype dgm does not read.
  auto long_descr =
      npy_error(dir, "descr.npy",
                npy_bytes("{'descr': '" + std::string(60000, 'f') + "', 'fortran_order': False, 'shape': (4,), }",
                          four_floats, 2));
  EXPECT_NE(long_descr.find("dtype 'ffff"), std::string::npos) << long_descr.substr(0, 300);
  EXPECT_LT(long_descr.size(), 600u);
  std::string many_dims = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (int i = 0; i < 20000; ++i) many_dims += "1, ";
  auto dims = npy_error(dir, "dims.npy", npy_bytes(many_dims + "4), }", four_floats, 2));
  EXPECT_NE(dims.find("more than 64 dimensions"), std::string::npos) << dims.substr(0, 300);
  auto open_string = npy_error(dir, "open.npy", npy_bytes("{'descr': '<f4" + std::string(50000, ' '), four_floats, 2));
  EXPECT_NE(open_string.find("unterminated string"), std::string::npos) << open_string.substr(0, 300);
}

TEST(Npy, ShapesAreCheckedBeforeAnythingIsAllocated) {
  const auto dir = make_temp_dir("npy-shapes");
  auto negative =
      npy_error(dir, "negative.npy",
                npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-4,), }", std::string(16, '\0')));
  EXPECT_NE(negative.find("negative dimension"), std::string::npos) << negative;
  // 2^32 x 2^32 wraps to 0 in 64 bits: refused, not read as an empty array.
  auto wrap = npy_error(dir, "wrap.npy",
                        npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", ""));
  EXPECT_NE(wrap.find("past 2^40"), std::string::npos) << wrap;
  auto big = npy_error(dir, "big.npy",
                       npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 784), }", "tiny"));
  EXPECT_NE(big.find("truncated"), std::string::npos) << big;
  EXPECT_NE(big.find("6272000000 bytes"), std::string::npos) << big;
  auto repeated = npy_error(
      dir, "repeated.npy",
      npy_bytes("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", std::string(4, '\0')));
  EXPECT_NE(repeated.find("'descr' twice"), std::string::npos) << repeated;
  auto unknown =
      npy_error(dir, "unknown.npy",
                npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", std::string(4, '\0')));
  EXPECT_NE(unknown.find("unknown key 'extra'"), std::string::npos) << unknown;
  auto missing = npy_error(dir, "missing.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False}", ""));
  EXPECT_NE(missing.find("without 'shape'"), std::string::npos) << missing;
  auto structured =
      npy_error(dir, "structured.npy",
                npy_bytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", std::string(4, '\0')));
  EXPECT_NE(structured.find("structured array"), std::string::npos) << structured;
}

TEST(Npy, ReadsEmptyArraysAndEveryHeaderSpelling) {
  const auto dir = make_temp_dir("npy-spellings");
  // A zero-size shape (np.zeros((0, 4))): an empty tensor, no read of a null pointer.
  write_bytes(dir + "/empty.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }", ""));
  EXPECT_EQ(read_npy(dir + "/empty.npy").sizes(), (std::vector<int64_t>{0, 4}));
  // Double quotes, no trailing comma, another key order, a 1-d shape (3,), a scalar ().
  const float three[] = {1.0f, 2.0f, 3.0f};
  write_bytes(dir + "/spelled.npy", npy_bytes("{\"shape\": (3,), \"fortran_order\": False, \"descr\": \"<f4\"}",
                                              std::string(reinterpret_cast<const char*>(three), sizeof(three))));
  auto x = read_npy(dir + "/spelled.npy");
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{3}));
  EXPECT_FLOAT_EQ(x[2].item<float>(), 3.0f);
  const double one = 7.0;
  write_bytes(dir + "/scalar.npy", npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
                                             std::string(reinterpret_cast<const char*>(&one), sizeof(one)), 2));
  auto scalar = read_npy(dir + "/scalar.npy");
  EXPECT_EQ(scalar.dim(), 0);
  EXPECT_DOUBLE_EQ(scalar.item<double>(), 7.0);
}

}  // namespace
}  // namespace dgm
