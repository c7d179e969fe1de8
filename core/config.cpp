#include "core/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"

namespace dgm {
namespace {

/// Where a value came from, for error messages: "file.yaml:12" or "--set k=v".
struct Origin {
  std::string text;
};

Origin origin_of(const std::string& source, const YAML::Node& node) {
  const auto mark = node.Mark();
  if (mark.line < 0) return {source};
  return {fmt::format("{}:{}", source, mark.line + 1)};
}

/// One config key: how to read it from YAML into Config and write it back.
struct Field {
  std::string key;
  std::function<void(Config&, const YAML::Node&, const Origin&)> read;
  std::function<void(const Config&, YAML::Emitter&)> write;
};

std::string node_text(const YAML::Node& node) {
  if (node.IsScalar()) return node.Scalar();
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

template <typename T>
T read_scalar(const YAML::Node& node, const std::string& key, const Origin& where, const char* type_name) {
  if (!node.IsScalar()) fail("{}: {} must be {}, got '{}'", where.text, key, type_name, node_text(node));
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    fail("{}: {} must be {}, got '{}'", where.text, key, type_name, node.Scalar());
  }
}

template <typename Get>
Field int_field(std::string key, Get get, int64_t min, int64_t max = std::numeric_limits<int64_t>::max()) {
  return {key,
          [=](Config& c, const YAML::Node& node, const Origin& where) {
            const auto value = read_scalar<int64_t>(node, key, where, "an integer");
            if (value < min || value > max)
              fail("{}: {} = {} is out of range: it must be between {} and {}", where.text, key, value, min, max);
            get(c) = static_cast<std::remove_reference_t<decltype(get(c))>>(value);
          },
          [=](const Config& c, YAML::Emitter& out) {
            out << YAML::Key << key.substr(key.find('.') + 1) << YAML::Value << get(const_cast<Config&>(c));
          }};
}

template <typename Get>
Field double_field(std::string key, Get get, double min, bool min_inclusive) {
  return {key,
          [=](Config& c, const YAML::Node& node, const Origin& where) {
            const auto value = read_scalar<double>(node, key, where, "a number");
            if (!std::isfinite(value) || value < min || (!min_inclusive && value == min))
              fail("{}: {} = {} is out of range: it must be {} {}", where.text, key, value, min_inclusive ? ">=" : ">",
                   min);
            get(c) = value;
          },
          [=](const Config& c, YAML::Emitter& out) {
            out << YAML::Key << key.substr(key.find('.') + 1) << YAML::Value << get(const_cast<Config&>(c));
          }};
}

template <typename Get>
Field bool_field(std::string key, Get get) {
  return {key,
          [=](Config& c, const YAML::Node& node, const Origin& where) {
            get(c) = read_scalar<bool>(node, key, where, "true or false");
          },
          [=](const Config& c, YAML::Emitter& out) {
            out << YAML::Key << key.substr(key.find('.') + 1) << YAML::Value << get(const_cast<Config&>(c));
          }};
}

/// A string; when `choices` is not empty, one of them.
template <typename Get>
Field string_field(std::string key, Get get, std::vector<std::string> choices = {}) {
  return {key,
          [=](Config& c, const YAML::Node& node, const Origin& where) {
            auto value = read_scalar<std::string>(node, key, where, "a string");
            if (!choices.empty() && std::find(choices.begin(), choices.end(), value) == choices.end()) {
              std::string list;
              for (const auto& choice : choices) list += (list.empty() ? "" : ", ") + choice;
              fail("{}: {} = '{}' is not valid: use one of {}", where.text, key, value, list);
            }
            get(c) = value;
          },
          [=](const Config& c, YAML::Emitter& out) {
            out << YAML::Key << key.substr(key.find('.') + 1) << YAML::Value << YAML::DoubleQuoted
                << get(const_cast<Config&>(c));
          }};
}

template <typename Get>
Field int_list_field(std::string key, Get get, int64_t min) {
  return {key,
          [=](Config& c, const YAML::Node& node, const Origin& where) {
            if (!node.IsSequence())
              fail("{}: {} must be a list of integers such as [400, 200], got '{}'", where.text, key, node_text(node));
            std::vector<int64_t> values;
            for (const auto& item : node) {
              const auto value = read_scalar<int64_t>(item, key, where, "a list of integers");
              if (value < min) fail("{}: {} has the entry {}: each must be at least {}", where.text, key, value, min);
              values.push_back(value);
            }
            get(c) = values;
          },
          [=](const Config& c, YAML::Emitter& out) {
            out << YAML::Key << key.substr(key.find('.') + 1) << YAML::Value << YAML::Flow
                << get(const_cast<Config&>(c));
          }};
}

#define DGM_GET(member) \
  [](Config & c) -> auto& { return c.member; }

const std::vector<Field>& fields() {
  static const std::vector<Field> all = {
      string_field("data.path", DGM_GET(data.path)),
      string_field("data.test_path", DGM_GET(data.test_path)),
      string_field("data.binarize", DGM_GET(data.binarize), {"dynamic", "fixed", "none"}),
      int_field("data.val_size", DGM_GET(data.val_size), 1),
      int_field("data.limit", DGM_GET(data.limit), 0),
      string_field("model.type", DGM_GET(model.type), {"vae"}),
      int_field("model.latent_dim", DGM_GET(model.latent_dim), 1, 100000),
      int_list_field("model.hidden", DGM_GET(model.hidden), 1),
      string_field("model.network", DGM_GET(model.network), {"mlp", "conv"}),
      int_list_field("model.conv_channels", DGM_GET(model.conv_channels), 1),
      string_field("model.activation", DGM_GET(model.activation),
                   {"relu", "tanh", "elu", "leaky_relu", "softplus", "gelu"}),
      string_field("model.likelihood", DGM_GET(model.likelihood), {"bernoulli", "gaussian"}),
      bool_field("model.learn_variance", DGM_GET(model.learn_variance)),
      double_field("model.variance", DGM_GET(model.variance), 0.0, false),
      int_field("model.second_latent_dim", DGM_GET(model.second_latent_dim), 0, 100000),
      int_list_field("model.second_hidden", DGM_GET(model.second_hidden), 1),
      bool_field("model.output_bias_from_data", DGM_GET(model.output_bias_from_data)),
      int_field("train.epochs", DGM_GET(train.epochs), 0, 1000000),
      int_field("train.batch_size", DGM_GET(train.batch_size), 1, 1 << 24),
      double_field("train.lr", DGM_GET(train.lr), 0.0, false),
      double_field("train.adam_eps", DGM_GET(train.adam_eps), 0.0, false),
      int_list_field("train.lr_milestones", DGM_GET(train.lr_milestones), 1),
      double_field("train.lr_gamma", DGM_GET(train.lr_gamma), 0.0, false),
      int_field("train.seed", DGM_GET(train.seed), 0),
      string_field("train.objective", DGM_GET(train.objective), {"elbo", "iwae", "exact"}),
      int_field("train.k", DGM_GET(train.k), 1, 1 << 20),
      string_field("train.gradient", DGM_GET(train.gradient), {"standard", "dreg"}),
      double_field("train.beta", DGM_GET(train.beta), 0.0, true),
      int_field("train.warmup_steps", DGM_GET(train.warmup_steps), 0),
      double_field("train.free_bits", DGM_GET(train.free_bits), 0.0, true),
      double_field("train.grad_clip", DGM_GET(train.grad_clip), 0.0, true),
      string_field("train.device", DGM_GET(train.device)),
      string_field("train.dtype", DGM_GET(train.dtype), {"float32", "float64"}),
      int_field("train.threads", DGM_GET(train.threads), 0, 4096),
      int_field("eval.k", DGM_GET(eval.k), 1, 1 << 24),
      int_field("eval.batch_size", DGM_GET(eval.batch_size), 1, 1 << 24),
      int_field("eval.chunk", DGM_GET(eval.chunk), 1, 1 << 24),
      string_field("eval.split", DGM_GET(eval.split), {"test", "train"}),
      int_field("eval.seed", DGM_GET(eval.seed), 0),
  };
  return all;
}

#undef DGM_GET

const Field* find_field(const std::string& key) {
  for (const auto& field : fields())
    if (field.key == key) return &field;
  return nullptr;
}

std::vector<std::string> section_names() {
  std::vector<std::string> names;
  for (const auto& field : fields()) {
    auto section = field.key.substr(0, field.key.find('.'));
    if (std::find(names.begin(), names.end(), section) == names.end()) names.push_back(section);
  }
  return names;
}

std::string suggestion(const std::string& key, const std::vector<std::string>& candidates) {
  const auto near = nearest_key(key, candidates);
  return near.empty() ? "" : fmt::format("; did you mean '{}'?", near);
}

[[noreturn]] void unknown_key(const std::string& where, const std::string& key) {
  auto candidates = config_keys();
  if (key.find('.') == std::string::npos) candidates = section_names();
  fail("{}: unknown key '{}'{} (`dgm config` prints every valid key)", where, key, suggestion(key, candidates));
}

YAML::Node parse_yaml(const std::string& text, const std::string& source) {
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    fail("{}:{}: not valid YAML: {}", source, e.mark.line + 1, e.msg);
  }
}

void apply_override(YAML::Node& root, const std::string& assignment, std::map<std::string, std::string>& origins) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    fail("--set {}: write KEY=VALUE, for example --set model.latent_dim=32", assignment);
  const std::string key = assignment.substr(0, eq);
  const std::string value = assignment.substr(eq + 1);
  if (find_field(key) == nullptr) unknown_key("--set " + assignment, key);
  const auto dot = key.find('.');
  YAML::Node parsed = parse_yaml(value.empty() ? "\"\"" : value, "--set " + assignment);
  if (!root[key.substr(0, dot)].IsMap()) root[key.substr(0, dot)] = YAML::Node(YAML::NodeType::Map);
  YAML::Node section = root[key.substr(0, dot)];
  section[key.substr(dot + 1)] = parsed;
  origins[key] = "--set " + assignment;
}

void validate(const Config& c, const std::string& source) {
  for (std::size_t i = 1; i < c.train.lr_milestones.size(); ++i)
    if (c.train.lr_milestones[i] <= c.train.lr_milestones[i - 1])
      fail("{}: train.lr_milestones must increase, got {} after {}", source, c.train.lr_milestones[i],
           c.train.lr_milestones[i - 1]);
  if (c.train.gradient == "dreg" && c.train.objective != "iwae")
    fail(
        "{}: train.gradient = dreg is the IWAE bound's gradient: set train.objective=iwae (with k = 1 it is the "
        "'sticking the landing' ELBO gradient)",
        source);
  if (c.model.network == "conv" && c.model.conv_channels.empty())
    fail("{}: model.conv_channels must list at least one layer, e.g. [32, 64]", source);
  if (c.model.type == "vae" && c.model.network == "mlp" && c.model.hidden.empty())
    fail("{}: model.hidden must list at least one layer width, e.g. [400]", source);
}

}  // namespace

std::vector<std::string> config_keys() {
  std::vector<std::string> keys;
  for (const auto& field : fields()) keys.push_back(field.key);
  return keys;
}

std::string nearest_key(const std::string& key, const std::vector<std::string>& candidates) {
  auto distance = [](const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      std::size_t diagonal = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j) {
        const std::size_t above = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
        diagonal = above;
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

Config parse_config(const std::string& text, const std::string& source, const std::vector<std::string>& overrides) {
  YAML::Node root = parse_yaml(text, source);
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) fail("{}: a config is a YAML mapping of sections (data, model, train, eval)", source);
  std::map<std::string, std::string> override_origins;
  for (const auto& assignment : overrides) apply_override(root, assignment, override_origins);

  Config config;
  const auto sections = section_names();
  for (const auto& section_entry : root) {
    const auto section = section_entry.first.as<std::string>();
    const std::string where = origin_of(source, section_entry.first).text;
    if (std::find(sections.begin(), sections.end(), section) == sections.end()) unknown_key(where, section);
    if (section_entry.second.IsNull()) continue;
    if (!section_entry.second.IsMap()) fail("{}: '{}' must be a mapping of keys", where, section);
    for (const auto& entry : section_entry.second) {
      const std::string key = section + "." + entry.first.as<std::string>();
      auto it = override_origins.find(key);
      const Origin origin = it != override_origins.end() ? Origin{it->second} : origin_of(source, entry.first);
      const Field* field = find_field(key);
      if (field == nullptr) unknown_key(origin.text, key);
      field->read(config, entry.second, origin);
    }
  }
  validate(config, source);
  return config;
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::string text;
  try {
    text = read_text_file(path);
  } catch (const Error& e) {
    fail("config {}: {} (ready configs are in configs/, e.g. configs/vae.yaml)", path, e.what());
  }
  return parse_config(text, path, overrides);
}

std::string config_to_yaml(const Config& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  std::string current;
  for (const auto& field : fields()) {
    const auto section = field.key.substr(0, field.key.find('.'));
    if (section != current) {
      if (!current.empty()) out << YAML::EndMap;
      out << YAML::Key << section << YAML::Value << YAML::BeginMap;
      current = section;
    }
    field.write(config, out);
  }
  out << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace dgm
