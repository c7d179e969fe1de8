#include "core/data_sources.h"

#include <torch/torch.h>

#include "core/cifar.h"
#include "core/csv.h"
#include "core/error.h"
#include "core/idx.h"
#include "core/npy.h"
#include "core/npz.h"

namespace dgm {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

namespace {

DataSourceRegistry with_builtin_sources() {
  DataSourceRegistry registry;
  registry.add({"npy", "NumPy arrays", {".npy"}, read_npy});
  registry.add({"npz",
                "NumPy archives (np.savez, np.savez_compressed)",
                {".npz"},
                [](const std::string& path) { return read_npz(path, ""); },
                [](const std::string& path, const DataKeys& keys) {
                  DataFile file{read_npz(path, keys.key), torch::Tensor()};
                  if (!keys.labels_key.empty()) file.labels = read_npz(path, keys.labels_key);
                  return file;
                }});
  registry.add({"csv", "comma-separated numbers", {".csv"}, read_csv});
  registry.add({"cifar",
                "CIFAR-10/100 binary batches",
                {".bin"},
                [](const std::string& path) { return read_cifar(path).x; },
                [](const std::string& path, const DataKeys& keys) {
                  if (!keys.empty())
                    fail("{} is a CIFAR batch: data.key and data.labels_key name arrays of an .npz archive; unset them",
                         path);
                  return read_cifar(path);
                }});
  registry.add({"idx", "MNIST's IDX files, gzip or raw", {"-ubyte", "-ubyte.gz", ".idx", ".idx.gz"}, read_idx});
  return registry;
}

}  // namespace

const DataSource* DataSourceRegistry::claiming(const std::string& path) const {
  for (const auto& source : sources_.entries())
    for (const auto& suffix : source.suffixes)
      if (ends_with(path, suffix)) return &source;
  return nullptr;
}

const DataSource& DataSourceRegistry::for_path(const std::string& path) const {
  if (const auto* source = claiming(path)) return *source;
  if (const auto* idx = sources_.find("idx")) return *idx;  // MNIST files keep many names
  fail("{}: no registered reader claims this file; use one of {}", path, kinds());
}

std::string DataSourceRegistry::kinds() const {
  std::string out;
  for (const auto& source : sources_.entries()) {
    std::string suffixes;
    for (const auto& suffix : source.suffixes) suffixes += (suffixes.empty() ? "" : ", ") + suffix;
    std::string name = source.name;
    for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out += fmt::format("{}{} ({})", out.empty() ? "" : ", ", name, suffixes);
  }
  return out;
}

DataSourceRegistry& data_sources() {
  static DataSourceRegistry registry = with_builtin_sources();
  return registry;
}

torch::Tensor read_data_file(const std::string& path) { return data_sources().for_path(path).read(path); }

DataFile read_data(const std::string& path, const DataKeys& keys) {
  const DataSource& source = data_sources().for_path(path);
  if (source.read_with) return source.read_with(path, keys);
  if (!keys.empty())
    fail(
        "{} is read as {} ({}), which holds one array: data.key and data.labels_key name the arrays of an archive "
        "(.npz); unset them",
        path, source.name, source.description);
  return {source.read(path), torch::Tensor()};
}

}  // namespace dgm
