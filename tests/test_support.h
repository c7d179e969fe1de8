#pragma once
// Helpers shared by the tests: temporary directories, running the dgm
// program, and a linear-Gaussian model whose marginal and posterior are known
// in closed form.

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "core/dataset.h"
#include "estimators/estimator_options.h"
#include "models/gaussian_mixture.h"
#include "models/latent_variable_model.h"
#include "models/ppca.h"
#include "models/sigmoid_belief_net.h"
#include "models/vae.h"
#include "trainers/objective.h"
#include "trainers/trainer.h"

namespace dgm::test {

/// float64 tensors: the checks against closed forms run in double precision.
inline const auto kF64 = torch::TensorOptions().dtype(torch::kFloat64);
/// The source tree's test fixtures and shipped configs (with a trailing '/').
inline const std::string kFixtures = std::string(DGM_SOURCE_DIR) + "/tests/fixtures/";
inline const std::string kConfigs = std::string(DGM_SOURCE_DIR) + "/configs/";
/// Every covariance structure of the Gaussian mixture.
inline const CovarianceType kCovarianceTypes[] = {CovarianceType::kFull, CovarianceType::kTied, CovarianceType::kDiag,
                                                  CovarianceType::kSpherical};

/// A fresh empty directory under the test temp dir.
std::string make_temp_dir(const std::string& name);

struct CommandResult {
  int exit_code;
  std::string output;  ///< stdout and stderr together
};

/// Runs a shell command line, capturing its output.
CommandResult run_command(const std::string& command);

/// Runs the built dgm with `arguments`.
CommandResult run_dgm(const std::string& arguments);

/// The JSON object a command printed (from its first '{' on).
nlohmann::json json_of(const CommandResult& result);

/// The message of the dgm::Error that `action` throws, or "(no error)".
std::string error_message_of(const std::function<void()>& action);

/// The lines of a text file (none when it cannot be read).
std::vector<std::string> lines_of(const std::string& path);

/// One event of a TensorBoard event file, as TensorBoard would read it.
struct TensorBoardEvent {
  double wall_time = 0.0;
  int64_t step = 0;
  std::string file_version;
  /// Summary values: a scalar's tag and value, or an image's tag, sizes and bytes.
  std::string tag;
  bool has_scalar = false;
  float scalar = 0.0f;
  bool has_image = false;
  int64_t height = 0, width = 0, colorspace = 0;
  std::string encoded_image;
  int64_t session_status = 0;  ///< SessionLog.status; 1 = START
};

/// Reads an event file written by core/tensorboard.h with a decoder of its
/// own: each record's length and data CRCs unmasked and checked against
/// CRC-32C, each Event's fields decoded. A bad frame or CRC fails the test.
std::vector<TensorBoardEvent> read_tensorboard_events(const std::string& path);

/// The first n Fashion-MNIST images of `split`, binarized with a fixed seed.
torch::Tensor binary_fashion_mnist(int64_t n, Split split = Split::kTrain);

/// A VAE for Fashion-MNIST (784 values, 28 x 28) with fresh parameters:
/// `latent` dimensions, MLP of `hidden` widths, the other options as given.
Vae make_vae(int64_t latent, std::vector<int64_t> hidden, VaeOptions options = {});

/// VaeOptions with fluent setters, for tests: VaeSpec(784, 10).hidden({200}).build()
/// is a VAE for examples of 784 values with 10 latents. Choices are taken by
/// name (an unknown one throws the library's dgm::Error).
class VaeSpec {
 public:
  VaeSpec(int64_t dim, int64_t latent);
  VaeSpec& hidden(std::vector<int64_t> widths);
  VaeSpec& likelihood(const std::string& name);
  VaeSpec& activation(const std::string& name);
  VaeSpec& network(const std::string& name);
  VaeSpec& image_shape(std::vector<int64_t> shape);
  VaeSpec& conv_channels(std::vector<int64_t> channels);
  VaeSpec& variance(double value);
  VaeSpec& learn_variance(bool learn);
  VaeSpec& second_latent_dim(int64_t dim);
  VaeSpec& second_hidden(std::vector<int64_t> widths);
  Vae build() const;

 private:
  VaeOptions options_;
  DataShape shape_;
};

/// A sigmoid belief net's options: d latent units, enumerated `chunk` at a time.
SigmoidBeliefNetOptions sbn_options(int64_t latent, int64_t chunk = 1024);

/// pPCA with W [d, l] and mu [d] drawn from N(0, 1) under `seed`, noise variance `noise`, in float64.
PpcaImpl random_ppca(int64_t d, int64_t l, double noise, uint64_t seed);

/// n draws x ~ p(x) of a pPCA: [n, D].
torch::Tensor draw_ppca(const PpcaImpl& model, int64_t n);

/// Estimator options for k samples with the ELBO's KL estimated by Monte Carlo.
EstimatorOptions monte_carlo_kl(int64_t k);

/// Per-example variance of `estimate()`'s [B] values over `repeats` seeded
/// repeats, averaged over the examples.
double variance_over_repeats(const std::function<torch::Tensor()>& estimate, int repeats);

/// 3 well separated 2-D Gaussian clusters with known weights, means and full covariances (float64).
GaussianMixture three_clusters();

/// n points drawn from three_clusters() under a fixed seed: [n, 2].
torch::Tensor three_cluster_points(int64_t n);

/// Trainer options for tests: quiet, `epochs` passes of `batch_size`.
TrainerOptions quiet_trainer(int64_t epochs, int64_t batch_size = 100);

/// The objective `name` ("elbo", "iwae", "exact") with k samples (and DReG's gradient).
Objective objective_named(const std::string& name, int64_t k = 1, bool dreg = false);

/// A small VAE (784-200-10) trained for `epochs` on `n` Fashion-MNIST images;
/// the run goes to `dir`.
Vae train_small_vae(int64_t n, int64_t epochs);

/// A fixture with one small VAE trained once per test suite (10,000 images, 5
/// epochs), shared by the tests of a suite.
class TrainedVaeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  static VaeImpl& vae() { return **vae_; }

 private:
  static Vae* vae_;
};

/// z ~ N(0, I_d), x | z ~ N(a * z, s^2 I_d), coordinate by coordinate. Then
/// p(x) = N(0, (a^2 + s^2) I) and p(z | x) = N(a x / (a^2 + s^2), s^2 / (a^2 + s^2)):
/// the exact references for the estimators.
class LinearGaussianModel : public LatentVariableModel {
 public:
  enum class Proposal { kPosterior, kPrior };
  LinearGaussianModel(int64_t dim, double a, double s, Proposal proposal, torch::Dtype dtype = torch::kFloat64);

  std::shared_ptr<Distribution> prior(int64_t batch) override;
  std::shared_ptr<Distribution> proposal(const torch::Tensor& x, const torch::Tensor& mask = {}) override;
  bool proposal_is_posterior() const override { return proposal_ == Proposal::kPosterior; }
  std::shared_ptr<Distribution> likelihood(const torch::Tensor& z) override;
  torch::Tensor log_likelihood(const torch::Tensor& x, const torch::Tensor& z, const torch::Tensor& mask) override;
  int64_t data_dim() const override { return dim_; }
  int64_t latent_dim() const override { return dim_; }

  /// Exact log p(x) of the observed entries: [B].
  torch::Tensor exact_log_marginal(const torch::Tensor& x, const torch::Tensor& mask = {}) const;

 private:
  int64_t dim_;
  double a_, s_;
  Proposal proposal_;
  torch::Dtype dtype_;
};

}  // namespace dgm::test
