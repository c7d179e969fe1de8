#include "models/torchscript_vae.h"

#include <torch/torch.h>

#include <filesystem>

#include "core/error.h"
#include "core/torch_archive.h"

namespace dgm {
namespace {

torch::jit::Module load_module(const std::string& path, const char* role, torch::Device device) {
  if (!std::filesystem::exists(path)) fail("{} {} does not exist", role, path);
  try {
    check_torchscript_archive(path);  // no crafted pickle reaches LibTorch's loader
  } catch (const Error& e) {
    fail("{} {} is not a TorchScript module (save it with torch.jit.script(module).save(path)): {}", role, path,
         e.what());
  }
  try {
    auto module = torch::jit::load(path, device);
    module.eval();
    return module;
  } catch (const c10::Error& e) {
    fail("{} {} is not a TorchScript module (save it with torch.jit.script(module).save(path)): {}", role, path,
         first_line(e.what_without_backtrace()));
  }
}

/// The module's output as tensors: one tensor, or a tuple of them.
std::vector<torch::Tensor> tensors_of(const c10::IValue& value, const std::string& path) {
  if (value.isTensor()) return {value.toTensor()};
  if (value.isTuple()) {
    std::vector<torch::Tensor> out;
    for (const auto& element : value.toTuple()->elements()) {
      if (!element.isTensor()) fail("{} returned a tuple holding a {}, not tensors", path, element.tagKind());
      out.push_back(element.toTensor());
    }
    return out;
  }
  fail("{} returned a {}; the contract asks for a tensor or a tuple of tensors", path, value.tagKind());
}

/// Runs a module's forward on one input; a failure inside it names the module
/// and the input's shape.
std::vector<torch::Tensor> run_module(torch::jit::Module& module, const torch::Tensor& input, const char* role,
                                      const std::string& path, const char* input_name) {
  try {
    return tensors_of(module.forward({input}), path);
  } catch (const c10::Error& e) {
    fail("{} {} failed on {} of shape {}: {}", role, path, input_name, c10::str(input.sizes()),
         first_line(e.what_without_backtrace()));
  }
}

}  // namespace

TorchScriptVae::TorchScriptVae(const std::string& encoder_path, const std::string& decoder_path, Likelihood likelihood,
                               int64_t data_dim, torch::Device device)
    : encoder_(load_module(encoder_path, "encoder", device)),
      decoder_(load_module(decoder_path, "decoder", device)),
      encoder_path_(encoder_path),
      decoder_path_(decoder_path),
      likelihood_(likelihood),
      data_dim_(data_dim),
      options_(torch::TensorOptions().dtype(torch::kFloat32).device(device)) {
  torch::NoGradGuard no_grad;
  auto [mu, logvar] = encode(torch::zeros({2, data_dim_}, options_));
  latent_dim_ = mu.size(1);
  decode(torch::zeros({3, 2, latent_dim_}, options_));  // checks the decoder on [S, B, D_z]
}

std::string TorchScriptVae::describe() const {
  return fmt::format("TorchScript VAE {} + {} ({} -> {} latent)", encoder_path_, decoder_path_, data_dim_, latent_dim_);
}

std::pair<torch::Tensor, torch::Tensor> TorchScriptVae::encode(const torch::Tensor& x) {
  const auto out = run_module(encoder_, x, "encoder", encoder_path_, "x");
  if (out.size() != 2)
    fail("encoder {} returned {} tensor(s); the contract is a tuple (mu [B, D_z], logvar [B, D_z])", encoder_path_,
         out.size());
  for (int i = 0; i < 2; ++i)
    if (out[i].dim() != 2 || out[i].size(0) != x.size(0) || out[i].sizes() != out[0].sizes())
      fail("encoder {}: output {} ({}) has shape {}, expected [{}, D_z] like mu", encoder_path_, i,
           i == 0 ? "mu" : "logvar", c10::str(out[i].sizes()), x.size(0));
  return {out[0].to(options_), out[1].to(options_)};
}

std::pair<torch::Tensor, torch::Tensor> TorchScriptVae::decode(const torch::Tensor& z) {
  const auto out = run_module(decoder_, z, "decoder", decoder_path_, "z");
  const std::size_t wanted = likelihood_ != Likelihood::kBernoulli ? 2 : 1;
  if (out.size() != wanted)
    fail("decoder {} returned {} tensor(s); for a {} likelihood the contract is {}", decoder_path_, out.size(),
         to_string(likelihood_), wanted == 1 ? "logits [..., D_x]" : "a tuple (mean, logvar), each [..., D_x]");
  std::vector<int64_t> expected(z.sizes().begin(), z.sizes().end() - 1);
  expected.push_back(data_dim_);
  for (const auto& tensor : out)
    if (tensor.sizes().vec() != expected)
      fail("decoder {}: output of shape {} for z of shape {}; expected {}", decoder_path_, c10::str(tensor.sizes()),
           c10::str(z.sizes()), c10::str(torch::IntArrayRef(expected)));
  return {out[0].to(options_), wanted == 2 ? out[1].to(options_) : torch::Tensor()};
}

std::shared_ptr<Distribution> TorchScriptVae::prior(int64_t batch) {
  return std::make_shared<DiagNormal>(DiagNormal::standard({batch}, latent_dim_, options_));
}

std::shared_ptr<Distribution> TorchScriptVae::proposal(const torch::Tensor& x, const torch::Tensor& mask) {
  auto [mu, logvar] = encode(mask.defined() ? x * mask : x);
  return std::make_shared<DiagNormal>(DiagNormal::from_log_var(mu, logvar));
}

std::shared_ptr<Distribution> TorchScriptVae::likelihood(const torch::Tensor& z) {
  auto [first, logvar] = decode(z);
  return decoder_distribution(likelihood_, first, logvar);
}

torch::Tensor TorchScriptVae::log_likelihood(const torch::Tensor& x, const torch::Tensor& z,
                                             const torch::Tensor& mask) {
  auto [first, logvar] = decode(z);
  return decoder_log_likelihood(likelihood_, first, logvar, x, mask);
}

}  // namespace dgm
