#include "test_support.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "core/random.h"
#include "trainers/trainer.h"

namespace dgm::test {

std::string make_temp_dir(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string unique = name;
  if (info != nullptr) unique += std::string("-") + info->test_suite_name() + "-" + info->name();
  const auto dir = std::filesystem::path(::testing::TempDir()) / ("dgm-" + unique + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

std::string error_message_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

CommandResult run_command(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::array<char, 4096> buffer{};
  std::size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), got);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

CommandResult run_dgm(const std::string& arguments) { return run_command(std::string(DGM_BINARY) + " " + arguments); }

torch::Tensor binary_fashion_mnist(int64_t n, const std::string& split) {
  DataConfig config;
  ImageSet set = load_images(config, split);
  return binarize_seeded(set.x.slice(0, 0, n), 1234);
}

Vae train_small_vae(int64_t n, int64_t epochs, const std::string& dir) {
  DataConfig data;
  data.limit = n;
  ImageSet all = load_images(data, "train");
  TrainValidation split = split_validation(all, n / 10, 0);
  seed_everything(0);
  Vae vae(VaeOptions(784, 10).hidden({200}));
  TrainerOptions options;
  options.epochs = epochs;
  options.batch_size = 100;
  options.out_dir = dir;
  options.progress = false;
  Trainer trainer(vae.ptr(), make_elbo_objective(1), options);
  trainer.fit(split.train, split.validation);
  vae->eval();
  return vae;
}

Vae* TrainedVaeTest::vae_ = nullptr;

void TrainedVaeTest::SetUpTestSuite() { vae_ = new Vae(train_small_vae(10000, 5, make_temp_dir("trained-vae"))); }

void TrainedVaeTest::TearDownTestSuite() {
  delete vae_;
  vae_ = nullptr;
}

LinearGaussianModel::LinearGaussianModel(int64_t dim, double a, double s, Proposal proposal, torch::Dtype dtype)
    : dim_(dim), a_(a), s_(s), proposal_(proposal), dtype_(dtype) {}

std::shared_ptr<Distribution> LinearGaussianModel::prior(int64_t batch) {
  return std::make_shared<DiagNormal>(DiagNormal::standard({batch}, dim_, torch::TensorOptions().dtype(dtype_)));
}

std::shared_ptr<Distribution> LinearGaussianModel::proposal(const torch::Tensor& x, const torch::Tensor&) {
  if (proposal_ == Proposal::kPrior) return prior(x.size(0));
  const double total = a_ * a_ + s_ * s_;
  return std::make_shared<DiagNormal>(a_ * x / total, torch::full_like(x, std::sqrt(s_ * s_ / total)));
}

std::shared_ptr<Distribution> LinearGaussianModel::likelihood(const torch::Tensor& z) {
  return std::make_shared<DiagNormal>(a_ * z, torch::full_like(z, s_));
}

torch::Tensor LinearGaussianModel::log_likelihood(const torch::Tensor& x, const torch::Tensor& z,
                                                  const torch::Tensor& mask) {
  auto elements = DiagNormal(a_ * z, torch::full_like(z, s_)).log_prob_elements(x);
  if (mask.defined()) elements = elements * mask;
  return elements.sum(-1);
}

torch::Tensor LinearGaussianModel::exact_log_marginal(const torch::Tensor& x, const torch::Tensor& mask) const {
  auto elements =
      DiagNormal(torch::zeros_like(x), torch::full_like(x, std::sqrt(a_ * a_ + s_ * s_))).log_prob_elements(x);
  if (mask.defined()) elements = elements * mask;
  return elements.sum(-1);
}

}  // namespace dgm::test
