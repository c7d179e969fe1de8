// dgm against faults a user meets (issue 13): two processes on one run
// directory.

#include <caffe2/serialize/inline_container.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/atomic_file.h"
#include "core/directory_lock.h"
#include "test_support.h"

extern char** environ;

namespace dgm {
namespace {

/// Starts the built dgm with `arguments` (stdout and stderr to `log`), with
/// SIGINT at its default: a shell would start a background job ignoring it.
pid_t spawn_dgm(const std::vector<std::string>& arguments, const std::string& log) {
  std::vector<std::string> words{DGM_BINARY};
  words.insert(words.end(), arguments.begin(), arguments.end());
  std::vector<char*> argv;
  for (auto& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&files, STDOUT_FILENO, STDERR_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  EXPECT_EQ(posix_spawn(&pid, DGM_BINARY, &files, &attributes, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attributes);
  return pid;
}

/// The exit status of `pid` as a shell reports it (128 + signal if killed).
int wait_for(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void expect_no_temporaries(const std::string& dir) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir))
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
}

TEST(CliHardening, CtrlCWhileTrainingSavesAndSaysHowToContinue) {
  const auto dir = test::make_temp_dir("cli-sigint-train");
  const std::string run = dir + "/run", log = dir + "/train.log";
  const pid_t pid =
      spawn_dgm({"train", "--config", std::string(DGM_SOURCE_DIR) + "/configs/vae.yaml", "--set", "data.limit=4000",
                 "--set", "data.val_size=500", "--set", "train.epochs=200", "--device", "cpu", "--out", run},
                log);
  // Once the first epoch is in the metrics, the run is between steps.
  for (int i = 0; i < 1200 && !std::filesystem::exists(run + "/metrics.jsonl"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(::kill(pid, 0), 0) << read_text_file(log);
  ::kill(pid, SIGINT);
  EXPECT_EQ(wait_for(pid), 130) << read_text_file(log);
  const std::string output = read_text_file(log);
  EXPECT_NE(output.find("Ctrl-C: stopping after the current step"), std::string::npos) << output;
  EXPECT_NE(output.find("Continue with: dgm train --resume --out " + run), std::string::npos) << output;
  expect_no_temporaries(run);
  auto eval = test::run_dgm("eval --run " + run + " --k 5 --limit 10");
  EXPECT_EQ(eval.exit_code, 0) << eval.output;
}

TEST(CliHardening, CtrlCOutsideTrainingEndsAtOnceWithItsMessage) {
  // No checkpoint to save: dgm ends at once, says so, and removes what it
  // was writing. SIGTERM (a scheduler's) the same, with status 143.
  const auto dir = test::make_temp_dir("cli-sigint-gmm");
  ASSERT_EQ(test::run_command("/usr/bin/python3 -c \"import numpy as np; np.save('" + dir +
                              "/points.npy', np.random.default_rng(0).normal(size=(2000, 30)))\"")
                .exit_code,
            0);
  for (int signal : {SIGINT, SIGTERM}) {
    const std::string log = dir + "/gmm.log";
    const pid_t pid = spawn_dgm({"gmm", "fit", "--data", dir + "/points.npy", "--components", "1..40", "--n-init", "1",
                                 "--max-iter", "1000", "--tol", "0", "--out", dir + "/model"},
                                log);
    // Once the first K is fitted, dgm is past its start (a signal before
    // main() installs the handler would kill it silently, as any program).
    for (int i = 0; i < 1200 && read_text_file(log).find("K =   1") == std::string::npos; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_EQ(::kill(pid, 0), 0) << read_text_file(log);
    ::kill(pid, signal);
    EXPECT_EQ(wait_for(pid), 128 + signal) << read_text_file(log);
    const std::string output = read_text_file(log);
    EXPECT_NE(output.find(signal == SIGINT ? "dgm: interrupted (Ctrl-C)" : "dgm: terminated (SIGTERM)"),
              std::string::npos)
        << output;
    EXPECT_FALSE(std::filesystem::exists(dir + "/model/gmm.json"));
    expect_no_temporaries(dir);
  }
}

TEST(CliHardening, MessagesOfTheCommandLineNameWhatIsWrong) {
  // Issue 13's "Messages", as a user meets them on the command line (the
  // readers' table is tests/test_error_messages.cpp).
  const auto dir = test::make_temp_dir("cli-messages");
  const std::string config = std::string(DGM_SOURCE_DIR) + "/configs/vae.yaml";
  std::ofstream(dir + "/random.pt", std::ios::binary) << std::string("\x17\xb1\x80\x19 not weights at all", 23);
  std::ofstream(dir + "/legacy.pt", std::ios::binary) << std::string(
      "\x80\x02\x8a\x0al\xfc\x9c"
      "F\xf9 j\xa8P\x19.",
      15);
  std::ofstream(dir + "/missing.csv") << "nan,1\nnan,2\nnan,3\n";
  std::ofstream(dir + "/points.csv") << "0,1\n1,2\n2,0\n";
  struct Case {
    std::string arguments;
    int exit_code;
    std::string expected;
  };
  const std::vector<Case> cases{
      {"train --config " + config + " --set model.type=ppca --set model.hidden=[10] --out " + dir + "/a", 1,
       "unknown key 'model.hidden'; model.type ppca takes latent_dim"},
      {"train --config " + config + " --set train.epochs=0 --out " + dir + "/b", 1,
       "train.epochs = 0 is out of range: it must be between 1 and"},
      {"train --config " + config + " --set train.lr=abc --out " + dir + "/c", 1,
       "train.lr must be a number, got 'abc'"},
      {"import --config " + config + " --weights " + dir + "/random.pt --out " + dir + "/d", 1,
       dir + "/random.pt is neither a torch.save file (a zip archive) nor a safetensors file (its first bytes are 17 "
             "b1 80 19)"},
      {"import --config " + config + " --weights " + dir + "/legacy.pt --out " + dir + "/e", 1,
       "PyTorch's legacy format from before 1.6"},
      {"eval --run " + dir + "/none --k 100000000000", 2, "--k: 100000000000 is too large"},
      {"eval --run " + dir + "/none", 1, "run directory " + dir + "/none does not exist"},
      {"eval --encoder " + dir + "/random.pt --decoder " + dir + "/random.pt --data " + std::string(DGM_SOURCE_DIR) +
           "/tests/fixtures/lr_features.npy",
       1, "encoder " + dir + "/random.pt is not a TorchScript module"},
      {"gmm fit --data " + dir + "/missing.csv", 1, dir + "/missing.csv: column 0 has no observed value"},
      {"gmm fit --data " + dir + "/points.csv --components 5..2", 1, "--components 5..2: the range must be"},
      {"gmm fit --data " + dir + "/missing.csv --memory-limit 1X", 1, "memory size '1X' is not valid"},
  };
  for (const auto& item : cases) {
    const auto result = test::run_dgm(item.arguments);
    EXPECT_EQ(result.exit_code, item.exit_code) << item.arguments << "\n" << result.output;
    EXPECT_NE(result.output.find(item.expected), std::string::npos) << item.arguments << "\n" << result.output;
    for (const char* foreign : {"LibTorch", "c10::", "terminate called", "bad conversion", "stoll", "_M_"})
      EXPECT_EQ(result.output.find(foreign), std::string::npos) << item.arguments << "\n" << result.output;
  }
}

TEST(CliHardening, ASecondTrainOnALockedRunRefusesNamingTheFirstsPid) {
  const auto dir = test::make_temp_dir("cli-lock");
  const std::string run = dir + "/run", pid_file = dir + "/first.pid";
  // A first training long enough to be caught running (killed below).
  const std::string train =
      std::string(DGM_BINARY) + " train --quiet --config " + DGM_SOURCE_DIR +
      "/configs/vae.yaml --set data.limit=4000 --set data.val_size=500 --set train.epochs=200 --device cpu --out " +
      run;
  ASSERT_EQ(test::run_command(train + " > " + dir + "/first.log 2>&1 & echo $! > " + pid_file).exit_code, 0);
  const std::string pid = [&] {
    std::string text = read_text_file(pid_file);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  }();
  // Wait until the first process holds the lock (its PID in the lock file).
  const auto lock = DirectoryLock::lock_path(run);
  for (int i = 0; i < 600 && !(std::filesystem::exists(lock) && read_text_file(lock) == pid + "\n"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(read_text_file(lock), pid + "\n") << read_text_file(dir + "/first.log");
  // Still running: otherwise the second would find the lock free.
  ASSERT_EQ(::kill(std::stoi(pid), 0), 0) << read_text_file(dir + "/first.log");

  auto second = test::run_dgm("train --quiet --config " + std::string(DGM_SOURCE_DIR) +
                              "/configs/vae.yaml --set train.epochs=1 --device cpu --out " + run);
  EXPECT_EQ(second.exit_code, 1) << second.output;
  EXPECT_NE(second.output.find("in use by another dgm process (PID " + pid + ")"), std::string::npos) << second.output;
  EXPECT_EQ(second.output.find("LibTorch"), std::string::npos) << second.output;

  // Killed (as kill -9 does, no clean-up), the first leaves no lock behind.
  ::kill(std::stoi(pid), SIGKILL);
  for (int i = 0; i < 100 && ::kill(std::stoi(pid), 0) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_NO_THROW(DirectoryLock after(run, "run directory"));
}

TEST(CliHardening, SizesPastTheMemoryLimitAreRefusedByDgmNotTheAllocator) {
  // Issue 13: a huge train.k reached LibTorch's allocator (105 GB) with its
  // own text; now dgm names the option and the bytes before allocating.
  const auto dir = test::make_temp_dir("cli-memory");
  auto train = test::run_dgm("train --quiet --config " + std::string(DGM_SOURCE_DIR) +
                             "/configs/vae.yaml --set data.limit=1000 --set data.val_size=100 --set train.k=1000000 "
                             "--device cpu --out " +
                             dir + "/run");
  EXPECT_EQ(train.exit_code, 1) << train.output;
  EXPECT_NE(train.output.find("train.k = 1000000"), std::string::npos) << train.output;
  EXPECT_NE(train.output.find("more than the memory limit"), std::string::npos) << train.output;
  EXPECT_EQ(train.output.find("LibTorch"), std::string::npos) << train.output;
  // --memory-limit on any command; a bad value is named.
  auto points = test::run_dgm("gmm sample --model " + dir + "/none --n 5 --out " + dir + "/p.npy --memory-limit lots");
  EXPECT_EQ(points.exit_code, 1) << points.output;
  EXPECT_NE(points.output.find("memory size 'lots' is not valid"), std::string::npos) << points.output;
  ASSERT_EQ(test::run_command("/usr/bin/python3 -c \"import numpy as np; np.save('" + dir +
                              "/wide.npy', np.random.rand(50, 300))\"")
                .exit_code,
            0);
  auto fit = test::run_dgm("gmm fit --data " + dir + "/wide.npy --components 20 --memory-limit 8M");
  EXPECT_EQ(fit.exit_code, 1) << fit.output;
  EXPECT_NE(fit.output.find("EM with 20 full components of 300 dimensions"), std::string::npos) << fit.output;
}

TEST(CliHardening, ACraftedPickleInARunOrATorchScriptFileIsAMessageNotACrash) {
  // Issue 13: crafted data.pkl records killed `dgm eval --run` and `dgm eval
  // --encoder/--decoder` with SIGSEGV inside LibTorch's unpickler.
  const auto dir = test::make_temp_dir("cli-crafted");
  const std::string run = dir + "/run";
  auto train = test::run_dgm("train --quiet --config " + std::string(DGM_SOURCE_DIR) +
                             "/configs/vae.yaml --set data.limit=600 --set data.val_size=100 --set train.epochs=1 "
                             "--set model.hidden=[16] --set model.latent_dim=2 --device cpu --out " +
                             run);
  ASSERT_EQ(train.exit_code, 0) << train.output;
  for (const std::string& name : {"best.pt", "last.pt"}) {
    std::filesystem::remove(run + "/" + name);
    caffe2::serialize::PyTorchStreamWriter writer(run + "/" + name);
    const std::string pickle = "\x80\x02R.", constants = "\x80\x02).";
    writer.writeRecord("data.pkl", pickle.data(), pickle.size());
    writer.writeRecord("constants.pkl", constants.data(), constants.size());
    writer.writeEndOfFile();
  }
  auto eval = test::run_dgm("eval --run " + run + " --k 5 --limit 10");
  EXPECT_EQ(eval.exit_code, 1) << eval.output;
  EXPECT_NE(eval.output.find("is not a pickle dgm reads: the stack is empty"), std::string::npos) << eval.output;
  auto script = test::run_dgm("eval --encoder " + run + "/best.pt --decoder " + std::string(DGM_SOURCE_DIR) +
                              "/tests/fixtures/python_decoder.pt --data " + std::string(DGM_SOURCE_DIR) +
                              "/tests/fixtures/lr_features.npy --k 5");
  EXPECT_EQ(script.exit_code, 1) << script.output;
  EXPECT_NE(script.output.find("is not a pickle dgm reads"), std::string::npos) << script.output;
}

TEST(CliHardening, AWriteThatFailsLeavesThePreviousCheckpointLoadable) {
  // Fault injection CI can run without mounting a small file system: a file
  // size limit (ulimit -f) makes the checkpoint's write fail (EFBIG) as a
  // full disk would (ENOSPC), through the same path.
  const auto dir = test::make_temp_dir("cli-full");
  const std::string run = dir + "/run";
  const std::string config = std::string(DGM_SOURCE_DIR) + "/configs/vae.yaml";
  auto first = test::run_dgm("train --quiet --config " + config +
                             " --set data.limit=600 --set data.val_size=100 --set train.epochs=1 "
                             "--set model.hidden=[16] --set model.latent_dim=2 --device cpu --out " +
                             run);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const std::string before = read_text_file(run + "/last.pt");
  auto full = test::run_command("ulimit -f 64 && exec " + std::string(DGM_BINARY) + " train --quiet --resume --out " +
                                run + " --set train.epochs=2 2>&1");
  EXPECT_EQ(full.exit_code, 1) << full.output;
  EXPECT_NE(full.output.find("cannot write " + run + "/"), std::string::npos) << full.output;
  EXPECT_NE(full.output.find("ulimit -f"), std::string::npos) << full.output;
  EXPECT_NE(full.output.find("is as it was"), std::string::npos) << full.output;
  EXPECT_EQ(full.output.find("terminate called"), std::string::npos) << full.output;
  // The checkpoint is the one of before, byte for byte, no temporary file is left, and the run evaluates.
  EXPECT_EQ(read_text_file(run + "/last.pt"), before);
  for (const auto& entry : std::filesystem::directory_iterator(run))
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
  auto eval = test::run_dgm("eval --run " + run + " --k 5 --limit 10");
  EXPECT_EQ(eval.exit_code, 0) << eval.output;
}

}  // namespace
}  // namespace dgm
