#include "core/idx.h"

#include <zlib.h>

#include <torch/torch.h>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"

namespace dgm {

std::string read_maybe_gzip(const std::string& path) {
  // gzread reads raw files transparently, and reports a damaged or cut-off
  // gzip stream through gzerror instead of returning short data silently.
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) fail("cannot open {}: {}", path, std::strerror(errno));
  std::string bytes;
  char buffer[1 << 16];
  for (;;) {
    const int got = gzread(file, buffer, sizeof(buffer));
    if (got < 0) {
      int code = 0;
      const std::string message = gzerror(file, &code);
      gzclose(file);
      fail("{} is not a readable gzip file ({}); re-download or re-install it", path, message);
    }
    if (got == 0) break;
    bytes.append(buffer, static_cast<std::size_t>(got));
  }
  int code = 0;
  const std::string message = gzerror(file, &code);
  gzclose(file);
  if (code != Z_OK && code != Z_STREAM_END)
    fail("{} is a damaged or truncated gzip file ({}); re-download or re-install it", path, message);
  return bytes;
}

namespace {

struct IdxType {
  torch::Dtype dtype;
  std::size_t bytes;
};

IdxType idx_type(unsigned char code, const std::string& path) {
  switch (code) {
    case 0x08:
      return {torch::kUInt8, 1};
    case 0x09:
      return {torch::kInt8, 1};
    case 0x0B:
      return {torch::kInt16, 2};
    case 0x0C:
      return {torch::kInt32, 4};
    case 0x0D:
      return {torch::kFloat32, 4};
    case 0x0E:
      return {torch::kFloat64, 8};
    default:
      fail("{} is not an IDX file: unknown data type code 0x{:02x} in byte 3", path, code);
  }
}

uint32_t big_endian_u32(const unsigned char* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

}  // namespace

torch::Tensor read_idx(const std::string& path) {
  const std::string bytes = read_maybe_gzip(path);
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 4 || data[0] != 0 || data[1] != 0)
    fail("{} is not an IDX file: it must start with two zero bytes (found {} bytes in all)", path, bytes.size());
  const IdxType type = idx_type(data[2], path);
  const int dims = data[3];
  if (dims < 1 || dims > 8) fail("{} is not a valid IDX file: {} dimensions (1 to 8 expected)", path, dims);
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(dims);
  if (bytes.size() < header)
    fail("{} is truncated: its header needs {} bytes, the file has {}", path, header, bytes.size());
  std::vector<int64_t> shape;
  std::size_t count = 1;
  for (int d = 0; d < dims; ++d) {
    const uint32_t size = big_endian_u32(data + 4 + 4 * d);
    if (size == 0 || size > (1u << 31)) fail("{} is not a valid IDX file: dimension {} has size {}", path, d, size);
    shape.push_back(size);
    count *= size;
    if (count > (std::size_t(1) << 40)) fail("{} is not a valid IDX file: its sizes multiply past 2^40 entries", path);
  }
  const std::size_t expected = header + count * type.bytes;
  if (bytes.size() < expected)
    fail("{} is truncated: its header promises {} bytes of data, the file holds {}; re-download it", path,
         count * type.bytes, bytes.size() - header);
  if (bytes.size() > expected)
    fail("{} has {} bytes after the data its header describes: wrong dimensions or not an IDX file", path,
         bytes.size() - expected);
  auto tensor = torch::empty(shape, torch::TensorOptions().dtype(type.dtype));
  std::memcpy(tensor.data_ptr(), data + header, count * type.bytes);
  if (type.bytes > 1) {  // IDX stores multi-byte values big-endian
    auto* raw = static_cast<unsigned char*>(tensor.data_ptr());
    for (std::size_t i = 0; i < count; ++i) std::reverse(raw + i * type.bytes, raw + (i + 1) * type.bytes);
  }
  return tensor;
}

void write_idx(const std::string& path, const torch::Tensor& data) {
  TORCH_CHECK(data.scalar_type() == torch::kUInt8, "write_idx writes uint8 tensors only");
  auto contiguous = data.contiguous().cpu();
  std::string bytes{'\0', '\0', '\x08', static_cast<char>(contiguous.dim())};
  for (auto size : contiguous.sizes()) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>((size >> shift) & 0xFF));
  }
  bytes.append(static_cast<const char*>(contiguous.data_ptr()), contiguous.numel());
  write_text_atomically(path, bytes);
}

}  // namespace dgm
