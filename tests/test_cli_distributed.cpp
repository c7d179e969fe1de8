// dgm as several processes on c10d's Gloo group, on 127.0.0.1: train, gmm
// fit and eval as two processes against one, through the environment a
// scheduler sets and through torchrun; a rank that dies or hangs ends the run with a
// message; commands that run as one process say so. The device is the CPU
// unless DGM_TEST_DISTRIBUTED_DEVICE says otherwise (scripts/gpu-check sets
// it to cuda on a machine with two GPUs, so the same tests check NCCL).

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <torch/version.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/npy.h"
#include "core/process_group.h"
#include "core/random.h"
#include "models/gaussian_mixture_io.h"
#include "test_support.h"
#include "trainers/run_directory.h"

namespace dgm {
namespace {

using test::json_of;
using test::run_command;
using test::run_dgm;

/// `--device D` for the commands of these tests.
std::string device_option() {
  const char* device = std::getenv("DGM_TEST_DISTRIBUTED_DEVICE");
  return std::string("--device ") + (device != nullptr && *device != '\0' ? device : "cpu");
}

/// A TCP port on 127.0.0.1 that nothing listens on now.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct RankResult {
  int exit_code = -1;
  std::string stdout_text, stderr_text;
};

/// dgm `arguments` as `world` processes started with the variables torchrun
/// sets (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), plus `extra`.
std::vector<RankResult> run_ranks(const std::string& dir, const std::string& arguments, int world = 2,
                                  const std::string& extra = "") {
  const int port = free_port();
  std::string script;
  for (int rank = 0; rank < world; ++rank) {
    const std::string base = dir + "/rank" + std::to_string(rank);
    script += "(RANK=" + std::to_string(rank) + " LOCAL_RANK=" + std::to_string(rank) +
              " WORLD_SIZE=" + std::to_string(world) + " MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) +
              " " + extra + " " + DGM_BINARY + " " + arguments + " > " + base + ".out 2> " + base + ".err; echo $? > " +
              base + ".rc) & ";
  }
  run_command(script + "wait");
  std::vector<RankResult> results(static_cast<std::size_t>(world));
  for (int rank = 0; rank < world; ++rank) {
    const std::string base = dir + "/rank" + std::to_string(rank);
    auto& result = results[static_cast<std::size_t>(rank)];
    result.exit_code = std::stoi("0" + read_text(base + ".rc"));
    result.stdout_text = read_text(base + ".out");
    result.stderr_text = read_text(base + ".err");
  }
  return results;
}

nlohmann::json json_text(const std::string& text) { return nlohmann::json::parse(text.substr(text.find('{'))); }

/// 3,000 points of three 4-D clusters, with every fifth point's third value missing when `holes`.
std::string write_points_file(const std::string& dir, bool holes) {
  seed_everything(11);
  auto centres = torch::tensor({{0.0, 0.0, 0.0, 0.0}, {5.0, 0.0, 2.0, 0.0}, {0.0, 5.0, 0.0, -3.0}}, torch::kFloat64);
  auto labels = torch::randint(3, {3000}, torch::kLong);
  auto x = centres.index_select(0, labels) + torch::randn({3000, 4}, torch::kFloat64) * 0.8;
  if (holes) x.slice(0, 0, 3000, 5).select(1, 2).fill_(std::nan(""));
  const std::string path = dir + (holes ? "/holes.npy" : "/points.npy");
  write_npy(path, x);
  return path;
}

void expect_same_fit(const nlohmann::json& one, const nlohmann::json& two, const std::string& what) {
  EXPECT_EQ(one.at("n_iter"), two.at("n_iter")) << what;
  EXPECT_EQ(one.at("n"), two.at("n")) << what;
  EXPECT_EQ(one.at("reseeded"), two.at("reseeded")) << what;
  EXPECT_EQ(two.at("processes"), 2) << what;
  const auto a = one.at("history").get<std::vector<double>>(), b = two.at("history").get<std::vector<double>>();
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-10) << what << ", iteration " << i + 1;
  for (const char* key : {"lower_bound", "mean_log_likelihood"})
    EXPECT_NEAR(one.at(key).get<double>(), two.at(key).get<double>(), 1e-10) << what << ": " << key;
  for (const char* key : {"bic", "aic"})
    EXPECT_NEAR(one.at(key).get<double>(), two.at(key).get<double>(), 1e-6) << what << ": " << key;
}

TEST(CliDistributed, GmmFitAsTwoProcessesFollowsOneProcess) {
  const auto dir = test::make_temp_dir("distributed-gmm");
  const std::string points = write_points_file(dir, false), holes = write_points_file(dir, true);
  struct Case {
    std::string data, options;
  };
  // Every initialisation, every covariance type, missing values, re-seeding.
  const Case cases[] = {
      {points, "-k 3 --init kmeans --covariance full"},
      {points, "-k 3 --init k-means++ --covariance diag --n-init 2"},
      {points, "-k 3 --init random --covariance spherical"},
      {points, "-k 3 --init random_from_data --covariance tied"},
      {holes, "-k 3 --init kmeans --covariance full --max-iter 15"},
      {points, "-k 30 --covariance diag --reseed-collapsed --min-component-points 120 --max-iter 8"},
  };
  int index = 0;
  for (const auto& [data, options] : cases) {
    const std::string arguments = "gmm fit --data " + data + " " + options + " --json";
    const std::string out = dir + "/fit" + std::to_string(index++);
    auto one = run_dgm(arguments + " --out " + out + "-one");
    ASSERT_EQ(one.exit_code, 0) << one.output;
    auto ranks = run_ranks(dir, arguments + " --out " + out + "-two");
    ASSERT_EQ(ranks[0].exit_code, 0) << ranks[0].stderr_text;
    ASSERT_EQ(ranks[1].exit_code, 0) << ranks[1].stderr_text;
    EXPECT_EQ(ranks[1].stdout_text, "") << "rank 1 prints nothing";
    expect_same_fit(json_of(one), json_text(ranks[0].stdout_text), options);
    // The saved mixtures agree to float rounding (rank 0 wrote the second).
    const auto a = load_mixture(out + "-one", torch::kCPU, torch::kFloat64);
    const auto b = load_mixture(out + "-two", torch::kCPU, torch::kFloat64);
    EXPECT_TRUE(torch::allclose(a.weights(), b.weights(), 1e-9, 1e-12)) << options;
    EXPECT_TRUE(torch::allclose(a.means(), b.means(), 1e-9, 1e-12)) << options;
    EXPECT_TRUE(torch::allclose(a.precision_cholesky(), b.precision_cholesky(), 1e-8, 1e-10)) << options;
  }
  // A second cross-check of the sharded sums: three processes, an uneven split.
  auto one = run_dgm("gmm fit --data " + points + " -k 3 --json");
  auto three = run_ranks(dir, "gmm fit --data " + points + " -k 3 --json", 3);
  for (const auto& rank : three) ASSERT_EQ(rank.exit_code, 0) << rank.stderr_text;
  auto three_json = json_text(three[0].stdout_text);
  EXPECT_EQ(three_json.at("processes"), 3);
  three_json["processes"] = 2;  // expect_same_fit checks the two-process figure
  expect_same_fit(json_of(one), three_json, "three processes");
}

TEST(CliDistributed, EvalAsTwoProcessesEqualsOneProcess) {
  const auto dir = test::make_temp_dir("distributed-eval");
  const std::string run = dir + "/run";
  auto train =
      run_dgm("train --config " + test::kConfigs +
              "vae.yaml --set data.limit=1000 --set data.val_size=100 --set train.epochs=1 " + device_option() +
              " "
              "--quiet --out " +
              run);
  ASSERT_EQ(train.exit_code, 0) << train.output;
  // 250 examples in batches of 100: rank 0 evaluates two batches, rank 1 one.
  const std::string arguments =
      "eval --run " + run + " --limit 250 --batch-size 100 --k 20 --ais 4 --chains 3 " + device_option() + " --json";
  auto one = run_dgm(arguments);
  ASSERT_EQ(one.exit_code, 0) << one.output;
  auto ranks = run_ranks(dir, arguments);
  ASSERT_EQ(ranks[0].exit_code, 0) << ranks[0].stderr_text;
  ASSERT_EQ(ranks[1].exit_code, 0) << ranks[1].stderr_text;
  EXPECT_EQ(ranks[1].stdout_text, "");
  const auto a = json_of(one), b = json_text(ranks[0].stdout_text);
  EXPECT_EQ(b.at("processes"), 2);
  EXPECT_EQ(a.at("n"), b.at("n"));
  // Each batch has its own seed: the same draws, so the same figures.
  for (const char* key : {"elbo", "elbo_stderr", "iwae", "iwae_stderr", "ais", "ais_stderr", "ais_acceptance"})
    EXPECT_NEAR(a.at(key).get<double>(), b.at(key).get<double>(), 1e-9) << key;
}

/// Every parameter of the two runs' last checkpoints, as close as float rounding allows.
void expect_same_parameters(const std::string& a_dir, const std::string& b_dir, const std::string& what) {
  const auto a = load_run(a_dir, torch::kCPU), b = load_run(b_dir, torch::kCPU);
  const auto a_parameters = a.model->named_parameters(), b_parameters = b.model->named_parameters();
  ASSERT_EQ(a_parameters.size(), b_parameters.size()) << what;
  for (const auto& item : a_parameters) {
    const auto& other = b_parameters[item.key()];
    EXPECT_TRUE(torch::allclose(item.value(), other, 1e-5, 1e-6))
        << what << ": " << item.key() << " differs by " << (item.value() - other).abs().max().item<double>();
  }
}

std::vector<double> metric_column(const std::string& run, const std::string& key) {
  std::vector<double> values;
  std::istringstream lines(read_text(run + "/metrics.jsonl"));
  for (std::string line; std::getline(lines, line);) values.push_back(nlohmann::json::parse(line).at(key));
  return values;
}

TEST(CliDistributed, TrainAsTwoProcessesEqualsOneProcessOfTwoParts) {
  const auto dir = test::make_temp_dir("distributed-train");
  // 900 training examples in batches of 128: the last batch of each epoch
  // (4 rows) is split 2 + 2 too.
  const std::string arguments = "train --config " + test::kConfigs +
                                "vae.yaml --set data.limit=1000 --set data.val_size=100 " + device_option() +
                                " --quiet";
  auto ranks = run_ranks(dir, arguments + " --set train.epochs=2 --out " + dir + "/two");
  ASSERT_EQ(ranks[0].exit_code, 0) << ranks[0].stderr_text;
  ASSERT_EQ(ranks[1].exit_code, 0) << ranks[1].stderr_text;
  EXPECT_EQ(ranks[1].stdout_text, "") << "rank 1 prints nothing";
  EXPECT_EQ(ranks[1].stderr_text, "") << "rank 1 prints nothing";
  // One process computing each step's batch in the same two parts, one after
  // the other (each part's draws seeded as on its process): the same run.
  auto one = run_dgm(arguments + " --set train.epochs=2 --set train.micro_batches=2 --out " + dir + "/one");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  expect_same_parameters(dir + "/one", dir + "/two", "2 processes vs 1 process of 2 parts");
  const auto a = metric_column(dir + "/one", "val_elbo"), b = metric_column(dir + "/two", "val_elbo");
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-4) << "epoch " << i + 1;
  const auto loss_a = metric_column(dir + "/one", "train_loss"), loss_b = metric_column(dir + "/two", "train_loss");
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(loss_a[i], loss_b[i], 1e-4) << "epoch " << i + 1;
  // Training did something: the parts are not a copy of one process's run.
  auto plain = run_dgm(arguments + " --set train.epochs=2 --out " + dir + "/plain");
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  EXPECT_NE(metric_column(dir + "/plain", "val_elbo").back(), b.back());
  EXPECT_NEAR(metric_column(dir + "/plain", "val_elbo").back(), b.back(), 5.0) << "the same model, other draws";

  // Resume: one epoch as two processes, continued as two processes (or as one
  // of two parts), is the two-epoch run; as one process of one part it is refused.
  ranks = run_ranks(dir, arguments + " --set train.epochs=1 --out " + dir + "/half");
  ASSERT_EQ(ranks[0].exit_code, 0) << ranks[0].stderr_text;
  ASSERT_EQ(ranks[1].exit_code, 0) << ranks[1].stderr_text;
  std::filesystem::copy(dir + "/half", dir + "/half-one", std::filesystem::copy_options::recursive);
  auto refused = run_dgm("train --resume --out " + dir + "/half --set train.epochs=2 " + device_option() + " --quiet");
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("cannot resume: the run split each step's batch into 2 parts"), std::string::npos)
      << refused.output;
  ranks = run_ranks(dir, "train --resume --out " + dir + "/half --set train.epochs=2 " + device_option() + " --quiet");
  ASSERT_EQ(ranks[0].exit_code, 0) << ranks[0].stderr_text;
  ASSERT_EQ(ranks[1].exit_code, 0) << ranks[1].stderr_text;
  expect_same_parameters(dir + "/two", dir + "/half", "resumed as 2 processes");
  auto resumed = run_dgm("train --resume --out " + dir + "/half-one --set train.epochs=2 --set train.micro_batches=2 " +
                         device_option() + " --quiet");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  expect_same_parameters(dir + "/two", dir + "/half-one", "resumed as 1 process of 2 parts");
}

TEST(CliDistributed, EstimateAsTwoProcessesEqualsOneProcess) {
  const auto dir = test::make_temp_dir("distributed-estimate");
  // 250 examples in batches of 100: rank 0 estimates two batches, rank 1 one.
  const std::string arguments =
      "estimate --model ppca --n 250 --batch-size 100 --estimators is,iwae,elbo,ais --k 1,10 --repeats 2 "
      "--ais-steps 3 --chains 2 --leapfrog 2 " +
      device_option() + " --json";
  auto one = run_dgm(arguments);
  ASSERT_EQ(one.exit_code, 0) << one.output;
  auto ranks = run_ranks(dir, arguments);
  ASSERT_EQ(ranks[0].exit_code, 0) << ranks[0].stderr_text;
  ASSERT_EQ(ranks[1].exit_code, 0) << ranks[1].stderr_text;
  EXPECT_EQ(ranks[1].stdout_text, "");
  const auto a = json_of(one), b = json_text(ranks[0].stdout_text);
  EXPECT_NEAR(a.at("exact").get<double>(), b.at("exact").get<double>(), 1e-9);
  int rows = 0;
  for (const auto& [name, by_k] : a.at("estimators").items())
    for (const auto& [k, entry] : by_k.items()) {
      const auto& other = b.at("estimators").at(name).at(k);
      for (const char* key : {"mean", "sd_over_repeats", "mean_ess", "acceptance"})
        if (entry.contains(key))
          EXPECT_NEAR(entry.at(key).get<double>(), other.at(key).get<double>(), 1e-9)
              << name << " k " << k << ": " << key;
      ++rows;
    }
  EXPECT_EQ(rows, 7) << "is, iwae and elbo at two k, ais at its chains";
}

TEST(CliDistributed, TorchrunStartsTheProcesses) {
  if (!std::filesystem::exists("/usr/bin/torchrun")) GTEST_SKIP() << "no /usr/bin/torchrun (python3-torch)";
  const auto dir = test::make_temp_dir("distributed-torchrun");
  const std::string points = write_points_file(dir, false);
  // Debian's torchrun 1.13 under Python 3.11 needs -r 1 -t 1 (README).
  auto result =
      run_command("/usr/bin/torchrun --no_python --nproc_per_node=2 -r 1 -t 1 --master_port " +
                  std::to_string(free_port()) + " " + DGM_BINARY + " gmm fit --data " + points + " -k 3 --json 2>&1");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  auto one = run_dgm("gmm fit --data " + points + " -k 3 --json");
  expect_same_fit(json_of(one), json_of(result), "torchrun");
}

/// 200,000 points: EM on them runs long enough to stop a rank in the middle.
std::string write_long_fit(const std::string& dir) {
  seed_everything(5);
  write_npy(dir + "/long.npy", torch::randn({200000, 10}, torch::kFloat64));
  return "gmm fit --data " + dir + "/long.npy -k 20 --tol 0 --max-iter 1000000";
}

TEST(CliDistributed, ARankThatDiesOrHangsEndsTheRunWithAMessage) {
  const auto dir = test::make_temp_dir("distributed-failure");
  const std::string arguments = write_long_fit(dir);
  for (const std::string signal : {"KILL", "STOP"}) {
    // Rank 1 in the background, stopped (killed or frozen) once both are in EM.
    const std::string rank1 = dir + "/rank1-" + signal;
    const std::string script = "export WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(free_port()) +
                               " DGM_PROCESS_GROUP_TIMEOUT=4; RANK=1 " + DGM_BINARY + " " + arguments + " > " + rank1 +
                               ".log 2>&1 & pid=$!; (sleep 6; kill -" + signal + " $pid) & RANK=0 " + DGM_BINARY + " " +
                               arguments + " 2>&1; rc=$?; kill -9 $pid 2>/dev/null; wait; exit $rc";
    const auto start = std::chrono::steady_clock::now();
    auto result = run_command(script);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(result.exit_code, 1) << signal << ": " << result.output;
    EXPECT_NE(result.output.find("rank 0 of 2: a sum over the process group failed"), std::string::npos)
        << signal << ": " << result.output;
    EXPECT_NE(result.output.find("another process of this run stopped"), std::string::npos) << result.output;
    EXPECT_LT(seconds, 60.0) << signal;
  }
  // A rank that never comes: rank 0 gives up joining after the timeout.
  auto alone = run_command("RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(free_port()) +
                           " DGM_PROCESS_GROUP_TIMEOUT=2 " + DGM_BINARY + " " + arguments + " 2>&1");
  EXPECT_EQ(alone.exit_code, 1) << alone.output;
  EXPECT_NE(alone.output.find("could not join the process group at 127.0.0.1:"), std::string::npos) << alone.output;
}

TEST(CliDistributed, CommandsOfOneProcessAndBadVariablesSaySo) {
  const auto dir = test::make_temp_dir("distributed-refused");
  const std::string points = write_points_file(dir, false);
  auto sample = run_command("RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=1 " + std::string(DGM_BINARY) +
                            " gmm sample --model " + dir + " --out " + dir + "/x.npy 2>&1");
  EXPECT_EQ(sample.exit_code, 1);
  EXPECT_NE(sample.output.find("dgm gmm sample runs as one process, but it was started as rank 0 of WORLD_SIZE = 2"),
            std::string::npos)
      << sample.output;
  const std::pair<std::string, std::string> bad[] = {
      {"RANK=0 WORLD_SIZE=2 MASTER_PORT=5", "MASTER_ADDR is not set"},
      {"RANK=2 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=5", "RANK = '2' is not this process's rank"},
      {"RANK=0 WORLD_SIZE=two MASTER_ADDR=127.0.0.1 MASTER_PORT=5", "WORLD_SIZE = 'two' is not a number of processes"},
      {"RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=70000", "MASTER_PORT = '70000' is not a TCP port"},
      {"WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=5", "RANK is not set"},
  };
  for (const auto& [variables, message] : bad) {
    auto result = run_command(variables + " " + DGM_BINARY + " gmm fit --data " + points + " 2>&1");
    EXPECT_EQ(result.exit_code, 1) << variables;
    EXPECT_NE(result.output.find(message), std::string::npos) << variables << ": " << result.output;
  }
  // WORLD_SIZE=1 is one process: nothing to join.
  auto single = run_command("WORLD_SIZE=1 RANK=0 " + std::string(DGM_BINARY) + " gmm fit --data " + points + " 2>&1");
  EXPECT_EQ(single.exit_code, 0) << single.output;
}

TEST(CliDistributed, VersionSaysWhatTheBuildHas) {
  auto version = run_dgm("--version");
  ASSERT_EQ(version.exit_code, 0) << version.output;
  EXPECT_EQ(version.output.rfind("dgm ", 0), 0u) << version.output;
  EXPECT_NE(version.output.find("LibTorch " TORCH_VERSION), std::string::npos) << version.output;
  EXPECT_NE(version.output.find(torch::cuda::is_available() ? "CUDA: " : "CUDA: none"), std::string::npos);
  const std::string groups = !process_groups_available() ? "process groups: none, one process only"
                             : nccl_available()          ? "process groups: Gloo (CPU tensors), NCCL (CUDA tensors)"
                                                         : "process groups: Gloo)";
  EXPECT_NE(version.output.find(groups), std::string::npos) << version.output;
}

}  // namespace
}  // namespace dgm
