// dgm against faults a user meets (issue 13): two processes on one run
// directory.

#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "core/atomic_file.h"
#include "core/directory_lock.h"
#include "test_support.h"

namespace dgm {
namespace {

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
