#pragma once
// The kinds of data file dgm reads, one registered reader each, told apart by
// the file's name: NPY (.npy), NPZ (.npz), CSV (.csv) and MNIST's IDX
// (*-ubyte, gzip or raw; also any name no other reader claims, as the MNIST
// files are often renamed). Every reader gives a CPU tensor [N, ...] in the file's dtype and
// names the file in each error. A new kind of file is one reader and one
// registration:
//
//   static const dgm::RegisterDataSource npz({"npz", "NumPy archives", {".npz"}, read_npz});

#include <torch/types.h>

#include <functional>
#include <string>
#include <vector>

#include "core/registry.h"

namespace dgm {

/// Which arrays to take from an archive of several (NPZ): data.key and
/// data.labels_key.
struct DataKeys {
  /// The examples' array; empty: the archive's only one.
  std::string key;
  /// Their labels' array (integers, one per example, -1 unknown); empty: none.
  std::string labels_key;
  bool empty() const { return key.empty() && labels_key.empty(); }
};

/// What a data file gives: the examples [N, ...] and, where the file holds
/// them, their labels (int64 [N], or undefined).
struct DataFile {
  torch::Tensor x;
  torch::Tensor labels;
};

struct DataSource {
  /// Short name, e.g. "npy".
  std::string name;
  /// What it reads, for messages: "NumPy arrays".
  std::string description;
  /// The name endings it claims, e.g. {".npy"}.
  std::vector<std::string> suffixes;
  /// Reads the file into a CPU tensor [N, ...]; a bad file is a dgm::Error naming it.
  std::function<torch::Tensor(const std::string& path)> read;
  /// Optional, for files of several arrays or with labels inside (NPZ): reads
  /// the examples, and their labels, as `keys` say. Without it, keys are
  /// refused for this kind of file.
  std::function<DataFile(const std::string& path, const DataKeys& keys)> read_with = nullptr;
};

class DataSourceRegistry {
 public:
  /// Adds a reader; a name taken twice is a dgm::Error.
  void add(DataSource source) { sources_.add(std::move(source)); }
  /// The reader whose suffix `path` ends with, or nullptr.
  const DataSource* claiming(const std::string& path) const;
  /// The reader for `path`: the one claiming it, else IDX (MNIST files keep many names).
  const DataSource& for_path(const std::string& path) const;
  const std::vector<DataSource>& sources() const { return sources_.entries(); }
  /// "NPY (.npy), CSV (.csv), IDX (-ubyte, -ubyte.gz)".
  std::string kinds() const;

 private:
  Registry<DataSource> sources_{"data source"};
};

/// Every reader dgm knows: the built-in ones, then those registered since.
DataSourceRegistry& data_sources();

/// Registers a reader when constructed (a static object in a program or test).
struct RegisterDataSource {
  explicit RegisterDataSource(DataSource source) { data_sources().add(std::move(source)); }
};

/// Reads a data file with the reader its name calls for.
torch::Tensor read_data_file(const std::string& path);

/// The same, with the arrays `keys` name and the labels the file holds.
DataFile read_data(const std::string& path, const DataKeys& keys);

/// Whether `text` ends with `suffix` (a file's extension: ".npy", "-ubyte.gz").
bool ends_with(const std::string& text, const std::string& suffix);

}  // namespace dgm
