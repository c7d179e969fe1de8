#include "core/idx.h"

#include <zlib.h>

#include <torch/torch.h>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/memory_budget.h"

namespace dgm {

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

/// Deflate inflates at most about 1032 bytes per compressed byte: a header
/// that promises more than this of a .gz file lies, and is refused before
/// anything is allocated.
constexpr uint64_t kMaxInflateRatio = 1100, kInflateSlack = 1 << 16;
/// Past the data, this much more is read (and counted) before giving up.
constexpr uint64_t kTrailingLimit = 1 << 20;

/// A gzip or raw file read in pieces of bounded size, so a stream that
/// inflates to more than its header says is noticed after at most the
/// header's size plus kTrailingLimit. Inflated here rather than by gzread,
/// which ignores whatever follows the last gzip member: bytes after the
/// compressed data that are not another member are an error.
class PieceReader {
 public:
  explicit PieceReader(const std::string& path) : path_(path), file_(std::fopen(path.c_str(), "rb")) {
    if (file_ == nullptr) fail("cannot open {}: {}", path, std::strerror(errno));
    fill();
    compressed_ = left_ >= 2 && input_[next_] == 0x1f && input_[next_ + 1] == 0x8b;
    if (compressed_ && inflateInit2(&stream_, 15 + 16) != Z_OK) {
      std::fclose(file_);
      fail("zlib could not start inflating {}", path);
    }
  }
  ~PieceReader() {
    if (compressed_) inflateEnd(&stream_);
    std::fclose(file_);
  }
  PieceReader(const PieceReader&) = delete;
  PieceReader& operator=(const PieceReader&) = delete;

  /// Reads up to n bytes into out: fewer only at the end of the data. A
  /// damaged or cut-off gzip stream is an error.
  uint64_t read(void* out, uint64_t n) {
    auto* bytes = static_cast<unsigned char*>(out);
    uint64_t done = 0;
    while (done < n && fill()) {
      if (!compressed_) {
        const auto piece = static_cast<std::size_t>(std::min<uint64_t>(n - done, left_));
        std::memcpy(bytes + done, input_.data() + next_, piece);
        take(piece);
        done += piece;
        continue;
      }
      if (member_ended_) {
        // gzip allows members one after another; anything else is garbage.
        if (input_[next_] != 0x1f)
          fail("{} has data after its gzip stream that is not gzip: a damaged file; re-download it", path_);
        inflateReset(&stream_);
        member_ended_ = false;
      }
      stream_.next_in = input_.data() + next_;
      stream_.avail_in = static_cast<uInt>(left_);
      stream_.next_out = bytes + done;
      stream_.avail_out = static_cast<uInt>(std::min<uint64_t>(n - done, uint64_t{1} << 30));
      const uInt room = stream_.avail_out;
      const int code = inflate(&stream_, Z_NO_FLUSH);
      take(left_ - stream_.avail_in);
      done += room - stream_.avail_out;
      if (code == Z_STREAM_END) {
        member_ended_ = true;
      } else if (code != Z_OK && code != Z_BUF_ERROR) {
        fail("{} is a damaged gzip file ({}); re-download or re-install it", path_,
             stream_.msg != nullptr ? stream_.msg : "zlib error");
      }
    }
    if (done < n && compressed_ && !member_ended_ && input_started_)
      fail("{} is a truncated gzip file: it ends inside its compressed data; re-download or re-install it", path_);
    return done;
  }
  bool compressed() const { return compressed_; }

 private:
  /// True when unread input is buffered, reading more if none is.
  bool fill() {
    if (left_ > 0) return true;
    next_ = 0;
    left_ = std::fread(input_.data(), 1, input_.size(), file_);
    if (std::ferror(file_)) fail("cannot read {}: {}", path_, std::strerror(errno));
    input_started_ = input_started_ || left_ > 0;
    return left_ > 0;
  }
  void take(std::size_t n) {
    next_ += n;
    left_ -= n;
  }
  std::string path_;
  std::FILE* file_;
  std::vector<unsigned char> input_ = std::vector<unsigned char>(std::size_t{1} << 16);
  std::size_t next_ = 0, left_ = 0;
  bool compressed_ = false, member_ended_ = false, input_started_ = false;
  z_stream stream_{};
};

}  // namespace

torch::Tensor read_idx(const std::string& path) {
  PieceReader in(path);
  unsigned char magic[4] = {};
  const uint64_t got = in.read(magic, 4);
  if (got < 4 || magic[0] != 0 || magic[1] != 0)
    fail("{} is not an IDX file: it must start with two zero bytes, a type and a dimension count", path);
  const IdxType type = idx_type(magic[2], path);
  const int dims = magic[3];
  if (dims < 1 || dims > 8) fail("{} is not a valid IDX file: {} dimensions (1 to 8 expected)", path, dims);
  const uint64_t header = 4 + 4 * static_cast<uint64_t>(dims);
  unsigned char sizes[32] = {};
  const uint64_t got_sizes = in.read(sizes, header - 4);
  if (got_sizes < header - 4)
    fail("{} is truncated: its header needs {} bytes, the file has {}", path, header, 4 + got_sizes);
  std::vector<int64_t> shape;
  uint64_t count = 1;
  for (int d = 0; d < dims; ++d) {
    const uint32_t size = big_endian_u32(sizes + 4 * d);
    if (size == 0 || size > (1u << 31)) fail("{} is not a valid IDX file: dimension {} has size {}", path, d, size);
    shape.push_back(size);
    // Checked before the product, which could otherwise wrap around 2^64.
    if (count > (uint64_t{1} << 40) / size)
      fail("{} is not a valid IDX file: its sizes multiply past 2^40 entries", path);
    count *= size;
  }
  const uint64_t expected = count * type.bytes;
  // The header's promise against the file's size, before the allocation.
  std::error_code error;
  const uint64_t file_size = std::filesystem::file_size(path, error);
  if (!error) {
    if (!in.compressed() && file_size < header + expected)
      fail("{} is truncated: its header promises {} bytes of data, the file holds {}; re-download it", path, expected,
           file_size - header);
    if (!in.compressed() && file_size > header + expected)
      fail("{} has {} bytes after the data its header describes: wrong dimensions or not an IDX file", path,
           file_size - header - expected);
    if (in.compressed() && expected > kMaxInflateRatio * file_size + kInflateSlack)
      fail(
          "{} is truncated or not an IDX file: its header promises {} bytes of data, more than a gzip file of {} "
          "bytes can hold",
          path, expected, file_size);
  }
  check_memory(expected, fmt::format("{} ({} entries)", path, count), "raise --memory-limit, or use a smaller file");
  auto tensor = torch::empty(shape, torch::TensorOptions().dtype(type.dtype));
  const uint64_t read = in.read(tensor.data_ptr(), expected);
  if (read < expected)
    fail("{} is truncated: its header promises {} bytes of data, the file holds {}; re-download it", path, expected,
         read);
  // What follows the data is counted, up to a limit: a small .gz that
  // inflates to gigabytes is refused after kTrailingLimit bytes, not read whole.
  char rest[1 << 16];
  uint64_t trailing = 0;
  for (uint64_t piece; trailing <= kTrailingLimit && (piece = in.read(rest, sizeof(rest))) > 0;) trailing += piece;
  if (trailing > kTrailingLimit)
    fail("{} has more than {} bytes after the data its header describes: wrong dimensions or not an IDX file", path,
         kTrailingLimit);
  if (trailing > 0)
    fail("{} has {} bytes after the data its header describes: wrong dimensions or not an IDX file", path, trailing);
  if (type.bytes > 1) {  // IDX stores multi-byte values big-endian
    auto* raw = static_cast<unsigned char*>(tensor.data_ptr());
    for (uint64_t i = 0; i < count; ++i) std::reverse(raw + i * type.bytes, raw + (i + 1) * type.bytes);
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
