#include "core/tensorboard.h"

#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace dgm {
namespace fs = std::filesystem;

namespace {

std::array<uint32_t, 256> crc32c_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? 0x82F63B78u : 0u);
    table[i] = crc;
  }
  return table;
}

// Protocol buffers' wire format: a key (field << 3 | wire type), then a
// varint (0), 8 little-endian bytes (1), a length and bytes (2) or 4 bytes (5).
void varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

template <typename T>
void little_endian(std::string& out, T value) {
  for (std::size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

void varint_field(std::string& out, int field, uint64_t value) {
  varint(out, static_cast<uint64_t>(field) << 3);
  varint(out, value);
}

void bytes_field(std::string& out, int field, const std::string& bytes) {
  varint(out, (static_cast<uint64_t>(field) << 3) | 2);
  varint(out, bytes.size());
  out += bytes;
}

void double_field(std::string& out, int field, double value) {
  varint(out, (static_cast<uint64_t>(field) << 3) | 1);
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  little_endian(out, bits);
}

void float_field(std::string& out, int field, float value) {
  varint(out, (static_cast<uint64_t>(field) << 3) | 5);
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  little_endian(out, bits);
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace

uint32_t crc32c(const std::string& bytes) {
  static const auto table = crc32c_table();
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : bytes) crc = table[(crc ^ c) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(const std::string& bytes) {
  const uint32_t crc = crc32c(bytes);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

EventFileWriter::EventFileWriter(const std::string& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) fail("cannot make the TensorBoard folder {}: {}", dir, error.message());
  // The name TensorBoard looks for; a second writer in the same second gets a suffix.
  const std::string stem = fmt::format("events.out.tfevents.{}.{}", static_cast<int64_t>(now_seconds()), host_name());
  path_ = (fs::path(dir) / stem).string();
  for (int n = 1; fs::exists(path_, error); ++n) path_ = (fs::path(dir) / fmt::format("{}.{}", stem, n)).string();
  out_.open(path_, std::ios::binary);
  if (!out_) fail("cannot write the TensorBoard event file {}: {}", path_, std::strerror(errno));
  std::string fields;
  bytes_field(fields, 3, "brain.Event:2");
  write_event(fields);
}

void EventFileWriter::write_event(const std::string& fields) {
  std::string event;
  double_field(event, 1, now_seconds());
  event += fields;
  std::string length;
  little_endian(length, static_cast<uint64_t>(event.size()));
  std::string record = length;
  little_endian(record, masked_crc32c(length));
  record += event;
  little_endian(record, masked_crc32c(event));
  out_.write(record.data(), static_cast<std::streamsize>(record.size()));
  out_.flush();
  if (!out_) fail("cannot write the TensorBoard event file {}: {}", path_, std::strerror(errno));
}

void EventFileWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  std::string value_message, summary, fields;
  bytes_field(value_message, 1, tag);
  float_field(value_message, 2, static_cast<float>(value));
  bytes_field(summary, 1, value_message);
  varint_field(fields, 2, static_cast<uint64_t>(step));
  bytes_field(fields, 5, summary);
  write_event(fields);
}

void EventFileWriter::add_image(const std::string& tag, const std::string& png, int64_t height, int64_t width,
                                int64_t channels, int64_t step) {
  std::string image, value_message, summary, fields;
  varint_field(image, 1, static_cast<uint64_t>(height));
  varint_field(image, 2, static_cast<uint64_t>(width));
  varint_field(image, 3, static_cast<uint64_t>(channels));
  bytes_field(image, 4, png);
  bytes_field(value_message, 1, tag);
  bytes_field(value_message, 4, image);
  bytes_field(summary, 1, value_message);
  varint_field(fields, 2, static_cast<uint64_t>(step));
  bytes_field(fields, 5, summary);
  write_event(fields);
}

void EventFileWriter::add_restart(int64_t step) {
  std::string session_log, fields;
  varint_field(session_log, 1, 1);  // SessionLog.START
  varint_field(fields, 2, static_cast<uint64_t>(step));
  bytes_field(fields, 6, session_log);
  write_event(fields);
}

}  // namespace dgm
