// The memory limit (core/memory_budget.h): sizes parse, products saturate
// instead of wrapping, and a size past the limit is refused naming what
// needed it, here and in EM, before anything is allocated.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <limits>

#include "core/csv.h"
#include "core/memory_budget.h"
#include "estimators/registry.h"
#include "models/vae.h"
#include "test_support.h"
#include "trainers/gmm_em.h"

namespace dgm {
namespace {

/// Sets a limit for one test and restores the default after it.
struct ScopedMemoryLimit {
  explicit ScopedMemoryLimit(uint64_t bytes) { set_memory_limit(bytes); }
  ~ScopedMemoryLimit() { set_memory_limit(0); }
};

TEST(MemoryBudget, SizesParseInPowersOf1024AndBadOnesAreNamed) {
  EXPECT_EQ(parse_memory_size("8G"), uint64_t{8} << 30);
  EXPECT_EQ(parse_memory_size("512M"), uint64_t{512} << 20);
  EXPECT_EQ(parse_memory_size("1.5GiB"), uint64_t{3} << 29);
  EXPECT_EQ(parse_memory_size("2tb"), uint64_t{2} << 40);
  EXPECT_EQ(parse_memory_size("1000"), 1000u);
  for (const char* bad : {"eight", "8X", "-1G", "0", "", "nanG"}) {
    const auto message = test::error_message_of([&] { parse_memory_size(bad); });
    EXPECT_NE(message.find(std::string("memory size '") + bad + "'"), std::string::npos) << message;
  }
  EXPECT_EQ(human_bytes(512), "512 bytes");
  EXPECT_EQ(human_bytes(uint64_t{3} << 29), "1.5 GiB");
}

TEST(MemoryBudget, ProductsSaturateAndTheDefaultFollowsTheMachine) {
  const uint64_t big = uint64_t{1} << 40;
  EXPECT_EQ(saturating_product({big, big}), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(saturating_product({big, big, 0}), 0u);
  EXPECT_EQ(saturating_product({3, 5, 7}), 105u);
  EXPECT_GT(physical_memory(), uint64_t{1} << 28);
  EXPECT_LE(available_memory(), physical_memory());
  EXPECT_EQ(memory_limit(), available_memory() / 5 * 4);
}

TEST(MemoryBudget, APastLimitSizeIsRefusedNamingWhatAndTheAdvice) {
  ScopedMemoryLimit limit(1 << 20);
  EXPECT_NO_THROW(check_memory(1 << 20, "x", "y"));
  const auto message = test::error_message_of([] { check_memory((1 << 20) + 1, "the thing", "use less"); });
  EXPECT_NE(message.find("the thing needs 1.0 MiB, more than the memory limit of 1.0 MiB (--memory-limit"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("; use less"), std::string::npos) << message;
}

TEST(MemoryBudget, EmRefusesACovarianceThatWouldNotFit) {
  // 10 full components of 200 dimensions: 4 x 10 x 200^2 float64 = 12.8 MB.
  ScopedMemoryLimit limit(4 << 20);
  EmOptions options;
  options.components = 10;
  const auto message = test::error_message_of([&] {
    fit_gaussian_mixture(torch::randn({100, 200}, torch::kFloat64), options);
  });
  EXPECT_NE(message.find("EM with 10 full components of 200 dimensions on 100 points needs"), std::string::npos)
      << message;
  EXPECT_NE(message.find("--covariance diag"), std::string::npos) << message;
  options.covariance = CovarianceType::kDiag;  // 4 x 2 x 200 values: fits
  options.components = 2;
  EXPECT_NO_THROW(fit_gaussian_mixture(torch::randn({400, 200}, torch::kFloat64), options));
}

TEST(MemoryBudget, EstimatorsRefuseMoreDrawsAtOnceThanFitNamingChunkAndBatch) {
  // Issue 13: k x batch in dgm estimate / eval reached the allocator.
  Vae vae = test::VaeSpec(784, 4).hidden({16}).build();
  const torch::Tensor x = torch::rand({10, 784}).round();
  ScopedMemoryLimit limit(64 << 20);
  EstimatorOptions options;
  options.k = 100000;  // 100000 x 10 x 784 x 4 x 4 bytes = 11.7 GiB at once
  auto message = test::error_message_of([&] { estimate("iwae", *vae, x, options); });
  EXPECT_NE(message.find("iwae with 100000 samples at once for each of 10 examples of 784 values needs"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("--chunk, eval.chunk"), std::string::npos) << message;
  options.chunk = 100;  // the same k in chunks fits
  EXPECT_NO_THROW(estimate("iwae", *vae, x.slice(0, 0, 2), [&] {
    EstimatorOptions few = options;
    few.k = 300;
    return few;
  }()));
  // AIS counts its chains.
  options.chunk = 0;
  options.ais.chains = 1 << 20;
  message = test::error_message_of([&] { estimate("ais", *vae, x, options); });
  EXPECT_NE(message.find("ais with 1048576 chains at once"), std::string::npos) << message;
}

TEST(MemoryBudget, ACsvPastTheLimitIsRefusedBeforeItIsRead) {
  const auto dir = test::make_temp_dir("csv-budget");
  {
    std::ofstream out(dir + "/wide.csv");
    for (int row = 0; row < 200; ++row) {
      for (int column = 0; column < 2000; ++column) out << (column ? "," : "") << (row + column) % 7;
      out << "\n";
    }
  }
  ScopedMemoryLimit limit(1 << 20);  // the file alone is 800 KB, held twice
  const auto message = test::error_message_of([&] { read_csv(dir + "/wide.csv"); });
  EXPECT_NE(message.find("reading " + dir + "/wide.csv needs"), std::string::npos) << message;
  set_memory_limit(5 << 20);  // the text fits; its 400,000 values (3.2 MB, twice) do not
  const auto values = test::error_message_of([&] { read_csv(dir + "/wide.csv"); });
  EXPECT_NE(values.find(dir + "/wide.csv (264000 values by line 132) needs"), std::string::npos) << values;
  set_memory_limit(64 << 20);
  EXPECT_EQ(read_csv(dir + "/wide.csv").size(1), 2000);
}

}  // namespace
}  // namespace dgm
