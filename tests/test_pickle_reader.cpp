// The strict pickle reader (core/pickle_reader.h): the pickles torch.save
// writes for state dicts and checkpoint dicts (Debian's python3-torch made
// the fixtures), and hostile ones crafted here: each a clear error, never a
// crash.

#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>

#include <string>

#include "core/pickle_reader.h"
#include "pickle_bytes.h"
#include "test_support.h"

namespace dgm {
namespace {

using Kind = PickleObject::Kind;
using test::kFixtures;

/// data.pkl of a fixture archive (trusted: made by the committed script).
std::string data_pickle(const std::string& file) {
  caffe2::serialize::PyTorchStreamReader reader(kFixtures + file);
  auto [data, size] = reader.getRecord("data.pkl");
  return std::string(static_cast<const char*>(data.get()), size);
}

using namespace test::pickle;

/// A tensor record: _rebuild_tensor_v2 over a float storage of `numel`.
std::string tensor_call(int numel, const std::vector<int>& size, const std::vector<int>& stride, int offset) {
  std::vector<std::string> sizes, strides;
  for (int s : size) sizes.push_back(int2(s));
  for (int s : stride) strides.push_back(int2(s));
  const std::string storage =
      tuple({text("storage"), "ctorch\nFloatStorage\n", text("0"), text("cpu"), int2(numel)}) + "Q";
  return "ctorch._utils\n_rebuild_tensor_v2\n" +
         tuple({storage, int2(offset), tuple(sizes), tuple(strides), op(0x89), "ccollections\nOrderedDict\n)R"}) + "R";
}

std::string pickle_error_of(const std::string& bytes) {
  return test::error_message_of([&] { read_pickle(bytes, "test.pkl"); });
}

TEST(PickleReader, ReadsAStateDictAsTorchSaveWritesIt) {
  // torch.save(model.state_dict()): an OrderedDict with _metadata set by BUILD.
  auto dict = read_pickle(data_pickle("python_vae_ordered.pt"), "python_vae_ordered.pt");
  ASSERT_EQ(dict->kind, Kind::kDict);
  ASSERT_EQ(dict->items.size(), 20u);  // 10 names and 10 tensors
  EXPECT_EQ(dict->items[0]->text, "fc1.weight");
  const PickleTensor& weight = dict->items[1]->tensor;
  EXPECT_EQ(dict->items[1]->kind, Kind::kTensor);
  EXPECT_EQ(weight.size, (std::vector<int64_t>{16, 784}));
  EXPECT_EQ(weight.stride, (std::vector<int64_t>{784, 1}));
  EXPECT_EQ(weight.storage->key, "0");
  EXPECT_EQ(weight.storage->numel, 16 * 784);
  EXPECT_EQ(weight.storage->dtype, torch::kFloat32);
  EXPECT_EQ(dict->items[18]->text, "fc4.bias");
  // A checkpoint dict: {"epoch": 3, "model": {...}}.
  auto checkpoint = read_pickle(data_pickle("python_checkpoint.pt"), "python_checkpoint.pt");
  ASSERT_EQ(checkpoint->items.size(), 4u);
  EXPECT_EQ(checkpoint->items[0]->text, "epoch");
  EXPECT_EQ(checkpoint->items[1]->integer, 3);
  EXPECT_EQ(checkpoint->items[3]->kind, Kind::kDict);
}

TEST(PickleReader, ReadsScalarsAndTheProtocol4Opcodes) {
  // [None, True, -5, 1.5, 2^40, 'é'] in protocol 2, then an OrderedDict by
  // STACK_GLOBAL with FRAME and MEMOIZE in protocol 4.
  const std::string float_bytes = "G\x3f\xf8" + std::string(6, '\0');
  const std::string long1 = op(0x8a) + op(6) + std::string(5, '\0') + op(1);
  auto list = read_pickle(
      kHeader + "(" + "N" + op(0x88) + "J\xfb\xff\xff\xff" + float_bytes + long1 + text("\xc3\xa9") + "l.", "x");
  ASSERT_EQ(list->kind, Kind::kList);
  ASSERT_EQ(list->items.size(), 6u);
  EXPECT_EQ(list->items[0]->kind, Kind::kNone);
  EXPECT_TRUE(list->items[1]->boolean);
  EXPECT_EQ(list->items[2]->integer, -5);
  EXPECT_DOUBLE_EQ(list->items[3]->real, 1.5);
  EXPECT_EQ(list->items[4]->integer, int64_t{1} << 40);
  EXPECT_EQ(list->items[5]->text, "\xc3\xa9");
  const std::string p4 = "\x80\x04" + op(0x95) + std::string(8, '\0') + op(0x8c) + op(11) + "collections" + op(0x94) +
                         op(0x8c) + op(11) + "OrderedDict" + op(0x94) + op(0x93) + op(0x94) + ")R" + op(0x94) +
                         op(0x8c) + op(1) + "a" + "K\x07" + "s.";
  auto dict = read_pickle(p4, "p4");
  ASSERT_EQ(dict->kind, Kind::kDict);
  EXPECT_EQ(dict->items[1]->integer, 7);
}

TEST(PickleReader, ChecksEveryTensorViewAgainstItsStorage) {
  auto ok = read_pickle(kHeader + tensor_call(4, {2, 2}, {2, 1}, 0) + ".", "x");
  EXPECT_EQ(ok->kind, Kind::kTensor);
  auto transposed = read_pickle(kHeader + tensor_call(6, {3, 2}, {1, 3}, 0) + ".", "x");
  EXPECT_EQ(transposed->tensor.stride, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(read_pickle(kHeader + tensor_call(0, {0, 5}, {5, 1}, 0) + ".", "x")->kind, Kind::kTensor);
  // Issue 13: a bias of 784 over 7 stored values, a stride past the storage, an offset past it.
  EXPECT_NE(
      pickle_error_of(kHeader + tensor_call(7, {784}, {1}, 0) + ".").find("reaches element 783 of a storage of 7"),
      std::string::npos);
  EXPECT_NE(pickle_error_of(kHeader + tensor_call(4, {2, 2}, {100, 1}, 0) + ".").find("reaches element 101"),
            std::string::npos);
  EXPECT_NE(
      pickle_error_of(kHeader + tensor_call(4, {2, 2}, {2, 1}, 1) + ".").find("reaches element 4 of a storage of 4"),
      std::string::npos);
  EXPECT_NE(pickle_error_of(kHeader + tensor_call(4, {2, 2}, {2}, 0) + ".").find("2 sizes and 1 strides"),
            std::string::npos);
}

TEST(PickleReader, HostilePicklesAreClearErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {kHeader + "cos\nsystem\n.", "GLOBAL 'os.system' is not allowed"},
      {kHeader + "cbuiltins\neval\n.", "GLOBAL 'builtins.eval' is not allowed"},
      {kHeader + "R.", "the stack is empty"},                               // an empty REDUCE
      {kHeader + "b.", "the stack is empty"},                               // an empty BUILD
      {kHeader + op(0x85) + ".", "the stack is empty"},                     // a one-element TUPLE of nothing
      {kHeader + "}NNu.", "no MARK to pop to"},                             // SETITEMS without a MARK
      {kHeader + "X\xff\xff\xff\xff" + ".", "4294967295 bytes announced"},  // a huge BINUNICODE
      {kHeader + op(0x8d) + std::string(7, '\xff') + "\x7f.", "bytes announced"},
      {kHeader + "X\x05\x00", "bytes announced"},  // truncated inside an opcode
      {kHeader + "N", "ends without STOP"},
      {kHeader + "N.junk", "4 bytes after STOP"},
      {kHeader + "NN.", "STOP with 2 objects on the stack"},
      {kHeader + "(N.", "STOP with an open MARK"},
      {"\x80\x06N.", "pickle protocol 6"},
      {kHeader + op(0x8a) + op(9) + std::string(9, '\1') + ".", "an integer of 9 bytes"},
      {kHeader + "h\x03.", "memo entry 3 was never stored"},
      {kHeader + "]q" + op(0) + "h" + op(0) + "a.", "a container placed inside itself"},
      // Two lists, the second put in the first, then changed through the memo.
      {kHeader + "]]q\x01" + "a" + "h\x01" + "Na.", "a container changed after it was placed in another"},
      {kHeader + "NNa.", "a None where a list is needed"},
      {kHeader + "ccollections\nOrderedDict\nNR.", "REDUCE with a None for its arguments"},
      {kHeader + "ctorch\nFloatStorage\n)R.", "REDUCE of 'torch.FloatStorage'"},
      {kHeader + tuple({text("storage"), "ctorch\nFloatStorage\n", text("../x"), text("cpu"), int2(1)}) + "Q.",
       "a storage key that is not a plain name"},
      {kHeader + "I1\n.", "an opcode dgm does not read"},
      {kHeader + "ccollections\nOrderedDict\n)" + op(0x81) + ".", "NEWOBJ of anything but a TorchScript class"},
      {kHeader + op(0x82) + ".", "opcode 0x82"},  // EXT1
  };
  for (const auto& [bytes, expected] : cases) {
    const auto message = pickle_error_of(bytes);
    EXPECT_NE(message.find(expected), std::string::npos) << "expected '" << expected << "', got: " << message;
    EXPECT_NE(message.find("test.pkl"), std::string::npos) << message;
  }
}

TEST(PickleReader, NestingIsBoundedAndDeepInputNeverRecurses) {
  // 300 lists, each appended into the one below: deeper than the limit.
  std::string deep = kHeader;
  for (int i = 0; i < 300; ++i) deep += "]";
  for (int i = 0; i < 299; ++i) deep += "a";
  EXPECT_NE(pickle_error_of(deep + ".").find("nesting deeper than 256"), std::string::npos);
  // A million MARKs: a bounded error, not a stack overflow.
  EXPECT_NE(pickle_error_of(kHeader + std::string(1000000, '(') + "N.").find("open MARK"), std::string::npos);
}

}  // namespace
}  // namespace dgm
