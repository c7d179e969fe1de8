#pragma once
// A VAE trained elsewhere (in Python, usually), as a LatentVariableModel: an
// encoder and a decoder saved with torch.jit.script(...).save(...), under this
// contract:
//   encoder(x [B, D_x], floats in [0, 1]) -> (mu [B, D_z], logvar [B, D_z])
//   decoder(z [..., D_z]) -> Bernoulli logits [..., D_x]
//                            (gaussian: a tuple (mean, logvar), each [..., D_x])
// The prior is N(0, I). Every estimator then runs on it as on a native model.

#include <torch/script.h>

#include <string>

#include "models/latent_variable_model.h"
#include "models/likelihood.h"

namespace dgm {

class TorchScriptVae : public LatentVariableModel {
 public:
  /// Loads both files (a missing or corrupt file is a dgm::Error naming it),
  /// checks the contract on a probe batch of `data_dim` zeros (a broken
  /// contract is a dgm::Error naming the output, the expected and the found
  /// shape), and moves the modules to `device`.
  TorchScriptVae(const std::string& encoder_path, const std::string& decoder_path, Likelihood likelihood,
                 int64_t data_dim, torch::Device device);

  std::shared_ptr<Distribution> prior(int64_t batch) override;
  /// The encoder's q(z | x); under a mask, missing entries are set to 0 first.
  std::shared_ptr<Distribution> proposal(const torch::Tensor& x, const torch::Tensor& mask = {}) override;
  std::shared_ptr<Distribution> likelihood(const torch::Tensor& z) override;
  torch::Tensor log_likelihood(const torch::Tensor& x, const torch::Tensor& z, const torch::Tensor& mask = {}) override;
  int64_t data_dim() const override { return data_dim_; }
  int64_t latent_dim() const override { return latent_dim_; }
  bool needs_unit_interval() const override { return likelihood_ == Likelihood::kBernoulli; }
  std::string describe() const override;

 private:
  std::pair<torch::Tensor, torch::Tensor> encode(const torch::Tensor& x);
  /// Decoder output: {logits or mean, logvar (gaussian only)}.
  std::pair<torch::Tensor, torch::Tensor> decode(const torch::Tensor& z);
  torch::jit::Module encoder_, decoder_;
  std::string encoder_path_, decoder_path_;
  Likelihood likelihood_;
  int64_t data_dim_, latent_dim_ = 0;
  torch::TensorOptions options_;
};

}  // namespace dgm
