#include "test_support.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/random.h"
#include "core/tensorboard.h"
#include "trainers/trainer.h"

namespace dgm::test {

namespace {

// The directories made by the running test, and those a suite's
// SetUpTestSuite made for all its tests. A test (a suite) that passes or is
// skipped takes them with it; a failing one leaves them for the reader of its
// log. Without this every run of the suite left ~50 directories, and their
// checkpoints, in /tmp.
std::vector<std::filesystem::path>& directories_of(bool whole_suite) {
  static std::vector<std::filesystem::path> of_test;
  static std::vector<std::filesystem::path> of_suite;
  return whole_suite ? of_suite : of_test;
}

void remove_unless(bool failed, std::vector<std::filesystem::path>& directories) {
  std::error_code ignored;
  if (!failed)
    for (const auto& dir : directories) std::filesystem::remove_all(dir, ignored);
  directories.clear();
}

class RemoveDirectoriesOfPassedTests : public ::testing::EmptyTestEventListener {
  void OnTestEnd(const ::testing::TestInfo& info) override {
    remove_unless(info.result()->Failed(), directories_of(false));
  }
  void OnTestSuiteEnd(const ::testing::TestSuite& suite) override {
    remove_unless(suite.Failed(), directories_of(true));
  }
};

[[maybe_unused]] const bool kCleanerInstalled = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new RemoveDirectoriesOfPassedTests);
  return true;
}();

}  // namespace

std::string make_temp_dir(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string unique = name;
  if (info != nullptr) unique += std::string("-") + info->test_suite_name() + "-" + info->name();
  const auto dir = std::filesystem::path(::testing::TempDir()) / ("dgm-" + unique + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  directories_of(info == nullptr).push_back(dir);
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

torch::Tensor binary_fashion_mnist(int64_t n, Split split) {
  ImageSet set = load_images(DataOptions{}, split);
  return binarize_seeded(set.x.slice(0, 0, n), 1234);
}

nlohmann::json json_of(const CommandResult& result) {
  const auto start = result.output.find('{');
  if (start == std::string::npos) {
    ADD_FAILURE() << "the command printed no JSON object:\n" << result.output;
    return nlohmann::json::object();
  }
  return nlohmann::json::parse(result.output.substr(start));
}

Vae make_vae(int64_t latent, std::vector<int64_t> hidden, VaeOptions options) {
  options.latent_dim = latent;
  options.hidden = std::move(hidden);
  return Vae(options, DataShape{784, {28, 28}});
}

VaeSpec::VaeSpec(int64_t dim, int64_t latent) : shape_{dim, {}} { options_.latent_dim = latent; }
VaeSpec& VaeSpec::hidden(std::vector<int64_t> widths) {
  options_.hidden = std::move(widths);
  return *this;
}
VaeSpec& VaeSpec::likelihood(const std::string& name) {
  options_.likelihood = parse_enum<Likelihood>(name);
  return *this;
}
VaeSpec& VaeSpec::activation(const std::string& name) {
  options_.activation = parse_enum<Activation>(name);
  return *this;
}
VaeSpec& VaeSpec::network(const std::string& name) {
  options_.network = parse_enum<Network>(name);
  return *this;
}
VaeSpec& VaeSpec::image_shape(std::vector<int64_t> shape) {
  shape_.image_shape = std::move(shape);
  return *this;
}
VaeSpec& VaeSpec::conv_channels(std::vector<int64_t> channels) {
  options_.conv_channels = std::move(channels);
  return *this;
}
VaeSpec& VaeSpec::variance(double value) {
  options_.variance = value;
  return *this;
}
VaeSpec& VaeSpec::learn_variance(bool learn) {
  options_.learn_variance = learn;
  return *this;
}
VaeSpec& VaeSpec::second_latent_dim(int64_t dim) {
  options_.second_latent_dim = dim;
  return *this;
}
VaeSpec& VaeSpec::second_hidden(std::vector<int64_t> widths) {
  options_.second_hidden = std::move(widths);
  return *this;
}
Vae VaeSpec::build() const { return Vae(options_, shape_); }

SigmoidBeliefNetOptions sbn_options(int64_t latent, int64_t chunk) {
  SigmoidBeliefNetOptions options;
  options.latent_dim = latent;
  options.enumeration_chunk = chunk;
  return options;
}

PpcaImpl random_ppca(int64_t d, int64_t l, double noise, uint64_t seed) {
  torch::manual_seed(seed);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  return PpcaImpl(torch::randn({d, l}, f64), torch::randn({d}, f64), noise);
}

torch::Tensor draw_ppca(const PpcaImpl& model, int64_t n) {
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  auto z = torch::randn({n, model.latent_dim()}, f64);
  return z.mm(model.weight().t()) + model.mean() +
         std::sqrt(model.noise_variance()) * torch::randn({n, model.data_dim()}, f64);
}

EstimatorOptions monte_carlo_kl(int64_t k) {
  EstimatorOptions options;
  options.k = k;
  options.analytic_kl = false;
  return options;
}

double variance_over_repeats(const std::function<torch::Tensor()>& estimate, int repeats) {
  std::vector<torch::Tensor> runs;
  for (int r = 0; r < repeats; ++r) {
    seed_everything(static_cast<uint64_t>(100 + r));
    runs.push_back(estimate());
  }
  return torch::stack(runs).var(0).mean().item<double>();
}

GaussianMixture three_clusters() {
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  auto covariances =
      torch::tensor({{{0.5, 0.2}, {0.2, 0.3}}, {{1.0, -0.3}, {-0.3, 0.8}}, {{0.2, 0.0}, {0.0, 0.6}}}, f64);
  return GaussianMixture::from_covariances(torch::tensor({0.5, 0.3, 0.2}, f64),
                                           torch::tensor({{0.0, 0.0}, {6.0, 5.0}, {-5.0, 6.0}}, f64), covariances,
                                           CovarianceType::kFull);
}

torch::Tensor three_cluster_points(int64_t n) {
  seed_everything(1);
  return three_clusters().sample(n).first;
}

TrainerOptions quiet_trainer(int64_t epochs, int64_t batch_size) {
  TrainerOptions options;
  options.epochs = epochs;
  options.batch_size = batch_size;
  options.progress = false;
  return options;
}

Objective objective_named(const std::string& name, int64_t k, bool dreg) {
  ObjectiveOptions options;
  options.objective = name;
  options.k = k;
  options.gradient = dreg ? Gradient::kDreg : Gradient::kStandard;
  return Objective(options);
}

Vae train_small_vae(int64_t n, int64_t epochs) {
  DataOptions data;
  data.limit = n;
  ImageSet all = load_images(data, Split::kTrain);
  TrainValidation split = split_validation(all, n / 10, 0);
  seed_everything(0);
  Vae vae = make_vae(10, {200});
  Trainer trainer(vae.ptr(), objective_named("elbo"), quiet_trainer(epochs));
  trainer.fit(split.train, split.validation);
  vae->eval();
  return vae;
}

Vae* TrainedVaeTest::vae_ = nullptr;

void TrainedVaeTest::SetUpTestSuite() { vae_ = new Vae(train_small_vae(10000, 5)); }

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

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

namespace {

/// A protocol buffer being read: keys, varints, fixed-width and length-delimited fields.
struct WireReader {
  const std::string& bytes;
  std::size_t at = 0;
  bool done() const { return at >= bytes.size(); }
  uint64_t varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at >= bytes.size()) throw std::runtime_error("varint runs past the message");
      const auto byte = static_cast<unsigned char>(bytes[at++]);
      value |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    throw std::runtime_error("varint longer than 10 bytes");
  }
  uint64_t fixed(int width) {
    if (at + static_cast<std::size_t>(width) > bytes.size()) throw std::runtime_error("fixed field runs past");
    uint64_t value = 0;
    for (int i = 0; i < width; ++i) value |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[at++])) << (8 * i);
    return value;
  }
  std::string delimited() {
    const auto length = varint();
    if (at + length > bytes.size()) throw std::runtime_error("length-delimited field runs past");
    std::string out = bytes.substr(at, length);
    at += length;
    return out;
  }
  void skip(int wire_type) {
    if (wire_type == 0)
      varint();
    else if (wire_type == 1)
      fixed(8);
    else if (wire_type == 2)
      delimited();
    else if (wire_type == 5)
      fixed(4);
    else
      throw std::runtime_error("unknown wire type " + std::to_string(wire_type));
  }
};

/// TFRecord's masking undone: crc = rotate_left(masked - 0xa282ead8, 15).
uint32_t unmask(uint32_t masked) {
  const uint32_t rotated = masked - 0xa282ead8u;
  return (rotated << 15) | (rotated >> 17);
}

void decode_image(const std::string& bytes, TensorBoardEvent& event) {
  WireReader image{bytes};
  event.has_image = true;
  while (!image.done()) {
    const auto key = image.varint();
    const int field = static_cast<int>(key >> 3), type = static_cast<int>(key & 7);
    if (field == 1 && type == 0)
      event.height = static_cast<int64_t>(image.varint());
    else if (field == 2 && type == 0)
      event.width = static_cast<int64_t>(image.varint());
    else if (field == 3 && type == 0)
      event.colorspace = static_cast<int64_t>(image.varint());
    else if (field == 4 && type == 2)
      event.encoded_image = image.delimited();
    else
      image.skip(type);
  }
}

void decode_summary(const std::string& bytes, TensorBoardEvent& event) {
  WireReader summary{bytes};
  while (!summary.done()) {
    const auto key = summary.varint();
    if ((key >> 3) != 1 || (key & 7) != 2) {
      summary.skip(static_cast<int>(key & 7));
      continue;
    }
    const std::string value_bytes = summary.delimited();
    WireReader value{value_bytes};
    while (!value.done()) {
      const auto value_key = value.varint();
      const int field = static_cast<int>(value_key >> 3), type = static_cast<int>(value_key & 7);
      if (field == 1 && type == 2) {
        event.tag = value.delimited();
      } else if (field == 2 && type == 5) {
        const auto bits = static_cast<uint32_t>(value.fixed(4));
        std::memcpy(&event.scalar, &bits, sizeof bits);
        event.has_scalar = true;
      } else if (field == 4 && type == 2) {
        decode_image(value.delimited(), event);
      } else {
        value.skip(type);
      }
    }
  }
}

}  // namespace

std::vector<TensorBoardEvent> read_tensorboard_events(const std::string& path) {
  const std::string file = read_text_file(path);
  std::vector<TensorBoardEvent> events;
  std::size_t at = 0;
  auto u32 = [&](std::size_t offset) {
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) value |= static_cast<uint32_t>(static_cast<unsigned char>(file[offset + i])) << (8 * i);
    return value;
  };
  while (at < file.size()) {
    if (at + 12 > file.size()) {
      ADD_FAILURE() << path << ": a frame header cut at byte " << at;
      break;
    }
    const std::string length_bytes = file.substr(at, 8);
    uint64_t length = 0;
    for (int i = 0; i < 8; ++i) length |= static_cast<uint64_t>(static_cast<unsigned char>(file[at + i])) << (8 * i);
    EXPECT_EQ(unmask(u32(at + 8)), crc32c(length_bytes)) << path << ": the length's CRC at byte " << at;
    if (at + 12 + length + 4 > file.size()) {
      ADD_FAILURE() << path << ": a record of " << length << " bytes runs past the file at byte " << at;
      break;
    }
    const std::string data = file.substr(at + 12, length);
    EXPECT_EQ(unmask(u32(at + 12 + length)), crc32c(data)) << path << ": the data's CRC at byte " << at;
    at += 12 + length + 4;
    TensorBoardEvent event;
    WireReader reader{data};
    try {
      while (!reader.done()) {
        const auto key = reader.varint();
        const int field = static_cast<int>(key >> 3), type = static_cast<int>(key & 7);
        if (field == 1 && type == 1) {
          const uint64_t bits = reader.fixed(8);
          std::memcpy(&event.wall_time, &bits, sizeof bits);
        } else if (field == 2 && type == 0) {
          event.step = static_cast<int64_t>(reader.varint());
        } else if (field == 3 && type == 2) {
          event.file_version = reader.delimited();
        } else if (field == 5 && type == 2) {
          decode_summary(reader.delimited(), event);
        } else if (field == 6 && type == 2) {
          const std::string log = reader.delimited();
          WireReader session{log};
          while (!session.done()) {
            const auto session_key = session.varint();
            if (session_key == (1u << 3))
              event.session_status = static_cast<int64_t>(session.varint());
            else
              session.skip(static_cast<int>(session_key & 7));
          }
        } else {
          reader.skip(type);
        }
      }
    } catch (const std::exception& error) {
      ADD_FAILURE() << path << ": " << error.what();
    }
    events.push_back(event);
  }
  return events;
}

}  // namespace dgm::test
