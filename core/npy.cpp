#include "core/npy.h"

#include <torch/torch.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

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
      path, descr.size() > 40 ? descr.substr(0, 40) + "..." : descr);
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

NpyHeader parse_npy_header(const std::string& header, const std::string& path) {
  // A hand-written scanner over the header's Python dict literal, as NumPy
  // writes it: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.
  // Linear in the header, no recursion (a regex over an untrusted header
  // backtracks recursively and overflows the stack on long strings).
  std::size_t at = 0;
  auto bad = [&](const std::string& what) -> void {
    fail("{} has a malformed .npy header ({} at byte {} of {}); write it with np.save", path, what, at, header.size());
  };
  auto skip_space = [&] {
    while (at < header.size() && std::isspace(static_cast<unsigned char>(header[at]))) ++at;
  };
  auto expect = [&](char c) {
    skip_space();
    if (at >= header.size() || header[at] != c) bad(fmt::format("'{}' expected", c));
    ++at;
  };
  auto next_is = [&](char c) {
    skip_space();
    return at < header.size() && header[at] == c;
  };
  auto quoted = [&]() {
    skip_space();
    if (at >= header.size() || (header[at] != '\'' && header[at] != '"')) bad("a quoted string expected");
    const char quote = header[at++];
    const std::size_t close = header.find(quote, at);
    if (close == std::string::npos) bad("an unterminated string");
    std::string text = header.substr(at, close - at);
    at = close + 1;
    return text;
  };
  NpyHeader out;
  bool have_descr = false, have_order = false, have_shape = false;
  std::string descr;
  expect('{');
  while (!next_is('}')) {
    const std::string key = quoted();
    expect(':');
    skip_space();
    if (key == "descr") {
      if (have_descr) bad("'descr' twice");
      if (!next_is('\'') && !next_is('"'))
        fail(
            "{} holds a structured array ('descr' is not a plain dtype string); dgm reads plain arrays: save "
            "one field, e.g. np.save(path, x['field'])",
            path);
      descr = quoted();
      have_descr = true;
    } else if (key == "fortran_order") {
      if (have_order) bad("'fortran_order' twice");
      if (header.compare(at, 4, "True") == 0) {
        out.fortran_order = true;
        at += 4;
      } else if (header.compare(at, 5, "False") == 0) {
        at += 5;
      } else {
        bad("True or False expected for 'fortran_order'");
      }
      have_order = true;
    } else if (key == "shape") {
      if (have_shape) bad("'shape' twice");
      expect('(');
      while (!next_is(')')) {
        if (header[at] == '-') bad("a negative dimension");
        std::size_t digits = 0;
        int64_t size = 0;
        while (at < header.size() && std::isdigit(static_cast<unsigned char>(header[at]))) {
          if (++digits > 15) bad("a dimension past 10^15");
          size = size * 10 + (header[at++] - '0');
        }
        if (digits == 0) bad("a dimension expected");
        if (out.shape.size() == kNpyMaxDims) bad(fmt::format("more than {} dimensions", kNpyMaxDims));
        out.shape.push_back(size);
        if (!next_is(')')) expect(',');
      }
      ++at;
      have_shape = true;
    } else {
      bad(fmt::format("an unknown key '{}'", key.substr(0, 40)));
    }
    if (!next_is('}')) expect(',');
  }
  ++at;
  skip_space();
  if (at != header.size()) bad("text after the dict");
  if (!have_descr || !have_order || !have_shape)
    fail("{} has a .npy header without '{}'; write it with np.save", path,
         !have_descr   ? "descr"
         : !have_order ? "fortran_order"
                       : "shape");
  const NpyType type = npy_type(descr, path);
  out.dtype = type.dtype;
  out.item_bytes = type.bytes;
  // The product of the sizes, refused before it can wrap around.
  constexpr uint64_t kMaxEntries = uint64_t{1} << 40;
  uint64_t count = 1;
  for (int64_t size : out.shape) {
    if (size != 0 && count > kMaxEntries / static_cast<uint64_t>(size))
      fail("{} has a shape that multiplies past 2^40 entries", path);
    count *= static_cast<uint64_t>(size);
  }
  out.count = count;
  return out;
}

namespace {

/// Where an .npy file's header lies: its length and the offset of the dict.
struct NpyPrefix {
  uint64_t header_len = 0, offset = 0;
};

/// The magic string, version and header length of the first `available`
/// bytes (10 are enough for version 1, 12 for versions 2 and 3).
NpyPrefix parse_npy_prefix(const char* bytes, uint64_t available, const std::string& path) {
  if (available < 10 || std::memcmp(bytes, "\x93NUMPY", 6) != 0)
    fail("{} is not a .npy file: it does not start with the \\x93NUMPY magic string", path);
  const int major = static_cast<unsigned char>(bytes[6]);
  NpyPrefix prefix;
  if (major == 1) {
    prefix.header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    prefix.offset = 10;
  } else if (major == 2 || major == 3) {
    if (available < 12) fail("{} is truncated inside its header", path);
    for (int i = 3; i >= 0; --i)
      prefix.header_len = (prefix.header_len << 8) | static_cast<unsigned char>(bytes[8 + i]);
    prefix.offset = 12;
  } else {
    fail("{} uses .npy format version {}, which dgm does not know (1, 2 or 3 expected)", path, major);
  }
  if (prefix.header_len > kNpyMaxHeader)
    fail(
        "{} has a .npy header of {} bytes, past the {} dgm reads (NumPy writes a few hundred); it is not an array "
        "that np.save wrote",
        path, prefix.header_len, kNpyMaxHeader);
  return prefix;
}

/// The header's dict, checked: C order, and `found` bytes of data after it,
/// exactly what the shape and dtype say.
NpyHeader checked_npy_header(const std::string& header, uint64_t found, const std::string& path) {
  const NpyHeader parsed = parse_npy_header(header, path);
  if (parsed.fortran_order)
    fail("{} is stored in Fortran order; save it in C order, e.g. np.save(path, np.ascontiguousarray(x))", path);
  const uint64_t expected = parsed.count * parsed.item_bytes;
  if (found < expected)
    fail("{} is truncated: its header promises {} bytes of data for shape ({}), the file holds {}", path, expected,
         fmt::join(parsed.shape, ", "), found);
  if (found > expected) fail("{} has {} bytes after the data its header describes", path, found - expected);
  return parsed;
}

}  // namespace

torch::Tensor read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open {}: {}", path, std::strerror(errno));
  std::error_code error;
  const uint64_t file_size = std::filesystem::file_size(path, error);
  if (error) fail("cannot read the size of {}: {}", path, error.message());
  char bytes[12] = {};
  in.read(bytes, 12);
  const NpyPrefix prefix = parse_npy_prefix(bytes, static_cast<uint64_t>(in.gcount()), path);
  if (file_size < prefix.offset + prefix.header_len) fail("{} is truncated inside its header", path);
  std::string header(prefix.header_len, '\0');
  in.clear();
  in.seekg(static_cast<std::streamoff>(prefix.offset));
  in.read(header.data(), static_cast<std::streamsize>(prefix.header_len));
  if (static_cast<uint64_t>(in.gcount()) != prefix.header_len) fail("{} is truncated inside its header", path);
  // Sizes are checked against the file before anything is allocated.
  const uint64_t data_start = prefix.offset + prefix.header_len;
  const NpyHeader parsed = checked_npy_header(header, file_size - data_start, path);
  const uint64_t expected = parsed.count * parsed.item_bytes;
  auto tensor = torch::empty(parsed.shape, torch::TensorOptions().dtype(parsed.dtype));
  if (expected > 0) {
    in.read(static_cast<char*>(tensor.data_ptr()), static_cast<std::streamsize>(expected));
    if (static_cast<uint64_t>(in.gcount()) != expected)
      fail("{} could not be read to its end: {}", path, std::strerror(errno));
  }
  return tensor;
}

torch::Tensor parse_npy(const std::string& bytes, const std::string& name) {
  const NpyPrefix prefix = parse_npy_prefix(bytes.data(), bytes.size(), name);
  if (bytes.size() < prefix.offset + prefix.header_len) fail("{} is truncated inside its header", name);
  const uint64_t data_start = prefix.offset + prefix.header_len;
  const NpyHeader parsed =
      checked_npy_header(bytes.substr(prefix.offset, prefix.header_len), bytes.size() - data_start, name);
  auto tensor = torch::empty(parsed.shape, torch::TensorOptions().dtype(parsed.dtype));
  if (tensor.numel() > 0) std::memcpy(tensor.data_ptr(), bytes.data() + data_start, parsed.count * parsed.item_bytes);
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
