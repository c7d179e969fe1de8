// The memory limit (core/memory_budget.h): sizes parse, products saturate
// instead of wrapping, and a size past the limit is refused naming what
// needed it, here and in EM, before anything is allocated.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "core/memory_budget.h"
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

}  // namespace
}  // namespace dgm
