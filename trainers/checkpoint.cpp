#include "trainers/checkpoint.h"

#include <torch/serialize.h>
#include <torch/torch.h>

#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/torch_archive.h"

namespace dgm {

void save_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer,
                     const TrainingState& state) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive model_archive;
  model.save(model_archive);
  archive.write("model", model_archive);
  if (optimizer != nullptr) {
    torch::serialize::OutputArchive optimizer_archive;
    optimizer->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
  }
  archive.write("step", torch::tensor(state.step, torch::kLong));
  archive.write("epoch_loss_sum", torch::tensor(state.epoch_loss_sum, torch::kFloat64));
  archive.write("epoch_examples", torch::tensor(state.epoch_examples, torch::kLong));
  archive.write("best_validation", torch::tensor(state.best_validation, torch::kFloat64));
  archive.write("batch_parts", torch::tensor(state.batch_parts, torch::kLong));
  // Through dgm's sink: a full disk is an error in dgm's words, and the
  // previous checkpoint stays as it was.
  write_sink_atomically(path, [&](const ByteSink& sink) { archive.save_to(sink); });
}

TrainingState load_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer) {
  if (!std::filesystem::exists(path)) fail("checkpoint {} does not exist", path);
  TrainingState state;
  // LibTorch's Module::load replaces each tensor with what the file holds,
  // whatever its shape; a checkpoint of another architecture would load
  // silently. Compare with the shapes the model was built with.
  std::vector<std::pair<std::string, std::vector<int64_t>>> expected;
  for (const auto& item : model.named_parameters()) expected.emplace_back(item.key(), item.value().sizes().vec());
  for (const auto& item : model.named_buffers()) expected.emplace_back(item.key(), item.value().sizes().vec());
  const auto parameters = model.parameters();
  const auto device = parameters.empty() ? torch::Device(torch::kCPU) : parameters.front().device();
  // A run directory may come from anyone: its pickles are checked by dgm's
  // strict reader (and its records' CRCs) before LibTorch's loader runs.
  check_torchscript_archive(path);
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, device);
    torch::serialize::InputArchive model_archive;
    archive.read("model", model_archive);
    model.load(model_archive);
    if (optimizer != nullptr) {
      torch::serialize::InputArchive optimizer_archive;
      archive.read("optimizer", optimizer_archive);
      optimizer->load(optimizer_archive);
    }
    // A fresh tensor per read: InputArchive::read into a defined tensor keeps
    // that tensor's dtype and reinterprets the bytes.
    auto read_scalar = [&archive](const char* key) {
      torch::Tensor value;
      archive.read(key, value);
      return value;
    };
    state.step = read_scalar("step").item<int64_t>();
    state.epoch_loss_sum = read_scalar("epoch_loss_sum").item<double>();
    state.epoch_examples = read_scalar("epoch_examples").item<int64_t>();
    state.best_validation = read_scalar("best_validation").item<double>();
    // Checkpoints written before data-parallel training have no batch_parts: one part.
    torch::Tensor parts;
    if (archive.try_read("batch_parts", parts)) state.batch_parts = parts.item<int64_t>();
    if (state.batch_parts < 1) fail("checkpoint {}: batch_parts = {} must be at least 1", path, state.batch_parts);
    model.to(device);
  } catch (const c10::Error& e) {
    fail("checkpoint {} cannot be loaded (damaged, or written for another model/config): {}", path,
         first_line(e.what_without_backtrace()));
  }
  auto found_parameters = model.named_parameters();
  auto found_buffers = model.named_buffers();
  for (const auto& [name, shape] : expected) {
    const auto* found = found_parameters.find(name);
    if (found == nullptr) found = found_buffers.find(name);
    if (found != nullptr && found->sizes().vec() != shape)
      fail("checkpoint {} does not fit this model: parameter '{}' has shape {} in the file, the model expects {}", path,
           name, c10::str(found->sizes()), c10::str(torch::IntArrayRef(shape)));
  }
  return state;
}

}  // namespace dgm
