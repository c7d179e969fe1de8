// TensorBoard event files: CRC-32C against the check values of RFC 3720 and
// the CRC catalogue, and a writer's records read back by a decoder of the
// tests' own (test_support's read_tensorboard_events: the TFRecord frames,
// their masked CRCs and the Event fields).

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "core/atomic_file.h"
#include "core/tensorboard.h"
#include "test_support.h"

namespace dgm {
namespace {

TEST(TensorBoard, Crc32cHasItsPublishedCheckValues) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);  // the catalogue's check value for CRC-32C
  // RFC 3720 (iSCSI), appendix B.4.
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(crc32c(ascending), 0x46DD794Eu);
  EXPECT_EQ(crc32c(""), 0u);
  // Masking rotates right by 15 and adds TFRecord's constant.
  EXPECT_EQ(masked_crc32c("123456789"), ((0xE3069283u >> 15) | (0xE3069283u << 17)) + 0xa282ead8u);
}

TEST(TensorBoard, ScalarsImagesAndRestartsReadBack) {
  const auto dir = test::make_temp_dir("tensorboard") + "/logs";  // made by the writer
  std::string path;
  {
    EventFileWriter writer(dir);
    path = writer.path();
    EXPECT_EQ(std::filesystem::path(path).filename().string().rfind("events.out.tfevents.", 0), 0u) << path;
    writer.add_scalar("train/loss", 123.25, 7);
    writer.add_scalar("validation/elbo", -98.5, 300);  // a step past one byte of varint
    writer.add_image("samples", std::string("\x89PNG\r\n\x1a\n fake", 13), 38, 146, 3, 300);
    writer.add_restart(150);
    EventFileWriter second(dir);
    EXPECT_NE(second.path(), path) << "two writers in one second get two files";
  }
  const auto events = test::read_tensorboard_events(path);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0].file_version, "brain.Event:2");
  EXPECT_GT(events[0].wall_time, 1.7e9);  // seconds since 1970, now
  EXPECT_EQ(events[1].tag, "train/loss");
  EXPECT_TRUE(events[1].has_scalar);
  EXPECT_EQ(events[1].scalar, 123.25f);
  EXPECT_EQ(events[1].step, 7);
  EXPECT_EQ(events[2].tag, "validation/elbo");
  EXPECT_EQ(events[2].scalar, -98.5f);
  EXPECT_EQ(events[2].step, 300);
  EXPECT_TRUE(events[3].has_image);
  EXPECT_EQ(events[3].tag, "samples");
  EXPECT_EQ(events[3].height, 38);
  EXPECT_EQ(events[3].width, 146);
  EXPECT_EQ(events[3].colorspace, 3);
  EXPECT_EQ(events[3].encoded_image, std::string("\x89PNG\r\n\x1a\n fake", 13));
  EXPECT_EQ(events[4].session_status, 1);  // START
  EXPECT_EQ(events[4].step, 150);
}

TEST(TensorBoard, TheFramingIsTfRecords) {
  // The first record, byte by byte: its length (little-endian uint64), the
  // masked CRC of those 8 bytes, the Event (field 1: wall_time as a double,
  // field 3: "brain.Event:2"), the masked CRC of the Event.
  const auto dir = test::make_temp_dir("tensorboard_bytes");
  EventFileWriter writer(dir);
  const std::string file = read_text_file(writer.path());
  const std::string event_bytes = file.substr(12, file.size() - 16);
  ASSERT_EQ(file.size(), 12u + 9u + 15u + 4u);
  EXPECT_EQ(file.substr(0, 8), std::string("\x18\0\0\0\0\0\0\0", 8));           // 24 bytes of Event
  EXPECT_EQ(event_bytes[0], '\x09');                                            // field 1, 64-bit
  EXPECT_EQ(event_bytes.substr(9), std::string("\x1a\x0d") + "brain.Event:2");  // field 3, 13 bytes
  auto u32 = [&](std::size_t at) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(file[at + i])) << (8 * i);
    return v;
  };
  EXPECT_EQ(u32(8), masked_crc32c(file.substr(0, 8)));
  EXPECT_EQ(u32(file.size() - 4), masked_crc32c(event_bytes));
}

}  // namespace
}  // namespace dgm
