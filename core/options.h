#pragma once
// Options declared once. An options struct lists its fields in an X-macro,
// one line each: type, name, default, description, valid values.
//
//   #define DGM_EVAL_OPTIONS(X)
//     X(int64_t, k, 5000, "importance samples per example for the IWAE bound", at_least(1))
//     X(Split, split, Split::kTest, "the split evaluated", any_value())
//   (with a backslash ending every line of the macro but its last)
//   struct EvalOptions {
//     DGM_EVAL_OPTIONS(DGM_OPTION_MEMBER)
//   };
//   DGM_OPTION_TABLE(EvalOptions, DGM_EVAL_OPTIONS)
//
// From that one line come the member with its default, the YAML reader and
// writer of a config section (errors name the file, line and key), `dgm
// config`'s listing, the check of a struct a library user filled in by hand
// (check_options), and command-line options with their checks and choices
// (apps/cli_common.h). Choices are enums with names (DGM_ENUM_NAMES), parsed
// and printed in one place: no string is compared inside the library.

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "core/error.h"

namespace YAML {
class Node;
class Emitter;
}  // namespace YAML

namespace dgm {

// ---------------------------------------------------------------- enums

/// The names of an enum's values, given by DGM_ENUM_NAMES.
template <typename E>
struct EnumNames;

/// Declares the names of enum `Enum` (in namespace dgm): what it is called in
/// messages, then {value, "name"} pairs.
///   DGM_ENUM_NAMES(Likelihood, "likelihood", {Likelihood::kBernoulli, "bernoulli"}, ...);
#define DGM_ENUM_NAMES(Enum, what, ...)                                      \
  template <>                                                                \
  struct EnumNames<Enum> {                                                   \
    static constexpr const char* kWhat = what;                               \
    static constexpr std::pair<Enum, const char*> kValues[] = {__VA_ARGS__}; \
  }

template <typename E, typename = void>
struct HasEnumNames : std::false_type {};
template <typename E>
struct HasEnumNames<E, std::void_t<decltype(EnumNames<E>::kValues)>> : std::true_type {};

/// "a, b or c".
std::string join_choices(const std::vector<std::string>& names, const std::string& last = " or ");

/// Every name of enum E, in declaration order.
template <typename E, typename = std::enable_if_t<HasEnumNames<E>::value>>
std::vector<std::string> enum_names() {
  std::vector<std::string> names;
  for (const auto& entry : EnumNames<E>::kValues) names.emplace_back(entry.second);
  return names;
}

/// The name of an enum value.
template <typename E, typename = std::enable_if_t<HasEnumNames<E>::value>>
std::string to_string(E value) {
  for (const auto& entry : EnumNames<E>::kValues)
    if (entry.first == value) return entry.second;
  return "?";
}

/// The value called `name`; false when none is.
template <typename E, typename = std::enable_if_t<HasEnumNames<E>::value>>
bool try_parse_enum(const std::string& name, E* value) {
  for (const auto& entry : EnumNames<E>::kValues)
    if (name == entry.second) {
      *value = entry.first;
      return true;
    }
  return false;
}

/// The value called `name`; another name is a dgm::Error listing the valid ones.
template <typename E, typename = std::enable_if_t<HasEnumNames<E>::value>>
E parse_enum(const std::string& name) {
  E value{};
  if (!try_parse_enum(name, &value))
    fail("unknown {} '{}': use {}", EnumNames<E>::kWhat, name, join_choices(enum_names<E>()));
  return value;
}

// ---------------------------------------------------------------- valid values

/// Where a value came from and under which key, for messages:
/// {"exp.yaml:12", "train.lr"}, {"--set train.lr=2", "train.lr"}, {"--k", "k"}.
struct ValueSource {
  std::string where;
  std::string key;
};

/// What values an option accepts beyond its type: a numeric range (for a
/// list, of each entry), a list of names given at run time (a registry's), or
/// a check of its own. The default accepts everything of the type.
struct Valid {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_exclusive = false;
  /// The accepted names of a text option (read when checked, so a registry
  /// may grow after the table is made).
  std::function<std::vector<std::string>()> names;
  /// A check of a text option: "" when valid, else why not.
  std::function<std::string(const std::string&)> text_check;
  /// Words for text_check's rule, for listings.
  std::string text_rule;

  /// "at least 1", "> 0", "between 1 and 100000", "one of a, b", or "".
  std::string describe() const;
  /// "" when `value` is in the range, else "it must be ...".
  std::string range_violation(double value) const;
};

Valid any_value();
Valid at_least(double minimum);
Valid above(double minimum);
Valid between(double minimum, double maximum);
/// A text option that must be one of `names()`.
Valid one_of(std::function<std::vector<std::string>()> names);
/// A text option checked by `check` ("" = valid), described by `rule`.
Valid checked_by(std::function<std::string(const std::string&)> check, std::string rule);

// ---------------------------------------------------------------- value codecs

// Readers of one YAML value; a wrong type or a value out of range is a
// dgm::Error naming the source, the key and the value.
int64_t read_integer(const YAML::Node& node, const ValueSource& source, const Valid& valid);
double read_number(const YAML::Node& node, const ValueSource& source, const Valid& valid);
bool read_bool(const YAML::Node& node, const ValueSource& source);
std::string read_text(const YAML::Node& node, const ValueSource& source, const Valid& valid);
std::vector<int64_t> read_integer_list(const YAML::Node& node, const ValueSource& source, const Valid& valid);
/// The scalar text of a choice, checked against `names`.
std::string read_choice(const YAML::Node& node, const ValueSource& source, const std::vector<std::string>& names);

void write_value(YAML::Emitter& out, int64_t value);
void write_value(YAML::Emitter& out, uint64_t value);
void write_value(YAML::Emitter& out, double value);
void write_value(YAML::Emitter& out, bool value);
void write_value(YAML::Emitter& out, const std::string& value);
void write_value(YAML::Emitter& out, const std::vector<int64_t>& value);

// Checks of a value set in code (check_options): fail() with the source.
void check_integer(int64_t value, const ValueSource& source, const Valid& valid);
void check_number(double value, const ValueSource& source, const Valid& valid);
void check_text(const std::string& value, const ValueSource& source, const Valid& valid);
void check_integer_list(const std::vector<int64_t>& value, const ValueSource& source, const Valid& valid);

/// How options of type T are read, written, checked and described.
template <typename T, typename = void>
struct OptionCodec;

template <>
struct OptionCodec<int64_t> {
  static constexpr const char* kType = "integer";
  static int64_t read(const YAML::Node& n, const ValueSource& s, const Valid& v) { return read_integer(n, s, v); }
  static void check(int64_t value, const ValueSource& s, const Valid& v) { check_integer(value, s, v); }
  static std::vector<std::string> choices() { return {}; }
};
template <>
struct OptionCodec<uint64_t> {
  static constexpr const char* kType = "integer";
  static uint64_t read(const YAML::Node& n, const ValueSource& s, const Valid& v) {
    Valid non_negative = v;
    non_negative.min = std::max(0.0, v.min);
    return static_cast<uint64_t>(read_integer(n, s, non_negative));
  }
  static void check(uint64_t, const ValueSource&, const Valid&) {}
  static std::vector<std::string> choices() { return {}; }
};
template <>
struct OptionCodec<double> {
  static constexpr const char* kType = "number";
  static double read(const YAML::Node& n, const ValueSource& s, const Valid& v) { return read_number(n, s, v); }
  static void check(double value, const ValueSource& s, const Valid& v) { check_number(value, s, v); }
  static std::vector<std::string> choices() { return {}; }
};
template <>
struct OptionCodec<bool> {
  static constexpr const char* kType = "true or false";
  static bool read(const YAML::Node& n, const ValueSource& s, const Valid&) { return read_bool(n, s); }
  static void check(bool, const ValueSource&, const Valid&) {}
  static std::vector<std::string> choices() { return {"true", "false"}; }
};
template <>
struct OptionCodec<std::string> {
  static constexpr const char* kType = "text";
  static std::string read(const YAML::Node& n, const ValueSource& s, const Valid& v) { return read_text(n, s, v); }
  static void check(const std::string& value, const ValueSource& s, const Valid& v) { check_text(value, s, v); }
  static std::vector<std::string> choices() { return {}; }
};
template <>
struct OptionCodec<std::vector<int64_t>> {
  static constexpr const char* kType = "list of integers";
  static std::vector<int64_t> read(const YAML::Node& n, const ValueSource& s, const Valid& v) {
    return read_integer_list(n, s, v);
  }
  static void check(const std::vector<int64_t>& value, const ValueSource& s, const Valid& v) {
    check_integer_list(value, s, v);
  }
  static std::vector<std::string> choices() { return {}; }
};
template <typename E>
struct OptionCodec<E, std::enable_if_t<HasEnumNames<E>::value>> {
  static constexpr const char* kType = "choice";
  static E read(const YAML::Node& n, const ValueSource& s, const Valid&) {
    E value{};
    try_parse_enum(read_choice(n, s, enum_names<E>()), &value);
    return value;
  }
  static void check(E, const ValueSource&, const Valid&) {}
  static std::vector<std::string> choices() { return enum_names<E>(); }
};

template <typename T>
void write_option(YAML::Emitter& out, const T& value) {
  if constexpr (HasEnumNames<T>::value) {
    write_value(out, to_string(value));
  } else {
    write_value(out, value);
  }
}

/// Parses `text` as one value (a text option's `text` as it is; others as YAML,
/// "[400, 200]", "1e-3") and hands it to `use`; malformed YAML is a dgm::Error
/// naming `source`.
void with_yaml_value(const std::string& text, bool as_text, const ValueSource& source,
                     const std::function<void(const YAML::Node&)>& use);

/// A value as YAML text, as a config file would hold it ("[400]", "0.001", "relu").
std::string yaml_text(const std::function<void(YAML::Emitter&)>& write);

// ---------------------------------------------------------------- tables

/// What a listing shows of one option.
struct OptionInfo {
  std::string name;
  std::string type;  ///< integer, number, true or false, text, list of integers, choice
  std::string description;
  std::string valid;                 ///< "at least 1", "bernoulli or gaussian", ... ("" = any of its type)
  std::vector<std::string> choices;  ///< the names of a choice
  std::string default_value;         ///< as YAML
};

/// One option of the options struct S.
template <typename S>
struct Field {
  OptionInfo info;
  /// Reads the value from YAML into the struct, checked; errors name `source`.
  std::function<void(S&, const YAML::Node&, const ValueSource&)> read;
  std::function<void(const S&, YAML::Emitter&)> write;
  /// Checks the value a struct holds (set in code); errors name `source`.
  std::function<void(const S&, const ValueSource&)> check;
  /// The option's valid values, for a command line's checks.
  Valid valid;
};

template <typename S, typename T>
Field<S> make_field(const char* name, T S::*member, const char* description, Valid valid) {
  using Codec = OptionCodec<T>;
  Field<S> field;
  field.info.name = name;
  field.info.type = Codec::kType;
  field.info.description = description;
  field.info.choices = Codec::choices();
  if constexpr (HasEnumNames<T>::value) {
    field.info.valid = join_choices(field.info.choices);
  } else if constexpr (!std::is_same<T, bool>::value) {
    field.info.valid = valid.describe();
  }
  const S defaults{};
  field.info.default_value = yaml_text([&](YAML::Emitter& out) { write_option(out, defaults.*member); });
  field.read = [member, valid](S& target, const YAML::Node& node, const ValueSource& source) {
    target.*member = Codec::read(node, source, valid);
  };
  field.write = [member](const S& value, YAML::Emitter& out) { write_option(out, value.*member); };
  field.check = [member, valid](const S& value, const ValueSource& source) {
    Codec::check(value.*member, source, valid);
  };
  field.valid = std::move(valid);
  return field;
}

/// Reads `text` (as a command line gives it) into the field's member of `target`.
template <typename S>
void read_field_text(const Field<S>& field, S& target, const std::string& text, const ValueSource& source) {
  with_yaml_value(text, field.info.type == "text", source,
                  [&](const YAML::Node& node) { field.read(target, node, source); });
}

/// The fields of an options struct, in declaration order.
template <typename S>
class OptionTable {
 public:
  explicit OptionTable(std::vector<Field<S>> fields) : fields_(std::move(fields)) {}

  /// The fields of the struct M that S holds as `member`, as fields of S: a
  /// config section made of several options structs.
  template <typename M>
  static std::vector<Field<S>> embed(M S::*member, const OptionTable<M>& table) {
    std::vector<Field<S>> out;
    for (const auto& inner : table.fields()) {
      Field<S> field;
      field.info = inner.info;
      field.valid = inner.valid;
      auto read = inner.read;
      auto write = inner.write;
      auto check = inner.check;
      field.read = [member, read](S& s, const YAML::Node& n, const ValueSource& src) { read(s.*member, n, src); };
      field.write = [member, write](const S& s, YAML::Emitter& out) { write(s.*member, out); };
      field.check = [member, check](const S& s, const ValueSource& src) { check(s.*member, src); };
      out.push_back(std::move(field));
    }
    return out;
  }

  const std::vector<Field<S>>& fields() const { return fields_; }
  const Field<S>* find(const std::string& name) const {
    for (const auto& field : fields_)
      if (field.info.name == name) return &field;
    return nullptr;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& field : fields_) out.push_back(field.info.name);
    return out;
  }
  std::vector<OptionInfo> info() const {
    std::vector<OptionInfo> out;
    for (const auto& field : fields_) out.push_back(field.info);
    return out;
  }
  /// Checks every field of `value`; the error names `what` ("TrainerOptions")
  /// and the field, e.g. "TrainerOptions: lr = -1 is out of range: it must be > 0".
  void check(const S& value, const std::string& what) const {
    for (const auto& field : fields_) field.check(value, {what, field.info.name});
  }

 private:
  std::vector<Field<S>> fields_;
};

/// The table of options struct S (DGM_OPTION_TABLE defines it).
template <typename S>
const OptionTable<S>& option_table();

/// Checks a struct filled in by hand against its table: a value out of its
/// range is a dgm::Error naming `what` and the option.
template <typename S>
void check_options(const S& options, const std::string& what) {
  option_table<S>().check(options, what);
}

/// The member of an X-macro line: `type name = default;`.
#define DGM_OPTION_MEMBER(type, name, default_value, description, valid) type name = default_value;

/// One Field of an X-macro line (inside DGM_OPTION_TABLE).
#define DGM_OPTION_FIELD(type, name, default_value, description, valid) \
  ::dgm::make_field<Self, type>(#name, &Self::name, description, valid),

/// Defines option_table<Struct>() from the X-macro `LIST` (in namespace dgm).
#define DGM_OPTION_TABLE(Struct, LIST)                                                          \
  template <>                                                                                   \
  inline const OptionTable<Struct>& option_table<Struct>() {                                    \
    using Self = Struct;                                                                        \
    static const OptionTable<Struct> table(std::vector<Field<Struct>>{LIST(DGM_OPTION_FIELD)}); \
    return table;                                                                               \
  }

/// Writes `key` into an open YAML map (the value follows).
void emit_key(YAML::Emitter& out, const std::string& key);

/// Writes the options of `value` as key/value pairs into an open YAML map.
template <typename S>
void write_options(const OptionTable<S>& table, const S& value, YAML::Emitter& out) {
  for (const auto& field : table.fields()) {
    emit_key(out, field.info.name);
    field.write(value, out);
  }
}

// ---------------------------------------------------------------- type erasure

/// An options struct of any type with its table: a model family's options,
/// held in a config whose type says which family. Copies are deep.
class AnyOptions {
 public:
  AnyOptions() = default;
  template <typename S>
  static AnyOptions of(S value) {
    AnyOptions out;
    out.self_ = std::make_unique<Model<S>>(std::move(value));
    return out;
  }
  AnyOptions(const AnyOptions& other) : self_(other.self_ ? other.self_->clone() : nullptr) {}
  AnyOptions& operator=(const AnyOptions& other) {
    self_ = other.self_ ? other.self_->clone() : nullptr;
    return *this;
  }
  AnyOptions(AnyOptions&&) = default;
  AnyOptions& operator=(AnyOptions&&) = default;

  bool empty() const { return !self_; }
  /// The struct, which must be an S (an internal invariant).
  template <typename S>
  const S& as() const {
    auto* model = dynamic_cast<const Model<S>*>(self_.get());
    if (model == nullptr) throw std::logic_error(std::string("AnyOptions does not hold a ") + typeid(S).name());
    return model->value;
  }
  template <typename S>
  S& as() {
    return const_cast<S&>(static_cast<const AnyOptions&>(*this).as<S>());
  }

  std::vector<OptionInfo> info() const { return self_ ? self_->info() : std::vector<OptionInfo>{}; }
  /// Reads option `name` from YAML; false when the struct has no such option.
  bool read(const std::string& name, const YAML::Node& node, const ValueSource& source) {
    return self_ && self_->read(name, node, source);
  }
  /// Writes every option as YAML key/value pairs (into an open map).
  void write(YAML::Emitter& out) const {
    if (self_) self_->write(out);
  }
  /// Reads option `name` from YAML text ("[400, 200]", "0.5", "relu").
  bool read_text(const std::string& name, const std::string& text, const ValueSource& source);
  void check(const std::string& what) const {
    if (self_) self_->check(what);
  }

 private:
  struct Concept {
    virtual ~Concept() = default;
    virtual std::unique_ptr<Concept> clone() const = 0;
    virtual std::vector<OptionInfo> info() const = 0;
    virtual bool read(const std::string& name, const YAML::Node& node, const ValueSource& source) = 0;
    virtual void write(YAML::Emitter& out) const = 0;
    virtual void check(const std::string& what) const = 0;
  };
  template <typename S>
  struct Model final : Concept {
    explicit Model(S v) : value(std::move(v)) {}
    std::unique_ptr<Concept> clone() const override { return std::make_unique<Model>(value); }
    std::vector<OptionInfo> info() const override { return option_table<S>().info(); }
    bool read(const std::string& name, const YAML::Node& node, const ValueSource& source) override {
      const auto* field = option_table<S>().find(name);
      if (field == nullptr) return false;
      field->read(value, node, source);
      return true;
    }
    void write(YAML::Emitter& out) const override { write_options(option_table<S>(), value, out); }
    void check(const std::string& what) const override { option_table<S>().check(value, what); }
    S value;
  };
  std::unique_ptr<Concept> self_;
};

/// The valid key nearest to `key` by edit distance ("" when none is close).
/// A key without a section ("epochs") is also compared with the part of each
/// candidate after its section ("train.epochs").
std::string nearest_key(const std::string& key, const std::vector<std::string>& candidates);

/// "latent_dim" -> "--latent-dim".
std::string option_flag(const std::string& name);

}  // namespace dgm
