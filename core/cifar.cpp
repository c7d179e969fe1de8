#include "core/cifar.h"

#include <torch/torch.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/memory_budget.h"

namespace dgm {
namespace fs = std::filesystem;

namespace {

constexpr int64_t kPixels = 3 * 32 * 32;

}  // namespace

bool is_cifar100_file(const std::string& path) {
  const std::string name = fs::path(path).filename().string();
  return name == "train.bin" || name == "test.bin";
}

DataFile read_cifar(const std::string& path) {
  const bool hundred = is_cifar100_file(path);
  const int64_t label_bytes = hundred ? 2 : 1, record = label_bytes + kPixels;
  std::error_code error;
  const auto size = fs::file_size(path, error);
  if (error) fail("cannot read the size of {}: {}", path, error.message());
  const char* layout = hundred ? "CIFAR-100 (a coarse and a fine label byte, then 3,072 pixel bytes)"
                               : "CIFAR-10 (a label byte, then 3,072 pixel bytes)";
  if (size == 0 || size % static_cast<uint64_t>(record) != 0)
    fail("{} has {} bytes, not a whole number of {}-byte records of {}{}", path, size, record, layout,
         hundred ? "" : "; CIFAR-100's files are named train.bin and test.bin");
  const int64_t n = static_cast<int64_t>(size / static_cast<uint64_t>(record));
  check_memory(saturating_product({static_cast<uint64_t>(size), 2}), fmt::format("{} ({} images)", path, n),
               "raise --memory-limit");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open {}: {}", path, std::strerror(errno));
  auto raw = torch::empty({n, record}, torch::kUInt8);
  in.read(reinterpret_cast<char*>(raw.data_ptr<uint8_t>()), static_cast<std::streamsize>(size));
  if (static_cast<uint64_t>(in.gcount()) != size)
    fail("{} could not be read to its end ({} of {} bytes): {}", path, in.gcount(), size, std::strerror(errno));
  DataFile file;
  file.x = raw.slice(1, label_bytes).reshape({n, 3, 32, 32}).contiguous();
  file.labels = raw.select(1, label_bytes - 1).to(torch::kLong);  // CIFAR-100: the fine label
  const int64_t classes = hundred ? 100 : 10;
  if (file.labels.max().item<int64_t>() >= classes) {
    const int64_t row = (file.labels >= classes).nonzero()[0][0].item<int64_t>();
    fail("{}: record {} has the label {}, but {} has {} classes: not a {} batch{}", path, row,
         file.labels[row].item<int64_t>(), hundred ? "CIFAR-100" : "CIFAR-10", classes,
         hundred ? "CIFAR-100" : "CIFAR-10", hundred ? "" : " (CIFAR-100's files are named train.bin and test.bin)");
  }
  return file;
}

std::vector<std::string> cifar_batches(const std::string& dir, bool train) {
  std::error_code error;
  auto at = [&](const std::string& name) { return (fs::path(dir) / name).string(); };
  if (fs::exists(at("data_batch_1.bin"), error) || fs::exists(at("test_batch.bin"), error)) {
    if (!train) return {at("test_batch.bin")};
    std::vector<std::string> batches;
    for (int b = 1; fs::exists(at(fmt::format("data_batch_{}.bin", b)), error); ++b)
      batches.push_back(at(fmt::format("data_batch_{}.bin", b)));
    return batches;
  }
  if (fs::exists(at("train.bin"), error) || fs::exists(at("test.bin"), error))
    return {at(train ? "train.bin" : "test.bin")};
  return {};
}

DataFile read_cifar_batches(const std::vector<std::string>& paths) {
  std::vector<torch::Tensor> xs, labels;
  for (const auto& path : paths) {
    std::error_code error;
    if (!fs::exists(path, error)) fail("{} does not exist: the CIFAR directory lacks this batch", path);
    DataFile file = read_cifar(path);
    xs.push_back(file.x);
    labels.push_back(file.labels);
  }
  if (xs.empty()) fail("no CIFAR batch files given");
  if (xs.size() == 1) return {xs[0], labels[0]};
  return {torch::cat(xs), torch::cat(labels)};
}

}  // namespace dgm
