#pragma once
// Experiment configuration: YAML (yaml-cpp) mapped one to one onto typed
// structs with inline defaults. Keys are grouped data.*, model.*, train.*,
// eval.*. Every mistake (unknown key, wrong type, value out of range) is a
// dgm::Error that names the file, the line and the key, and suggests the
// nearest valid key.

#include <cstdint>
#include <string>
#include <vector>

namespace dgm {

/// Where Debian's dataset-fashion-mnist package puts its IDX files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

struct DataConfig {
  /// An IDX directory (train-images-idx3-ubyte[.gz], t10k-images-idx3-ubyte[.gz])
  /// or one IDX / NPY file of training images. Default: Debian's Fashion-MNIST.
  std::string path = kFashionMnistDir;
  /// The test images when `path` is a single file. Default: none.
  std::string test_path;
  /// dynamic (resampled every epoch), fixed (sampled once, seeded) or none.
  std::string binarize = "dynamic";
  /// Training examples held out (seeded) for validation (at least 1). Default: 5000.
  int64_t val_size = 5000;
  /// Use only the first N training examples (0 = all). Default: 0.
  int64_t limit = 0;
};

struct ModelConfig {
  /// Model family. Default: vae.
  std::string type = "vae";
  /// Latent dimensions. Default: 20.
  int64_t latent_dim = 20;
  /// Hidden layer widths of the encoder; the decoder mirrors them (with
  /// network conv: the dense layers between the feature maps and z). Default: [400].
  std::vector<int64_t> hidden{400};
  /// mlp, or conv (convolutions, 4x4 stride 2, for pictures). Default: mlp.
  std::string network = "mlp";
  /// network conv: channels after each convolution. Default: [32, 64].
  std::vector<int64_t> conv_channels{32, 64};
  /// relu, tanh, elu, leaky_relu, softplus or gelu. Default: relu.
  std::string activation = "relu";
  /// bernoulli (binary or [0,1] data, logits) or gaussian (continuous data).
  std::string likelihood = "bernoulli";
  /// Gaussian likelihood only: learn one variance per pixel (true) or keep it fixed.
  bool learn_variance = true;
  /// Gaussian likelihood only: the (initial) per-pixel variance. Default: 1.
  double variance = 1.0;
  /// A second stochastic layer z2 of this size above z1 (latent_dim), as in the
  /// IWAE paper's two-layer model; 0 = one layer. Default: 0.
  int64_t second_latent_dim = 0;
  /// Hidden widths of q(z2 | z1); p(z1 | z2) mirrors them. Default: [].
  std::vector<int64_t> second_hidden;
  /// Initialise the output layer's bias from the training data's mean (the
  /// log-odds for bernoulli), as the IWAE paper did. Default: false.
  bool output_bias_from_data = false;
};

struct TrainConfig {
  int64_t epochs = 10;
  int64_t batch_size = 128;
  /// Adam learning rate. Default: 1e-3.
  double lr = 1e-3;
  /// Adam's epsilon. Default: 1e-8 (the IWAE paper used 1e-4).
  double adam_eps = 1e-8;
  /// Epochs after which the learning rate is multiplied by lr_gamma, as
  /// PyTorch's MultiStepLR (the IWAE paper: [1, 4, 13, 40, 121, 364, 1093]). Default: [].
  std::vector<int64_t> lr_milestones;
  /// The factor of each milestone. Default: 0.1 (the IWAE paper: 10^(-1/7) = 0.7197).
  double lr_gamma = 0.1;
  /// Fixes every random draw (initialisation, split, batches, binarization, z).
  uint64_t seed = 0;
  /// elbo, iwae (the importance-weighted bound with k samples) or exact (the
  /// exact log-likelihood, for models with a closed form or a finite latent space).
  std::string objective = "elbo";
  /// Samples per example for the objective. Default: 1.
  int64_t k = 1;
  /// iwae only: standard (the gradient of the bound through autograd) or dreg
  /// (the doubly reparameterized gradient for the encoder, Tucker et al. 2018:
  /// the same expectation, lower variance). Default: standard.
  std::string gradient = "standard";
  /// elbo only: the weight of the KL term (beta-VAE). Default: 1.
  double beta = 1.0;
  /// elbo only: KL warm-up, the weight rising linearly from 0 to beta over these steps. Default: 0.
  int64_t warmup_steps = 0;
  /// elbo only: free bits, nats per latent dimension (batch-averaged KL floor). Default: 0.
  double free_bits = 0.0;
  /// Clip the gradient's global L2 norm to this value (0 = off). Default: 0.
  double grad_clip = 0.0;
  /// auto, cpu, cuda or cuda:N. Default: auto.
  std::string device = "auto";
  /// float32 or float64 for parameters and data. Default: float32.
  std::string dtype = "float32";
  /// LibTorch intra-op CPU threads (0 = auto: 1, as OpenBLAS threads the matrix products). Default: 0.
  int64_t threads = 0;
};

struct EvalConfig {
  /// Importance samples per example for the IWAE bound. Default: 5000.
  int64_t k = 5000;
  /// Examples per evaluation batch. Default: 100.
  int64_t batch_size = 100;
  /// Samples per chunk: bounds memory at chunk x batch_size x data size. Default: 250.
  int64_t chunk = 250;
  /// test or train. Default: test.
  std::string split = "test";
  uint64_t seed = 0;
};

struct Config {
  DataConfig data;
  ModelConfig model;
  TrainConfig train;
  EvalConfig eval;
};

/// Loads `path` and applies `overrides` ("section.key=value", the value in
/// YAML syntax, e.g. "model.hidden=[512,256]"), then validates.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});

/// Parses YAML text (named `source` in error messages) with overrides.
Config parse_config(const std::string& text, const std::string& source, const std::vector<std::string>& overrides = {});

/// The complete config as YAML, every key written; parse_config of it gives
/// the same Config back.
std::string config_to_yaml(const Config& config);

/// Every valid key, "section.key", in file order.
std::vector<std::string> config_keys();

/// The valid key nearest to `key` by edit distance ("" when none is close).
std::string nearest_key(const std::string& key, const std::vector<std::string>& candidates);

}  // namespace dgm
