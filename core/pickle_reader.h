#pragma once
// A small, strict reader of the pickles inside torch.save archives: only
// what state dicts and checkpoint dicts are made of, the allow-list idea of
// PyTorch's `weights_only` loading. No pickle a user hands dgm reaches
// LibTorch's unpickler, which executes what it is told and crashes on
// crafted records (issue 13: an empty REDUCE, BUILD or one-element TUPLE,
// SETITEMS without a MARK, a huge BINUNICODE).
//
// Read: protocols 2 to 5's opcodes for None, bools, ints, floats, strings,
// tuples, lists, dicts (and collections.OrderedDict by REDUCE), the memo,
// persistent storage ids (BINPERSID), and the GLOBALs
// torch._utils._rebuild_tensor_v2 / _rebuild_parameter and the storage
// classes of every dtype. Any other GLOBAL or opcode is refused by name.
// The reader is a loop over the bytes (no recursion); every length is
// checked against the bytes left before anything is allocated; nesting,
// objects and the memo are bounded.
//
// TorchScript archives (dgm's own checkpoints are one: torch::save writes a
// module) add, in their dialect, the module objects a TorchScript pickle is
// made of: GLOBAL __torch__.* classes, NEWOBJ of them with no arguments and
// BUILD with a dict of attributes, and torch.jit._pickle's list builders
// and type tags. Each such pickle is checked this way before LibTorch's
// loader may read it.

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace dgm {

/// A storage a tensor record points to: archive record `data/<key>`.
struct PickleStorage {
  std::string key;
  std::string location;  ///< "cpu", "cuda:0", ... (dgm loads every storage on the CPU)
  torch::Dtype dtype = torch::kFloat32;
  int64_t numel = 0;  ///< elements, as the record declares
};

/// What _rebuild_tensor_v2 is asked to make: a view of a storage.
struct PickleTensor {
  std::shared_ptr<const PickleStorage> storage;
  int64_t offset = 0;
  std::vector<int64_t> size, stride;
  bool requires_grad = false;
};

struct PickleObject;
using PickleRef = std::shared_ptr<PickleObject>;

/// One value of the restricted language.
struct PickleObject {
  enum class Kind { kNone, kBool, kInt, kFloat, kString, kTuple, kList, kDict, kGlobal, kStorage, kTensor, kObject };
  Kind kind = Kind::kNone;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0;
  std::string text;  ///< a string, or a GLOBAL's "module.name"
  std::vector<PickleRef>
      items;  ///< tuple and list items; a dict's (or an object's attributes') keys and values, alternating, in order
  std::shared_ptr<const PickleStorage> storage;
  PickleTensor tensor;
  int depth = 1;        ///< nesting: 1 for a scalar
  bool sealed = false;  ///< placed in a container: never changes again

  /// "dict", "tensor", "int", ...
  std::string kind_name() const;
};

/// The limits of the reader.
constexpr int kPickleMaxDepth = 256;
constexpr int64_t kPickleMaxObjects = int64_t{1} << 22;
constexpr int kPickleMaxDims = 64;

/// Which language: state dicts, or TorchScript archives' pickles too.
enum class PickleDialect { kStateDict, kTorchScript };

/// Reads one pickle (up to its STOP, which must be the last byte). A pickle
/// outside the language, or malformed, is a dgm::Error naming `where`, the
/// byte offset and the opcode.
PickleRef read_pickle(std::string_view bytes, const std::string& where,
                      PickleDialect dialect = PickleDialect::kStateDict);

/// The storage classes' dtypes: "torch.FloatStorage" -> float32, ...; false
/// for a name that is none of them.
bool storage_dtype(const std::string& global, torch::Dtype* dtype);

}  // namespace dgm
