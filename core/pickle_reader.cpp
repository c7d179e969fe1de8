#include "core/pickle_reader.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cctype>
#include <cstring>
#include <limits>
#include <unordered_map>
#include <utility>

#include "core/error.h"

namespace dgm {
namespace {

using Kind = PickleObject::Kind;

/// The opcodes dgm reads (pickletools' names), by byte.
const char* opcode_name(unsigned char op) {
  switch (op) {
    case '(':
      return "MARK";
    case '.':
      return "STOP";
    case '0':
      return "POP";
    case '1':
      return "POP_MARK";
    case 'J':
      return "BININT";
    case 'K':
      return "BININT1";
    case 'M':
      return "BININT2";
    case 0x8a:
      return "LONG1";
    case 0x8b:
      return "LONG4";
    case 'N':
      return "NONE";
    case 0x88:
      return "NEWTRUE";
    case 0x89:
      return "NEWFALSE";
    case 'G':
      return "BINFLOAT";
    case 'X':
      return "BINUNICODE";
    case 0x8c:
      return "SHORT_BINUNICODE";
    case 0x8d:
      return "BINUNICODE8";
    case ')':
      return "EMPTY_TUPLE";
    case 't':
      return "TUPLE";
    case 0x85:
      return "TUPLE1";
    case 0x86:
      return "TUPLE2";
    case 0x87:
      return "TUPLE3";
    case ']':
      return "EMPTY_LIST";
    case 'a':
      return "APPEND";
    case 'e':
      return "APPENDS";
    case 'l':
      return "LIST";
    case '}':
      return "EMPTY_DICT";
    case 's':
      return "SETITEM";
    case 'u':
      return "SETITEMS";
    case 'd':
      return "DICT";
    case 'c':
      return "GLOBAL";
    case 0x93:
      return "STACK_GLOBAL";
    case 'R':
      return "REDUCE";
    case 'b':
      return "BUILD";
    case 'Q':
      return "BINPERSID";
    case 'q':
      return "BINPUT";
    case 'r':
      return "LONG_BINPUT";
    case 0x94:
      return "MEMOIZE";
    case 'h':
      return "BINGET";
    case 'j':
      return "LONG_BINGET";
    case 0x80:
      return "PROTO";
    case 0x95:
      return "FRAME";
    case 0x81:
      return "NEWOBJ";
    default:
      return nullptr;
  }
}

constexpr const char* kOrderedDict = "collections.OrderedDict";
constexpr const char* kRebuildTensor = "torch._utils._rebuild_tensor_v2";
constexpr const char* kRebuildParameter = "torch._utils._rebuild_parameter";
constexpr const char* kJitPickle = "torch.jit._pickle.";

/// A TorchScript class: __torch__ and dotted identifiers after it.
bool is_torchscript_class(const std::string& module, const std::string& name) {
  if (module != "__torch__" && module.rfind("__torch__.", 0) != 0) return false;
  auto identifier = [](const std::string& text, bool dots) {
    if (text.empty()) return false;
    for (char c : text)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && !(dots && c == '.')) return false;
    return true;
  };
  return identifier(module, true) && identifier(name, false);
}

/// torch.jit._pickle's functions: list builders return their list; a type
/// tag returns its object.
bool is_jit_builder(const std::string& full) {
  for (const char* name : {"build_intlist", "build_doublelist", "build_boollist", "build_tensorlist",
                           "build_genericlist", "restore_type_tag"})
    if (full == std::string(kJitPickle) + name) return true;
  return false;
}

class Reader {
 public:
  Reader(std::string_view bytes, const std::string& where, PickleDialect dialect)
      : bytes_(bytes), where_(where), torchscript_(dialect == PickleDialect::kTorchScript) {}

  PickleRef run() {
    while (true) {
      if (at_ >= bytes_.size()) bad("the pickle ends without STOP");
      op_at_ = at_;
      op_ = static_cast<unsigned char>(bytes_[at_++]);
      if (op_ == '.') break;
      step();
    }
    if (!marks_.empty()) bad("STOP with an open MARK");
    if (stack_.size() != 1) bad(fmt::format("STOP with {} objects on the stack (1 expected)", stack_.size()));
    if (at_ != bytes_.size()) bad(fmt::format("{} bytes after STOP", bytes_.size() - at_));
    return stack_.back();
  }

 private:
  [[noreturn]] void bad(const std::string& what) const {
    const char* name = opcode_name(op_);
    fail(
        "{} is not a pickle dgm reads: {} (byte {}, opcode {}); a state dict saved by torch.save loads, other "
        "objects do not",
        where_, what, op_at_, name != nullptr ? std::string(name) : fmt::format("0x{:02x}", op_));
  }
  /// A record that is what dgm reads but cannot be right: cut short, or a
  /// tensor outside its storage.
  [[noreturn]] void damaged(const std::string& what) const {
    const char* name = opcode_name(op_);
    fail("{} is damaged (or crafted): {} (byte {}, opcode {}); nothing of it was read. Save it again with torch.save",
         where_, what, op_at_, name != nullptr ? std::string(name) : fmt::format("0x{:02x}", op_));
  }

  // --- bytes -------------------------------------------------------------
  std::string_view take(uint64_t n) {
    if (n > bytes_.size() - at_)
      damaged(fmt::format("{} bytes announced, {} left in the pickle", n, bytes_.size() - at_));
    auto out = bytes_.substr(at_, n);
    at_ += n;
    return out;
  }
  uint64_t little_endian(int n) {
    auto raw = take(static_cast<uint64_t>(n));
    uint64_t value = 0;
    for (int i = n - 1; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(raw[i]);
    return value;
  }
  std::string line() {
    const auto end = bytes_.find('\n', at_);
    if (end == std::string_view::npos || end - at_ > 256) bad("a GLOBAL name without its newline in 256 bytes");
    std::string text(bytes_.substr(at_, end - at_));
    at_ = end + 1;
    return text;
  }

  // --- objects -------------------------------------------------------------
  PickleRef make(Kind kind) {
    if (++objects_ > kPickleMaxObjects) bad(fmt::format("more than {} objects", kPickleMaxObjects));
    auto object = std::make_shared<PickleObject>();
    object->kind = kind;
    return object;
  }
  void push(PickleRef object) { stack_.push_back(std::move(object)); }
  PickleRef pop() {
    const std::size_t floor = marks_.empty() ? 0 : marks_.back();
    if (stack_.size() <= floor) bad("the stack is empty");
    auto top = std::move(stack_.back());
    stack_.pop_back();
    return top;
  }
  PickleRef& top() {
    const std::size_t floor = marks_.empty() ? 0 : marks_.back();
    if (stack_.size() <= floor) bad("the stack is empty");
    return stack_.back();
  }
  /// The objects above the last MARK, which is removed.
  std::vector<PickleRef> pop_mark() {
    if (marks_.empty()) bad("no MARK to pop to");
    const std::size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<PickleRef> items(std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(mark)),
                                 std::make_move_iterator(stack_.end()));
    stack_.resize(mark);
    return items;
  }
  /// Puts `item` into `container`. Each container is complete before its
  /// parent takes it (what pickle writes for state dicts), so an item is
  /// sealed on insertion and never changes again: depths are exact, and no
  /// cycle can form.
  void insert(PickleObject& container, const PickleRef& item) {
    if (item.get() == &container) bad("a container placed inside itself");
    item->sealed = true;
    if (item->depth + 1 > container.depth) container.depth = item->depth + 1;
    if (container.depth > kPickleMaxDepth) bad(fmt::format("nesting deeper than {}", kPickleMaxDepth));
    container.items.push_back(item);
  }
  PickleObject& mutable_container(PickleRef& object, Kind kind) {
    if (object->kind != kind)
      bad(fmt::format("a {} where a {} is needed", object->kind_name(), kind == Kind::kList ? "list" : "dict"));
    if (object->sealed) bad("a container changed after it was placed in another");
    return *object;
  }
  PickleRef tuple_of(const std::vector<PickleRef>& items) {
    auto tuple = make(Kind::kTuple);
    for (const auto& item : items) insert(*tuple, item);
    return tuple;
  }
  PickleRef integer(int64_t value) {
    auto object = make(Kind::kInt);
    object->integer = value;
    return object;
  }
  PickleRef string(std::string_view text) {
    auto object = make(Kind::kString);
    object->text = std::string(text);
    return object;
  }

  // --- GLOBAL, REDUCE, BINPERSID -------------------------------------------
  PickleRef global(const std::string& module, const std::string& name) {
    const std::string full = module + "." + name;
    torch::Dtype dtype;
    const bool allowed = full == kOrderedDict || full == kRebuildTensor || full == kRebuildParameter ||
                         storage_dtype(full, &dtype) ||
                         (torchscript_ && (is_torchscript_class(module, name) || is_jit_builder(full)));
    if (!allowed)
      bad(fmt::format("GLOBAL '{}' is not allowed (dgm reads tensors, dicts, lists and numbers only)",
                      full.substr(0, 80)));
    auto object = make(Kind::kGlobal);
    object->text = full;
    return object;
  }
  static bool is_int_tuple(const PickleObject& object) {
    if (object.kind != Kind::kTuple) return false;
    for (const auto& item : object.items)
      if (item->kind != Kind::kInt) return false;
    return true;
  }
  PickleRef reduce(const PickleRef& callable, const PickleRef& args) {
    if (callable->kind != Kind::kGlobal)
      bad(fmt::format("REDUCE of a {}, not of an allowed GLOBAL", callable->kind_name()));
    if (args->kind != Kind::kTuple)
      bad(fmt::format("REDUCE with a {} for its arguments, not a tuple", args->kind_name()));
    const auto& a = args->items;
    if (is_jit_builder(callable->text)) {
      // build_*list((list,)) -> the list; restore_type_tag((object, "type")) -> the object.
      const bool tag = callable->text == std::string(kJitPickle) + "restore_type_tag";
      if (a.size() != (tag ? 2u : 1u) || (!tag && a[0]->kind != Kind::kList) || (tag && a[1]->kind != Kind::kString))
        bad(fmt::format("{} with arguments it does not take", callable->text));
      return a[0];
    }
    if (callable->text == kOrderedDict) {
      if (!a.empty()) bad("OrderedDict made with arguments");
      return make(Kind::kDict);
    }
    if (callable->text == kRebuildParameter) {
      if (a.size() != 3 || a[0]->kind != Kind::kTensor || a[1]->kind != Kind::kBool || a[2]->kind != Kind::kDict)
        bad("_rebuild_parameter takes (tensor, requires_grad, hooks)");
      auto object = make(Kind::kTensor);
      object->tensor = a[0]->tensor;
      object->tensor.requires_grad = a[1]->boolean;
      return object;
    }
    if (callable->text == kRebuildTensor) {
      if ((a.size() != 6 && a.size() != 7) || a[0]->kind != Kind::kStorage || a[1]->kind != Kind::kInt ||
          !is_int_tuple(*a[2]) || !is_int_tuple(*a[3]) || a[4]->kind != Kind::kBool || a[5]->kind != Kind::kDict)
        bad("_rebuild_tensor_v2 takes (storage, offset, size, stride, requires_grad, hooks[, metadata])");
      if (!a[5]->items.empty()) bad("a tensor with backward hooks");
      auto object = make(Kind::kTensor);
      PickleTensor& t = object->tensor;
      t.storage = a[0]->storage;
      t.offset = a[1]->integer;
      for (const auto& s : a[2]->items) t.size.push_back(s->integer);
      for (const auto& s : a[3]->items) t.stride.push_back(s->integer);
      t.requires_grad = a[4]->boolean;
      check_view(t);
      return object;
    }
    bad(fmt::format("REDUCE of '{}'", callable->text));
  }
  /// The view must lie inside its storage: the last element it reaches,
  /// offset + sum (size_i - 1) stride_i, below the storage's numel, computed
  /// without overflow (issue 13: a stride past the storage read out of bounds).
  void check_view(const PickleTensor& t) {
    if (t.size.size() != t.stride.size())
      damaged(fmt::format("a tensor of {} sizes and {} strides", t.size.size(), t.stride.size()));
    if (t.size.size() > static_cast<std::size_t>(kPickleMaxDims))
      damaged(fmt::format("a tensor of more than {} dimensions", kPickleMaxDims));
    if (t.offset < 0) damaged(fmt::format("a tensor at storage offset {}", t.offset));
    bool empty = false;
    for (std::size_t d = 0; d < t.size.size(); ++d) {
      if (t.size[d] < 0 || t.stride[d] < 0)
        damaged(fmt::format("a tensor with size {} and stride {} in dimension {}", t.size[d], t.stride[d], d));
      if (t.size[d] == 0) empty = true;
    }
    if (empty) return;
    constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();
    uint64_t last = static_cast<uint64_t>(t.offset), elements = 1;
    for (std::size_t d = 0; d < t.size.size(); ++d) {
      const auto extent = static_cast<uint64_t>(t.size[d] - 1), stride = static_cast<uint64_t>(t.stride[d]);
      if (stride != 0 && extent > (kMax - last) / stride) damaged("a tensor whose extent overflows 64 bits");
      last += extent * stride;
      if (static_cast<uint64_t>(t.size[d]) > kMax / elements) damaged("a tensor whose sizes multiply past 2^63");
      elements *= static_cast<uint64_t>(t.size[d]);
    }
    if (last >= static_cast<uint64_t>(t.storage->numel))
      damaged(fmt::format("a tensor of size ({}) with stride ({}) at offset {} reaches element {} of a storage of {}",
                          fmt::join(t.size, ", "), fmt::join(t.stride, ", "), t.offset, last, t.storage->numel));
  }
  PickleRef persistent(const PickleRef& pid) {
    const auto& a = pid->items;
    if (pid->kind != Kind::kTuple || a.size() != 5 || a[0]->kind != Kind::kString || a[0]->text != "storage" ||
        a[1]->kind != Kind::kGlobal || a[2]->kind != Kind::kString || a[3]->kind != Kind::kString ||
        a[4]->kind != Kind::kInt)
      bad("a persistent id that is not ('storage', storage class, key, location, numel)");
    auto storage = std::make_shared<PickleStorage>();
    if (!storage_dtype(a[1]->text, &storage->dtype)) bad(fmt::format("a storage of class '{}'", a[1]->text));
    const std::string& key = a[2]->text;
    if (key.empty() || key.size() > 64) bad("a storage key of more than 64 characters");
    for (char c : key)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') bad("a storage key that is not a plain name");
    storage->key = key;
    storage->location = a[3]->text.substr(0, 64);
    if (a[4]->integer < 0) bad(fmt::format("a storage of {} elements", a[4]->integer));
    storage->numel = a[4]->integer;
    auto object = make(Kind::kStorage);
    object->storage = std::move(storage);
    return object;
  }

  // --- one opcode -----------------------------------------------------------
  void step() {
    switch (op_) {
      case 0x80: {  // PROTO
        const auto version = little_endian(1);
        if (version < 2 || version > 5) bad(fmt::format("pickle protocol {} (2 to 5 are read)", version));
        return;
      }
      case 0x95:
        little_endian(8);
        return;  // FRAME: a length hint
      case '(':
        marks_.push_back(stack_.size());
        return;
      case '0':
        pop();
        return;
      case '1':
        pop_mark();
        return;
      case 'N':
        push(make(Kind::kNone));
        return;
      case 0x88:
      case 0x89: {
        auto object = make(Kind::kBool);
        object->boolean = op_ == 0x88;
        push(object);
        return;
      }
      case 'J':
        push(integer(static_cast<int32_t>(static_cast<uint32_t>(little_endian(4)))));
        return;
      case 'K':
        push(integer(static_cast<int64_t>(little_endian(1))));
        return;
      case 'M':
        push(integer(static_cast<int64_t>(little_endian(2))));
        return;
      case 0x8a:
      case 0x8b: {
        const uint64_t n = little_endian(op_ == 0x8a ? 1 : 4);
        if (n > 8) bad(fmt::format("an integer of {} bytes (at most 8 are read)", n));
        uint64_t value = n > 0 ? little_endian(static_cast<int>(n)) : 0;
        if (n > 0 && n < 8 && (value >> (8 * n - 1)) != 0) value |= ~uint64_t{0} << (8 * n);  // sign-extend
        push(integer(static_cast<int64_t>(value)));
        return;
      }
      case 'G': {
        auto raw = take(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<unsigned char>(raw[i]);  // big-endian
        auto object = make(Kind::kFloat);
        std::memcpy(&object->real, &bits, sizeof(bits));
        push(object);
        return;
      }
      case 'X':
        push(string(take(little_endian(4))));
        return;
      case 0x8c:
        push(string(take(little_endian(1))));
        return;
      case 0x8d:
        push(string(take(little_endian(8))));
        return;
      case ')':
        push(make(Kind::kTuple));
        return;
      case 't':
        push(tuple_of(pop_mark()));
        return;
      case 0x85:
      case 0x86:
      case 0x87: {
        const int n = op_ - 0x84;
        std::vector<PickleRef> items(static_cast<std::size_t>(n));
        for (int i = n - 1; i >= 0; --i) items[static_cast<std::size_t>(i)] = pop();
        push(tuple_of(items));
        return;
      }
      case ']':
        push(make(Kind::kList));
        return;
      case 'l': {
        auto items = pop_mark();
        auto list = make(Kind::kList);
        for (const auto& item : items) insert(*list, item);
        push(list);
        return;
      }
      case 'a': {
        auto item = pop();
        insert(mutable_container(top(), Kind::kList), item);
        return;
      }
      case 'e': {
        auto items = pop_mark();
        PickleObject& list = mutable_container(top(), Kind::kList);
        for (const auto& item : items) insert(list, item);
        return;
      }
      case '}':
        push(make(Kind::kDict));
        return;
      case 'd': {
        auto items = pop_mark();
        if (items.size() % 2 != 0) bad("DICT of an odd number of objects");
        auto dict = make(Kind::kDict);
        for (const auto& item : items) insert(*dict, item);
        push(dict);
        return;
      }
      case 's': {
        auto value = pop();
        auto key = pop();
        PickleObject& dict = mutable_container(top(), Kind::kDict);
        insert(dict, key);
        insert(dict, value);
        return;
      }
      case 'u': {
        auto items = pop_mark();
        if (items.size() % 2 != 0) bad("SETITEMS of an odd number of objects");
        PickleObject& dict = mutable_container(top(), Kind::kDict);
        for (const auto& item : items) insert(dict, item);
        return;
      }
      case 'c': {
        const std::string module = line();
        const std::string name = line();
        push(global(module, name));
        return;
      }
      case 0x93: {
        auto name = pop();
        auto module = pop();
        if (module->kind != Kind::kString || name->kind != Kind::kString)
          bad("STACK_GLOBAL of objects that are not strings");
        push(global(module->text, name->text));
        return;
      }
      case 'R': {
        auto args = pop();
        auto callable = pop();
        push(reduce(callable, args));
        return;
      }
      case 'b': {
        auto state = pop();
        PickleRef& target = top();
        if (target->kind == Kind::kObject && state->kind == Kind::kDict) {
          // A TorchScript module's attributes, set once.
          if (target->sealed || !target->items.empty()) bad("a module object built twice or after use");
          for (const auto& item : state->items) insert(*target, item);
          return;
        }
        // An OrderedDict's attributes (state_dict()'s _metadata): read, not kept.
        if (target->kind != Kind::kDict || (state->kind != Kind::kDict && state->kind != Kind::kNone))
          bad(fmt::format("BUILD of a {} with a {}", target->kind_name(), state->kind_name()));
        mutable_container(target, Kind::kDict);
        return;
      }
      case 0x81: {  // NEWOBJ: a TorchScript module object, made empty
        auto args = pop();
        auto cls = pop();
        if (!torchscript_ || cls->kind != Kind::kGlobal || cls->text.rfind("__torch__", 0) != 0 ||
            args->kind != Kind::kTuple || !args->items.empty())
          bad("NEWOBJ of anything but a TorchScript class with no arguments");
        auto object = make(Kind::kObject);
        object->text = cls->text;
        push(object);
        return;
      }
      case 'Q':
        push(persistent(pop()));
        return;
      case 'q':
        memoize(little_endian(1));
        return;
      case 'r':
        memoize(little_endian(4));
        return;
      case 0x94:
        memoize(memo_.size());
        return;
      case 'h':
        recall(little_endian(1));
        return;
      case 'j':
        recall(little_endian(4));
        return;
      default:
        bad("an opcode dgm does not read");
    }
  }
  void memoize(uint64_t index) { memo_[index] = top(); }
  void recall(uint64_t index) {
    auto found = memo_.find(index);
    if (found == memo_.end()) bad(fmt::format("memo entry {} was never stored", index));
    push(found->second);
  }

  std::string_view bytes_;
  const std::string& where_;
  bool torchscript_ = false;
  std::size_t at_ = 0, op_at_ = 0;
  unsigned char op_ = 0;
  std::vector<PickleRef> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<uint64_t, PickleRef> memo_;
  int64_t objects_ = 0;
};

}  // namespace

std::string PickleObject::kind_name() const {
  switch (kind) {
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kTuple:
      return "tuple";
    case Kind::kList:
      return "list";
    case Kind::kDict:
      return "dict";
    case Kind::kGlobal:
      return "global " + text;
    case Kind::kStorage:
      return "storage";
    case Kind::kTensor:
      return "tensor";
    case Kind::kObject:
      return "object " + text;
  }
  return "object";
}

bool storage_dtype(const std::string& global, torch::Dtype* dtype) {
  static const std::pair<const char*, torch::Dtype> kStorages[] = {
      {"torch.FloatStorage", torch::kFloat32}, {"torch.DoubleStorage", torch::kFloat64},
      {"torch.HalfStorage", torch::kFloat16},  {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kInt64},    {"torch.IntStorage", torch::kInt32},
      {"torch.ShortStorage", torch::kInt16},   {"torch.CharStorage", torch::kInt8},
      {"torch.ByteStorage", torch::kUInt8},    {"torch.BoolStorage", torch::kBool}};
  for (const auto& [name, type] : kStorages)
    if (global == name) {
      *dtype = type;
      return true;
    }
  return false;
}

PickleRef read_pickle(std::string_view bytes, const std::string& where, PickleDialect dialect) {
  return Reader(bytes, where, dialect).run();
}

}  // namespace dgm
