#include "core/npy.h"

#include <torch/torch.h>

#include <cstring>
#include <regex>

#include "core/atomic_file.h"
#include "core/error.h"

namespace dgm {
namespace {

struct NpyType {
  torch::Dtype dtype;
  std::size_t bytes;
};

NpyType npy_type(const std::string& descr, const std::string& path) {
  if (descr == "<f4") return {torch::kFloat32, 4};
  if (descr == "<f8") return {torch::kFloat64, 8};
  if (descr == "|u1" || descr == "<u1") return {torch::kUInt8, 1};
  if (descr == "<i8") return {torch::kInt64, 8};
  fail(
      "{} has dtype '{}', which dgm does not read: save it as float32, float64 or uint8 (little-endian), "
      "e.g. np.save(path, x.astype(np.float32))",
      path, descr);
}

std::string descr_of(torch::Dtype dtype) {
  switch (dtype) {
    case torch::kFloat32:
      return "<f4";
    case torch::kFloat64:
      return "<f8";
    case torch::kUInt8:
      return "|u1";
    case torch::kInt64:
      return "<i8";
    default:
      fail("write_npy cannot write dtype {}", c10::toString(dtype));
  }
}

}  // namespace

torch::Tensor read_npy(const std::string& path) {
  const std::string bytes = read_text_file(path);
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    fail("{} is not a .npy file: it does not start with the \\x93NUMPY magic string", path);
  const int major = static_cast<unsigned char>(bytes[6]);
  std::size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail("{} is truncated inside its header", path);
    for (int i = 3; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[8 + i]);
    offset = 12;
  } else {
    fail("{} uses .npy format version {}, which dgm does not know (1, 2 or 3 expected)", path, major);
  }
  if (bytes.size() < offset + header_len) fail("{} is truncated inside its header", path);
  const std::string header = bytes.substr(offset, header_len);
  std::smatch match;
  if (!std::regex_search(header, match, std::regex("'descr'\\s*:\\s*'([^']*)'")))
    fail("{} has a .npy header without 'descr': {}", path, header);
  const NpyType type = npy_type(match[1], path);
  if (!std::regex_search(header, match, std::regex("'fortran_order'\\s*:\\s*(True|False)")))
    fail("{} has a .npy header without 'fortran_order': {}", path, header);
  if (match[1] == "True")
    fail("{} is stored in Fortran order; save it in C order, e.g. np.save(path, np.ascontiguousarray(x))", path);
  if (!std::regex_search(header, match, std::regex("'shape'\\s*:\\s*\\(([^)]*)\\)")))
    fail("{} has a .npy header without 'shape': {}", path, header);
  std::vector<int64_t> shape;
  std::size_t count = 1;
  const std::string dims = match[1];
  const std::regex number("\\d+");
  std::sregex_iterator it(dims.begin(), dims.end(), number), end;
  for (; it != end; ++it) {
    const int64_t size = std::stoll(it->str());
    shape.push_back(size);
    count *= static_cast<std::size_t>(size);
    if (count > (std::size_t(1) << 40)) fail("{} has a shape that multiplies past 2^40 entries", path);
  }
  const std::size_t data_start = offset + header_len;
  const std::size_t expected = count * type.bytes;
  const std::size_t found = bytes.size() - data_start;
  if (found < expected)
    fail("{} is truncated: its header promises {} bytes of data for shape ({}), the file holds {}", path, expected,
         dims, found);
  if (found > expected) fail("{} has {} bytes after the data its header describes", path, found - expected);
  auto tensor = torch::empty(shape, torch::TensorOptions().dtype(type.dtype));
  std::memcpy(tensor.data_ptr(), bytes.data() + data_start, expected);
  return tensor;
}

void write_npy(const std::string& path, const torch::Tensor& data) {
  auto contiguous = data.contiguous().cpu();
  std::string shape;
  for (auto size : contiguous.sizes()) shape += std::to_string(size) + ", ";
  if (contiguous.dim() > 1) shape.resize(shape.size() - 2);
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}",
                                   descr_of(contiguous.scalar_type()), shape);
  // The header is padded with spaces and a newline so the data starts on a
  // 64-byte boundary, as NumPy writes it.
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string bytes = "\x93NUMPY";
  bytes.push_back('\x01');
  bytes.push_back('\x00');
  bytes.push_back(static_cast<char>(header.size() & 0xFF));
  bytes.push_back(static_cast<char>(header.size() >> 8));
  bytes += header;
  bytes.append(static_cast<const char*>(contiguous.data_ptr()), contiguous.numel() * contiguous.element_size());
  write_text_atomically(path, bytes);
}

}  // namespace dgm
