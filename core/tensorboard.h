#pragma once
// TensorBoard's event files, written without TensorFlow: TFRecord framing
// (a little-endian uint64 length, its masked CRC-32C, the record, its
// masked CRC-32C) around Event protocol buffers (tensorflow/core/util/
// event.proto, summary.proto), of which only the fields TensorBoard reads for
// scalars and images are encoded, by hand: Event{wall_time = 1 (double),
// step = 2 (int64), file_version = 3 (string), summary = 5, session_log = 6},
// Summary{value = 1 (repeated)}, Summary.Value{tag = 1, simple_value = 2
// (float), image = 4}, Summary.Image{height = 1, width = 2, colorspace = 3,
// encoded_image_string = 4 (PNG bytes)}, SessionLog{status = 1 (START = 1)}.

#include <cstdint>
#include <fstream>
#include <string>

namespace dgm {

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord uses.
uint32_t crc32c(const std::string& bytes);
/// TFRecord's masked CRC: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t masked_crc32c(const std::string& bytes);

/// One event file, "events.out.tfevents.<seconds>.<host>" in a folder (made
/// when missing); each event is flushed as it is written, so TensorBoard sees
/// a run while it trains. Its first event names the format ("brain.Event:2").
class EventFileWriter {
 public:
  explicit EventFileWriter(const std::string& dir);
  const std::string& path() const { return path_; }
  void add_scalar(const std::string& tag, double value, int64_t step);
  /// A picture: `png` the bytes of a PNG file of width x height x channels.
  void add_image(const std::string& tag, const std::string& png, int64_t height, int64_t width, int64_t channels,
                 int64_t step);
  /// SessionLog START at `step`: TensorBoard drops the events of earlier files
  /// past `step` (a resumed run trains those steps again).
  void add_restart(int64_t step);

 private:
  void write_event(const std::string& fields);
  std::string path_;
  std::ofstream out_;
};

}  // namespace dgm
