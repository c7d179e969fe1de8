// Issue 13's "Messages": about 75 malformed inputs gave an error that named
// no file, key or problem, or misled (LibTorch's own text, yaml-cpp's "bad
// conversion", "stoll", "vector::_M_range_check", a suggestion of the key
// that was given). This walks a table of such inputs through dgm's readers:
// each must be a dgm::Error (never another exception), name its file or key,
// say what is wrong, and hold none of the library texts below.

#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/csv.h"
#include "core/error.h"
#include "core/idx.h"
#include "core/memory_budget.h"
#include "core/npy.h"
#include "core/safetensors.h"
#include "core/torch_state_dict.h"
#include "models/gaussian_mixture_io.h"
#include "pickle_bytes.h"
#include "test_support.h"
#include "trainers/config.h"
#include "trainers/gmm_em.h"
#include "trainers/run_directory.h"

namespace dgm {
namespace {

using test::pickle::int2;
using test::pickle::op;
using test::pickle::text;

/// Texts of the libraries under dgm that must never reach a user.
const std::vector<std::string> kForeignTexts{"LibTorch",
                                             "c10::",
                                             "Storage size calculation",
                                             "stoll",
                                             "stoi",
                                             "bad conversion",
                                             "vector::_M_range_check",
                                             "_M_",
                                             "basic_string",
                                             "DefaultCPUAllocator",
                                             "can't allocate",
                                             "value cannot be converted",
                                             "shape '[",
                                             "Traceback",
                                             "yaml-cpp",
                                             "[json.exception",
                                             "terminate called"};

/// What a row feeds dgm: the bytes of one file, and the reader that gets its path.
struct Row {
  std::string name;   ///< what is malformed
  std::string file;   ///< the file's name (in a fresh directory)
  std::string bytes;  ///< its contents
  std::function<void(const std::string& path)> read;
  std::string expected;  ///< a piece of the message that says what is wrong
  bool names_file = true;
};

std::string le(uint64_t value, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
  return out;
}

std::string be32(uint32_t value) {
  std::string out;
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
  return out;
}

/// An NPY file of format 1.0 with `header` (padded as NumPy pads it) and `data`.
std::string npy(const std::string& header, const std::string& data = "") {
  std::string dict = header;
  while ((10 + dict.size() + 1) % 64 != 0) dict += ' ';
  dict += '\n';
  return std::string("\x93NUMPY\x01\x00", 8) + le(dict.size(), 2) + dict + data;
}

/// An IDX file: magic (type code, dimensions), big-endian sizes, data.
std::string idx(unsigned char type, const std::vector<uint32_t>& sizes, const std::string& data = "") {
  std::string out{'\0', '\0', static_cast<char>(type), static_cast<char>(sizes.size())};
  for (uint32_t size : sizes) out += be32(size);
  return out + data;
}

/// A safetensors file: the header's length, the JSON header, the data.
std::string safetensors(const std::string& header, const std::string& data = "") {
  return le(header.size(), 8) + header + data;
}

/// A torch.save archive (zip) holding `pickle` as data.pkl and `storage` as data/0.
std::string torch_save(const std::string& pickle, const std::string& storage = std::string(16, '\0')) {
  std::string bytes;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) {
    bytes.append(static_cast<const char*>(data), size);
    return size;
  });
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  writer.writeRecord("data/0", storage.data(), storage.size());
  writer.writeEndOfFile();
  return bytes;
}

/// {'w': _rebuild_tensor_v2(storage, offset, size, stride)} over a FloatStorage of `numel`.
std::string tensor_pickle(int numel, const std::string& offset, const std::string& size, const std::string& stride) {
  const std::string storage =
      "(" + text("storage") + "ctorch\nFloatStorage\n" + text("0") + text("cpu") + int2(numel) + "tQ";
  return test::pickle::kHeader + "}(" + text("w") + "ctorch._utils\n_rebuild_tensor_v2\n(" + storage + offset + size +
         stride + op(0x89) + "ccollections\nOrderedDict\n)RtRu.";
}

std::string one_tuple(const std::string& item) { return "(" + item + "t"; }

const auto kNpy = [](const std::string& path) { read_npy(path); };
const auto kIdx = [](const std::string& path) { read_idx(path); };
const auto kCsv = [](const std::string& path) { read_csv(path); };
const auto kSafetensors = [](const std::string& path) { read_safetensors(path); };
const auto kStateDict = [](const std::string& path) { read_torch_state_dict(path); };
const auto kConfig = [](const std::string& path) { load_config(path); };
const auto kRunJson = [](const std::string& path) {
  read_run_metadata(std::filesystem::path(path).parent_path().string());
};
const auto kPoints = [](const std::string& path) { fit_gaussian_mixture(read_points(path), EmOptions{}); };

/// A config file's body under train: ... (the key names no file: the row names the key).
Row config_row(const std::string& name, const std::string& yaml, const std::string& expected) {
  return {name, "config.yaml", yaml, kConfig, expected};
}

std::vector<Row> rows() {
  const std::string f4 = "{'descr': '<f4', 'fortran_order': False, 'shape': ";
  std::vector<Row> table{
      // NPY
      {"npy: not an NPY file", "x.npy", "hello, world", kNpy, "does not start with the \\x93NUMPY magic"},
      {"npy: empty file", "x.npy", "", kNpy, ""},
      {"npy: cut in the magic", "x.npy", "\x93NUM", kNpy, ""},
      {"npy: header longer than the file", "x.npy", std::string("\x93NUMPY\x01\x00", 8) + le(5000, 2) + "{", kNpy, ""},
      {"npy: version 9", "x.npy", std::string("\x93NUMPY\x09\x00", 8) + le(10, 2) + "{}        ", kNpy, "version"},
      {"npy: descr missing", "x.npy", npy("{'fortran_order': False, 'shape': (2,), }"), kNpy, "descr"},
      {"npy: unknown dtype", "x.npy", npy("{'descr': '<q16', 'fortran_order': False, 'shape': (2,), }"), kNpy, "<q16"},
      {"npy: object dtype (a pickle)", "x.npy", npy("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }"), kNpy,
       "|O"},
      {"npy: shape not a tuple", "x.npy", npy(f4 + "[2, 3], }"), kNpy, "'(' expected"},
      {"npy: negative dimension", "x.npy", npy(f4 + "(-2, 3), }"), kNpy, "a negative dimension"},
      {"npy: dimension past int64", "x.npy", npy(f4 + "(99999999999999999999, 3), }"), kNpy, "a dimension past 10^15"},
      {"npy: shape product wraps 2^64", "x.npy", npy(f4 + "(4294967296, 4294967296, 16), }"), kNpy, ""},
      {"npy: data shorter than the shape", "x.npy", npy(f4 + "(4, 4), }", std::string(12, '\0')), kNpy, "64"},
      {"npy: a very long descr", "x.npy", npy("{'descr': '" + std::string(60000, 'f') + "', 'shape': (1,), }"), kNpy,
       ""},
      {"npy: fortran_order not a bool", "x.npy", npy("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }"), kNpy,
       "fortran_order"},
      // IDX
      {"idx: not IDX", "x.idx", "not an idx file at all", kIdx, ""},
      {"idx: unknown type code", "x.idx", idx(0x07, {2}, "ab"), kIdx, "0x07"},
      {"idx: no dimensions", "x.idx", idx(0x08, {}), kIdx, ""},
      {"idx: cut in the sizes", "x.idx", idx(0x08, {2, 2}).substr(0, 9), kIdx, ""},
      {"idx: data shorter than the header", "x.idx", idx(0x08, {10, 10}, std::string(30, 'x')), kIdx, "100"},
      {"idx: data longer than the header", "x.idx", idx(0x08, {2, 2}, std::string(30, 'x')), kIdx, ""},
      {"idx: size product wraps 2^64", "x.idx", idx(0x08, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, std::string(8, 'x')),
       kIdx, ""},
      {"idx: a zero size", "x.idx", idx(0x08, {0, 28, 28}), kIdx, ""},
      {"idx.gz: not gzip inside", "x.idx.gz", "\x1f\x8b junk that does not inflate", kIdx, ""},
      // CSV
      {"csv: a word in the numbers", "x.csv", "1,2\n3,four\n", kCsv, "'four'"},
      {"csv: ragged rows", "x.csv", "1,2,3\n4,5\n", kCsv, "2 columns"},
      {"csv: infinite value", "x.csv", "1,inf\n", kCsv, "infinite"},
      {"csv: only a header", "x.csv", "a,b,c\n", kCsv, "no rows"},
      {"csv: empty", "x.csv", "", kCsv, "no rows"},
      {"csv: a number past double", "x.csv", "1,1e999\n", kCsv, "1e999"},
      // Points for EM
      {"points: all NaN", "x.csv", "nan,nan\nnan,nan\nnan,nan\n", kPoints, "non-finite value (nan)", false},
      {"points: scaled by 1e300", "x.csv", "1e300,2e300\n-1e300,3e300\n2e300,-1e300\n5e299,1e300\n", kPoints,
       "overflow", false},
      // safetensors
      {"safetensors: too short", "x.safetensors", "abc", kSafetensors, ""},
      {"safetensors: header past the file", "x.safetensors", le(1000, 8) + "{}", kSafetensors, ""},
      {"safetensors: header length 2^63", "x.safetensors", le(uint64_t{1} << 63, 8) + "{}", kSafetensors, ""},
      {"safetensors: header not JSON", "x.safetensors", safetensors("{not json"), kSafetensors, ""},
      {"safetensors: header not an object", "x.safetensors", safetensors("[1, 2]"), kSafetensors, ""},
      {"safetensors: unknown dtype", "x.safetensors",
       safetensors(R"({"w":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}})", std::string(16, '\0')), kSafetensors,
       "F128"},
      {"safetensors: offsets past the data", "x.safetensors",
       safetensors(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", std::string(8, '\0')), kSafetensors,
       "'w'"},
      {"safetensors: shape and offsets disagree", "x.safetensors",
       safetensors(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", std::string(16, '\0')), kSafetensors,
       "'w'"},
      {"safetensors: a string where the shape goes", "x.safetensors",
       safetensors(R"({"w":{"dtype":"F32","shape":"four","data_offsets":[0,16]}})", std::string(16, '\0')),
       kSafetensors, "'w'"},
      {"safetensors: a negative size", "x.safetensors",
       safetensors(R"({"w":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", std::string(16, '\0')), kSafetensors,
       "'w'"},
      {"safetensors: overlapping tensors", "x.safetensors",
       safetensors(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                   R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                   std::string(16, '\0')),
       kSafetensors, "overlap"},
      {"safetensors: a shape product that wraps", "x.safetensors",
       safetensors(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,16]}})",
                   std::string(16, '\0')),
       kSafetensors, "'w'"},
      // torch.save archives and their pickles
      {"torch.save: random bytes named .pt", "x.pt", std::string(200, '\x42'), kStateDict, ""},
      {"torch.save: a zip without data.pkl", "x.pt", "PK\x05\x06" + std::string(18, '\0'), kStateDict, ""},
      {"pickle: an unknown GLOBAL", "x.pt", torch_save(test::pickle::kHeader + "cos\nsystem\n."), kStateDict,
       "os.system"},
      {"pickle: an empty REDUCE", "x.pt", torch_save(test::pickle::kHeader + "R."), kStateDict, ""},
      {"pickle: BUILD on nothing", "x.pt", torch_save(test::pickle::kHeader + "b."), kStateDict, ""},
      {"pickle: SETITEMS without MARK", "x.pt", torch_save(test::pickle::kHeader + "}u."), kStateDict, ""},
      {"pickle: a huge BINUNICODE", "x.pt", torch_save(test::pickle::kHeader + "X\xff\xff\xff\x7f" + "abc."),
       kStateDict, ""},
      {"pickle: cut in an opcode", "x.pt", torch_save(test::pickle::kHeader + "}(" + text("w").substr(0, 3)),
       kStateDict, ""},
      {"pickle: no STOP", "x.pt", torch_save(test::pickle::kHeader + "}"), kStateDict, ""},
      {"pickle: a recursion bomb", "x.pt", torch_save(test::pickle::kHeader + std::string(100000, ']')), kStateDict,
       ""},
      {"pickle: not a dict at the top", "x.pt", torch_save(test::pickle::kHeader + "K\x05."), kStateDict, ""},
      {"tensor: stride past the storage", "x.pt",
       torch_save(tensor_pickle(4, std::string("K\0", 2), one_tuple("K\x04"), one_tuple("K\x09"))), kStateDict,
       "damaged (or crafted): a tensor of size (4) with stride (9) at offset 0 reaches element 27 of a storage of 4"},
      {"tensor: size past the storage", "x.pt",
       torch_save(tensor_pickle(4, std::string("K\0", 2), one_tuple(int2(784)), one_tuple("K\x01"))), kStateDict,
       "reaches element 783 of a storage of 4"},
      {"tensor: offset past the storage", "x.pt",
       torch_save(tensor_pickle(4, "K\x07", one_tuple("K\x02"), one_tuple("K\x01"))), kStateDict,
       "at offset 7 reaches element 8 of a storage of 4"},
      {"tensor: storage larger than its record", "x.pt",
       torch_save(tensor_pickle(400, std::string("K\0", 2), one_tuple("K\x04"), one_tuple("K\x01"))), kStateDict, ""},
      {"tensor: a negative size", "x.pt",
       torch_save(tensor_pickle(4, std::string("K\0", 2), one_tuple("J\xfc\xff\xff\xff"), one_tuple("K\x01"))),
       kStateDict, "size -4"},
      {"safetensors: a float past int64 in the shape", "x.safetensors",
       safetensors(R"({"w":{"dtype":"F32","shape":[1e30],"data_offsets":[0,16]}})", std::string(16, '\0')),
       kSafetensors, "tensor 'w': shape entry must be an integer"},
      // run.json (fuzzing found the first: nlohmann's get<int>() of 1.2e11 is undefined behaviour)
      {"run.json: a float format past int", "run.json", R"({"format": 122222222222.2222})", kRunJson,
       "format must be an integer"},
      {"run.json: data_dim a string", "run.json",
       R"({"format": 2, "dgm_version": "0", "libtorch_version": "1", "model_type": "vae", "data_dim": "784",)"
       R"( "image_shape": [28, 28]})",
       kRunJson, "data_dim must be an integer"},
      {"run.json: a fractional side", "run.json",
       R"({"format": 2, "dgm_version": "0", "libtorch_version": "1", "model_type": "vae", "data_dim": 784,)"
       R"( "image_shape": [28.5, 28]})",
       kRunJson, "image_shape entry must be an integer"},
      {"run.json: not JSON", "run.json", "{format: 2", kRunJson, "is not valid JSON"},
      // Configs
      config_row("config: not YAML", "train: [1, 2\n", "config.yaml"),
      config_row("config: a list at the top", "- 1\n- 2\n", "config.yaml"),
      config_row("config: a section that is a number", "train: 5\n", "train"),
      config_row("config: unknown section", "trian:\n  epochs: 3\n", "'trian'"),
      config_row("config: unknown key", "train:\n  epoch: 3\n", "unknown key 'train.epoch'"),
      config_row("config: a word for a number", "train:\n  lr: fast\n", "train.lr"),
      config_row("config: a number past double", "train:\n  lr: 1e999\n", "train.lr"),
      config_row("config: a float for an integer", "train:\n  epochs: 2.5\n", "train.epochs"),
      config_row("config: an integer past int64", "train:\n  epochs: 99999999999999999999\n", "train.epochs"),
      config_row("config: a list for a number", "train:\n  lr: [1, 2]\n", "train.lr"),
      config_row("config: a map for a list", "model:\n  hidden: {a: 1}\n", "model.hidden"),
      config_row("config: a word in a list", "model:\n  hidden: [400, many]\n", "model.hidden"),
      config_row("config: a key that is a list", "train:\n  [a, b]: 1\n", "config.yaml"),
      config_row("config: a repeated key", "train:\n  epochs: 1\n  epochs: 2\n", "epochs"),
      config_row("config: unknown model type", "model:\n  type: transformer\n", "transformer"),
      config_row("config: a huge train.k", "train:\n  k: 100000000000\n", "train.k"),
      config_row("config: a negative batch", "train:\n  batch_size: -5\n", "train.batch_size"),
      config_row("config: an unknown objective", "train:\n  objective: magic\n", "magic"),
      config_row("config: a tab in the indentation", "train:\n\tepochs: 3\n", "config.yaml"),
      config_row("config: a NUL byte", std::string("train:\n  epochs: 3\0\n", 20), "config.yaml"),
  };
  return table;
}

bool is_foreign(const std::string& message, std::string* which) {
  for (const auto& text : kForeignTexts)
    if (message.find(text) != std::string::npos) {
      *which = text;
      return true;
    }
  return false;
}

TEST(ErrorMessages, EveryMalformedInputIsDgmsOwnMessageNamingFileAndProblem) {
  const auto dir = test::make_temp_dir("messages");
  const auto table = rows();
  EXPECT_GE(table.size(), 75u);
  int index = 0;
  for (const auto& row : table) {
    const std::string sub = dir + "/" + std::to_string(index++);
    std::filesystem::create_directories(sub);
    const std::string path = sub + "/" + row.file;
    std::ofstream(path, std::ios::binary) << row.bytes;
    std::string message;
    try {
      row.read(path);
      ADD_FAILURE() << row.name << ": no error";
      continue;
    } catch (const Error& e) {
      message = e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << row.name << ": not dgm's error: " << e.what();
      continue;
    }
    std::string which;
    EXPECT_FALSE(is_foreign(message, &which)) << row.name << ": holds '" << which << "': " << message;
    if (row.names_file) EXPECT_NE(message.find(path), std::string::npos) << row.name << ": " << message;
    EXPECT_NE(message.find(row.expected), std::string::npos) << row.name << ": " << message;
  }
}

}  // namespace
}  // namespace dgm
