#include "core/options.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>

#include "core/utf8.h"

namespace dgm {
namespace {

/// A number as a person writes it: 1, 0.5, 1e-08.
std::string number_text(double value) {
  if (std::floor(value) == value && std::abs(value) < 1e15) return fmt::format("{:.0f}", value);
  return fmt::format("{:g}", value);
}

std::string node_text(const YAML::Node& node) {
  if (node.IsScalar()) return node.Scalar();
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

template <typename T>
T scalar_as(const YAML::Node& node, const ValueSource& source, const char* type_name) {
  if (!node.IsScalar()) fail("{}: {} must be {}, got '{}'", source.where, source.key, type_name, node_text(node));
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    fail("{}: {} must be {}, got '{}'", source.where, source.key, type_name, node.Scalar());
  }
}

void check_range(double value, const std::string& shown, const ValueSource& source, const Valid& valid) {
  const auto why = valid.range_violation(value);
  if (!why.empty()) fail("{}: {} = {} is out of range: {}", source.where, source.key, shown, why);
}

void check_names(const std::string& value, const ValueSource& source, const std::vector<std::string>& names) {
  if (std::find(names.begin(), names.end(), value) != names.end()) return;
  std::string list;
  for (const auto& name : names) list += (list.empty() ? "" : ", ") + name;
  fail("{}: {} = '{}' is not valid: use one of {}", source.where, source.key, value, list);
}

}  // namespace

std::string join_choices(const std::vector<std::string>& names, const std::string& last) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? last : ", ";
    out += names[i];
  }
  return out;
}

std::string Valid::describe() const {
  if (names) return "one of " + join_choices(names(), ", ");
  if (!text_rule.empty()) return text_rule;
  const bool has_min = std::isfinite(min), has_max = std::isfinite(max);
  if (has_min && has_max) return fmt::format("between {} and {}", number_text(min), number_text(max));
  if (has_min) return min_exclusive ? "> " + number_text(min) : "at least " + number_text(min);
  if (has_max) return "at most " + number_text(max);
  return "";
}

std::string Valid::range_violation(double value) const {
  const bool low = min_exclusive ? !(value > min) : !(value >= min);
  if (!low && value <= max && !std::isnan(value)) return "";
  return "it must be " + describe();
}

Valid any_value() { return {}; }

Valid at_least(double minimum) {
  Valid valid;
  valid.min = minimum;
  return valid;
}

Valid above(double minimum) {
  Valid valid;
  valid.min = minimum;
  valid.min_exclusive = true;
  return valid;
}

Valid between(double minimum, double maximum) {
  Valid valid;
  valid.min = minimum;
  valid.max = maximum;
  return valid;
}

Valid one_of(std::function<std::vector<std::string>()> names) {
  Valid valid;
  valid.names = std::move(names);
  return valid;
}

Valid checked_by(std::function<std::string(const std::string&)> check, std::string rule) {
  Valid valid;
  valid.text_check = std::move(check);
  valid.text_rule = std::move(rule);
  return valid;
}

int64_t read_integer(const YAML::Node& node, const ValueSource& source, const Valid& valid) {
  const auto value = scalar_as<int64_t>(node, source, "an integer");
  check_integer(value, source, valid);
  return value;
}

double read_number(const YAML::Node& node, const ValueSource& source, const Valid& valid) {
  const auto value = scalar_as<double>(node, source, "a number");
  check_number(value, source, valid);
  return value;
}

bool read_bool(const YAML::Node& node, const ValueSource& source) {
  return scalar_as<bool>(node, source, "true or false");
}

/// The YAML tag of a base64 byte string: how dgm writes text that is not UTF-8.
constexpr const char* kBinaryTag = "tag:yaml.org,2002:binary";

std::string read_text(const YAML::Node& node, const ValueSource& source, const Valid& valid) {
  std::string value;
  if (node.IsScalar() && node.Tag() == kBinaryTag) {
    try {
      const auto bytes = node.as<YAML::Binary>();
      value.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    } catch (const YAML::Exception&) {
      fail("{}: {} is tagged !!binary but '{}' is not base64", source.where, source.key, node.Scalar());
    }
  } else {
    value = scalar_as<std::string>(node, source, "a string");
  }
  check_text(value, source, valid);
  return value;
}

std::string read_choice(const YAML::Node& node, const ValueSource& source, const std::vector<std::string>& names) {
  auto value = scalar_as<std::string>(node, source, "a string");
  check_names(value, source, names);
  return value;
}

std::vector<int64_t> read_integer_list(const YAML::Node& node, const ValueSource& source, const Valid& valid) {
  if (!node.IsSequence())
    fail("{}: {} must be a list of integers such as [400, 200], got '{}'", source.where, source.key, node_text(node));
  std::vector<int64_t> values;
  for (const auto& item : node) values.push_back(scalar_as<int64_t>(item, source, "a list of integers"));
  check_integer_list(values, source, valid);
  return values;
}

void check_integer(int64_t value, const ValueSource& source, const Valid& valid) {
  check_range(static_cast<double>(value), std::to_string(value), source, valid);
}

void check_number(double value, const ValueSource& source, const Valid& valid) {
  if (!std::isfinite(value)) fail("{}: {} = {} is not a finite number", source.where, source.key, value);
  check_range(value, number_text(value), source, valid);
}

void check_text(const std::string& value, const ValueSource& source, const Valid& valid) {
  if (valid.names) check_names(value, source, valid.names());
  if (valid.text_check) {
    const auto why = valid.text_check(value);
    if (!why.empty()) fail("{}: {} = '{}' is not valid: {}", source.where, source.key, value, why);
  }
}

void check_integer_list(const std::vector<int64_t>& values, const ValueSource& source, const Valid& valid) {
  for (const auto value : values) {
    const auto why = valid.range_violation(static_cast<double>(value));
    if (!why.empty())
      fail("{}: {} has the entry {}: each must be {}", source.where, source.key, value, valid.describe());
  }
}

void write_value(YAML::Emitter& out, int64_t value) { out << value; }
void write_value(YAML::Emitter& out, uint64_t value) { out << value; }
// The shortest text that reads back as the same double ("0.1", not 0.10000000000000001).
void write_value(YAML::Emitter& out, double value) { out << fmt::format("{}", value); }
void write_value(YAML::Emitter& out, bool value) { out << value; }
// YAML holds Unicode text only: a value that is not UTF-8 (a file name's
// bytes) is written as !!binary base64, which read_text gives back byte for byte.
void write_value(YAML::Emitter& out, const std::string& value) {
  if (is_utf8(value))
    out << YAML::DoubleQuoted << value;
  else
    out << YAML::Binary(reinterpret_cast<const unsigned char*>(value.data()), value.size());
}
void write_value(YAML::Emitter& out, const std::vector<int64_t>& value) { out << YAML::Flow << value; }

void with_yaml_value(const std::string& text, bool as_text, const ValueSource& source,
                     const std::function<void(const YAML::Node&)>& use) {
  // yaml-cpp's reader would turn bytes that are not UTF-8 into U+FFFD.
  if (as_text || !is_utf8(text)) return use(YAML::Node(text));
  YAML::Node node;
  try {
    node = YAML::Load(text.empty() ? "\"\"" : text);
  } catch (const YAML::ParserException& e) {
    fail("{}: {} = '{}' is not valid YAML: {}", source.where, source.key, text, e.msg);
  }
  use(node);
}

std::string yaml_text(const std::function<void(YAML::Emitter&)>& write) {
  YAML::Emitter out;
  write(out);
  return out.c_str();
}

bool AnyOptions::read_text(const std::string& name, const std::string& text, const ValueSource& source) {
  return read(name, YAML::Load(text), source);
}

void emit_key(YAML::Emitter& out, const std::string& key) { out << YAML::Key << key << YAML::Value; }

std::string nearest_key(const std::string& key, const std::vector<std::string>& candidates) {
  auto distance = [](const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      std::size_t diagonal = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j) {
        const std::size_t above_cell = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
        diagonal = above_cell;
      }
    }
    return row[b.size()];
  };
  std::string best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const auto& candidate : candidates) {
    // Compare the part after the section too, so 'epoch' finds 'train.epochs'.
    std::size_t d = distance(key, candidate);
    const auto dot = candidate.find('.');
    if (dot != std::string::npos && key.find('.') == std::string::npos)
      d = std::min(d, distance(key, candidate.substr(dot + 1)));
    if (d < best_distance) best_distance = d, best = candidate;
  }
  const std::size_t limit = std::max<std::size_t>(2, key.size() / 3);
  return best_distance <= limit ? best : "";
}

std::string option_flag(const std::string& name) {
  std::string flag = "--" + name;
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

}  // namespace dgm
