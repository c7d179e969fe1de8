#include "trainers/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>
#include <map>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/random.h"
#include "core/utf8.h"
#include "models/class_latent.h"

namespace dgm {

template <>
const OptionTable<TrainConfig>& option_table<TrainConfig>() {
  static const OptionTable<TrainConfig> table = [] {
    using Table = OptionTable<TrainConfig>;
    auto fields = Table::embed(&TrainConfig::trainer, option_table<TrainerOptions>());
    for (auto& field : Table::embed(&TrainConfig::objective, option_table<ObjectiveOptions>())) fields.push_back(field);
    for (auto& field : Table::embed(&TrainConfig::runtime, option_table<RuntimeOptions>())) fields.push_back(field);
    return Table(std::move(fields));
  }();
  return table;
}

namespace {

const char* const kSections[] = {"data", "model", "train", "eval"};

/// "file.yaml:12", or the file alone for a node without a position.
std::string origin_of(const std::string& source, const YAML::Node& node) {
  const auto mark = node.Mark();
  if (mark.line < 0) return source;
  return fmt::format("{}:{}", source, mark.line + 1);
}

/// A mapping key as text: a plain name; a key that is a list, a mapping or
/// empty (`? [a, b]: 1`, `? : 1`) is an error at its line.
std::string key_name(const YAML::Node& key, const std::string& where) {
  if (!key.IsScalar())
    fail("{}: a key must be a plain name, not {}", where,
         key.IsSequence() ? "a list"
         : key.IsMap()    ? "a mapping"
                          : "empty");
  return key.Scalar();
}

/// A key given twice in one mapping: YAML forbids it, and yaml-cpp would
/// let the last one win silently. Walked with an explicit stack, so a
/// deeply nested file cannot exhaust ours.
void check_unique_keys(const YAML::Node& root, const std::string& source) {
  std::vector<YAML::Node> pending{root};
  while (!pending.empty()) {
    YAML::Node node = pending.back();
    pending.pop_back();
    if (node.IsSequence()) {
      for (const auto& item : node) pending.push_back(item);
    } else if (node.IsMap()) {
      std::map<std::string, int> lines;
      for (const auto& pair : node) {
        if (pair.first.IsScalar()) {
          const std::string key = pair.first.Scalar();
          const int line = pair.first.Mark().line + 1;
          auto [at, inserted] = lines.emplace(key, line);
          if (!inserted)
            fail("{}:{}: key '{}' appears twice in one mapping (first at line {}); keep one", source, line, key,
                 at->second);
        }
        pending.push_back(pair.second);
      }
    }
  }
}

YAML::Node parse_yaml(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    fail("{}:{}: not valid YAML: {}", source, e.mark.line + 1, e.msg);
  }
  check_unique_keys(root, source);
  return root;
}

/// Where each key given with --set came from (and each section it created).
using Origins = std::map<std::string, std::string>;

void apply_override(YAML::Node& root, const std::string& assignment, Origins& origins) {
  const auto eq = assignment.find('=');
  const auto dot = assignment.find('.');
  if (eq == std::string::npos || eq == 0 || dot == std::string::npos || dot > eq)
    fail("--set {}: write KEY=VALUE with KEY as section.key, for example --set model.latent_dim=32", assignment);
  const std::string key = assignment.substr(0, eq);
  const std::string value = assignment.substr(eq + 1);
  const std::string section = key.substr(0, dot);
  // A value that is not UTF-8 (a file name's bytes) is taken as it is:
  // yaml-cpp's reader would turn those bytes into U+FFFD.
  YAML::Node parsed =
      is_utf8(value) ? parse_yaml(value.empty() ? "\"\"" : value, "--set " + assignment) : YAML::Node(value);
  if (!root[section].IsMap()) {
    root[section] = YAML::Node(YAML::NodeType::Map);
    origins[section] = "--set " + assignment;
  }
  YAML::Node node = root[section];
  node[key.substr(dot + 1)] = parsed;
  origins[key] = "--set " + assignment;
}

[[noreturn]] void unknown_key(const std::string& where, const std::string& key, const std::string& model_type) {
  std::vector<std::string> candidates;
  if (key.find('.') == std::string::npos) {
    candidates.assign(std::begin(kSections), std::end(kSections));
  } else {
    candidates = config_keys(model_type);
  }
  const auto near = nearest_key(key, candidates);
  std::string hint = near.empty() ? "" : fmt::format("; did you mean '{}'?", near);
  if (key.rfind("model.", 0) == 0 && near.empty()) {
    std::vector<std::string> model_keys;
    for (const auto& info : model_registry().at(model_type).defaults.info()) model_keys.push_back(info.name);
    hint = fmt::format("; model.type {} takes {}", model_type, join_choices(model_keys, ", "));
  }
  fail("{}: unknown key '{}'{} (`dgm config` prints every valid key)", where, key, hint);
}

/// Reads `key` of a typed section through its table; false when unknown.
template <typename S>
bool read_typed(S& target, const std::string& name, const YAML::Node& node, const ValueSource& source) {
  const auto* field = option_table<S>().find(name);
  if (field == nullptr) return false;
  field->read(target, node, source);
  return true;
}

bool read_key(Config& config, const std::string& section, const std::string& name, const YAML::Node& node,
              const ValueSource& source) {
  if (section == "data") return read_typed(config.data, name, node, source);
  if (section == "train") return read_typed(config.train, name, node, source);
  if (section == "eval") return read_typed(config.eval, name, node, source);
  return config.model.options.read(name, node, source);
}

/// model.type, read before the other model keys, which depend on it.
std::string model_type_of(const YAML::Node& root, const std::string& source, const Origins& origins) {
  if (!root["model"]) return kDefaultModelType;
  const YAML::Node model = root["model"];
  if (!model.IsMap() || !model["type"]) return kDefaultModelType;
  const auto it = origins.find("model.type");
  const std::string where = it != origins.end() ? it->second : origin_of(source, model["type"]);
  return read_text(model["type"], {where, "model.type"}, one_of([] { return model_registry().names(); }));
}

/// The valid values worth adding to a description: none when the description
/// already names every choice.
std::string valid_note(const OptionInfo& option) {
  std::vector<std::string> choices = option.choices;
  if (choices.empty() && !option.valid.empty() && option.valid.rfind("one of ", 0) == 0)
    return " [" + option.valid + "]";
  bool all_named = !choices.empty();
  for (const auto& choice : choices) all_named = all_named && option.description.find(choice) != std::string::npos;
  if (option.valid.empty() || all_named) return "";
  return " [" + option.valid + "]";
}

void write_section(YAML::Emitter& out, const std::vector<OptionInfo>& info,
                   const std::function<void(YAML::Emitter&)>& write_pairs, bool comments) {
  if (!comments) return write_pairs(out);
  // Written pair by pair to put each key's description beside it.
  YAML::Emitter pairs;
  pairs << YAML::BeginMap;
  write_pairs(pairs);
  pairs << YAML::EndMap;
  const YAML::Node written = YAML::Load(pairs.c_str());
  for (const auto& option : info) {
    const YAML::Node value = written[option.name];
    out << YAML::Key << option.name << YAML::Value;
    if (value.IsScalar() && value.Tag() == "tag:yaml.org,2002:binary")  // a name that is not UTF-8, as !!binary
      out << YAML::SecondaryTag("binary") << value.Scalar();
    else
      out << value;
    out << YAML::Comment(option.description + valid_note(option));
  }
}

}  // namespace

std::vector<std::string> config_keys(const std::string& model_type) {
  std::vector<std::string> keys;
  for (const auto& info : option_table<DataOptions>().info()) keys.push_back("data." + info.name);
  keys.push_back("model.type");
  for (const auto& info : model_registry().at(model_type).defaults.info()) keys.push_back("model." + info.name);
  for (const auto& info : option_table<TrainConfig>().info()) keys.push_back("train." + info.name);
  for (const auto& info : option_table<EvalOptions>().info()) keys.push_back("eval." + info.name);
  return keys;
}

namespace {

Config parse_config_text(const std::string& text, const std::string& source,
                         const std::vector<std::string>& overrides) {
  YAML::Node root = parse_yaml(text, source);
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) fail("{}: a config is a YAML mapping of sections (data, model, train, eval)", source);
  Origins origins;
  for (const auto& assignment : overrides) apply_override(root, assignment, origins);

  Config config;
  config.model = ModelConfig(model_type_of(root, source, origins));
  for (const auto& section_entry : root) {
    const auto section = key_name(section_entry.first, origin_of(source, section_entry.first));
    const auto section_origin = origins.find(section);
    const std::string where =
        section_origin != origins.end() ? section_origin->second : origin_of(source, section_entry.first);
    if (std::find(std::begin(kSections), std::end(kSections), section) == std::end(kSections))
      unknown_key(where, section, config.model.type);
    if (section_entry.second.IsNull()) continue;
    if (!section_entry.second.IsMap()) fail("{}: '{}' must be a mapping of keys", where, section);
    for (const auto& entry : section_entry.second) {
      const auto name = key_name(entry.first, origin_of(source, entry.first));
      const std::string key = section + "." + name;
      if (key == "model.type") continue;
      auto it = origins.find(key);
      const std::string origin = it != origins.end() ? it->second : origin_of(source, entry.first);
      if (!read_key(config, section, name, entry.second, {origin, key})) unknown_key(origin, key, config.model.type);
    }
  }
  check_trainer_options(config.train.trainer, source);
  check_objective_options(config.train.objective, source);
  const ModelFamily& family = model_registry().at(config.model.type);
  if (family.check) family.check(config.model.options, source);
  return config;
}

}  // namespace

Config parse_config(const std::string& text, const std::string& source, const std::vector<std::string>& overrides) {
  try {
    return parse_config_text(text, source, overrides);
  } catch (const YAML::Exception& e) {
    // What the checks above did not foresee is still named by file and line.
    if (e.mark.line < 0) fail("{}: {}", source, e.msg);
    fail("{}:{}: {}", source, e.mark.line + 1, e.msg);
  }
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

std::string config_to_yaml(const Config& config, bool comments) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  // One typed section: its key/value pairs (with comments) under `name`.
  auto typed = [&](const char* name, const auto& value) {
    using Options = std::decay_t<decltype(value)>;
    out << YAML::Key << name << YAML::Value << YAML::BeginMap;
    write_section(
        out, option_table<Options>().info(),
        [&](YAML::Emitter& o) { write_options(option_table<Options>(), value, o); }, comments);
    out << YAML::EndMap;
  };
  typed("data", config.data);
  out << YAML::Key << "model" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "type" << YAML::Value << YAML::DoubleQuoted << config.model.type;
  if (comments) out << YAML::Comment(fmt::format("the model family: {}", join_choices(model_registry().names(), ", ")));
  write_section(
      out, config.model.options.info(), [&](YAML::Emitter& o) { config.model.options.write(o); }, comments);
  out << YAML::EndMap;
  typed("train", config.train);
  typed("eval", config.eval);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::string describe_config_keys() {
  std::string out;
  auto add = [&](const std::string& key, const OptionInfo& info) {
    out += fmt::format("{:<34} {:<14} {}{}\n", key, info.default_value, info.description, valid_note(info));
  };
  for (const auto& info : option_table<DataOptions>().info()) add("data." + info.name, info);
  OptionInfo type_info{"type",
                       "choice",
                       "the model family: " + join_choices(model_registry().names(), ", "),
                       "",
                       model_registry().names(),
                       std::string("\"") + kDefaultModelType + "\""};
  add("model.type", type_info);
  for (const auto& name : model_registry().names())
    for (const auto& info : model_registry().at(name).defaults.info())
      add(fmt::format("model.{} ({})", info.name, name), info);
  for (const auto& info : option_table<TrainConfig>().info()) add("train." + info.name, info);
  for (const auto& info : option_table<EvalOptions>().info()) add("eval." + info.name, info);
  return out;
}

TrainValidation training_data(const Config& config, const ImageSet& all) {
  TrainValidation data = split_validation(all, config.data.val_size, config.train.trainer.seed);
  data.train = keep_labels_per_class(data.train, config.data.labels_per_class, config.train.trainer.seed);
  return data;
}

std::shared_ptr<TrainableModel> model_to_train(const Config& config, const ImageSet& all, const TrainValidation& data) {
  seed_everything(config.train.trainer.seed);  // the initial weights
  auto model = create_model(config.model, all.shape());
  model->to(all.x.device(), to_dtype(config.train.runtime.dtype));
  if (model->needs_unit_interval()) check_unit_interval(all.x, all.source);
  if (model->data_levels() > 0) {
    if (config.data.binarize != Binarization::kNone)
      fail(
          "{} models {}-level pixels (model.likelihood=discretized_logistic), not binary ones: set "
          "data.binarize=none",
          model->describe(), model->data_levels());
    check_levels(all.x, model->data_levels(), all.source);
  }
  if (ClassLatentModel* classes = class_latent(*model)) check_labels(all, classes->classes(), "model.classes");
  model->initialize_from_data(data.train.x);
  return model;
}

TrainerOptions trainer_options(const Config& config) {
  TrainerOptions options = config.train.trainer;
  options.binarize = config.data.binarize;
  return options;
}

}  // namespace dgm
