// dgm's IDX reader behind a valid gzip stream: the input is compressed here,
// so the fuzzer explores what the stream inflates to (headers that promise
// more or less than follows, trailing data) rather than the deflate format.
#include <zlib.h>

#include <vector>

#include "core/idx.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  z_stream stream{};
  // 15 + 16: a gzip header and trailer around the deflate stream.
  if (deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 0;
  std::vector<unsigned char> packed(deflateBound(&stream, size) + 64);
  stream.next_in = const_cast<Bytef*>(data);
  stream.avail_in = static_cast<uInt>(size);
  stream.next_out = packed.data();
  stream.avail_out = static_cast<uInt>(packed.size());
  const int status = deflate(&stream, Z_FINISH);
  const std::size_t packed_size = packed.size() - stream.avail_out;
  deflateEnd(&stream);
  if (status != Z_STREAM_END) return 0;
  const std::string path = dgm_fuzz::write_input(packed.data(), packed_size, "input-ubyte.gz");
  dgm_fuzz::expect_clean([&] { dgm::read_idx(path); });
  return 0;
}
