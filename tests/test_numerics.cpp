// log_mean_exp and the streaming log-sum-exp on extreme values.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "core/numerics.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::kF64;
constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(LogMeanExp, IsStableForLargeMagnitudes) {
  auto x = torch::tensor({1000.0, 1000.0 + std::log(3.0)}, kF64);
  EXPECT_NEAR(log_mean_exp(x, 0).item<double>(), 1000.0 + std::log(2.0), 1e-9);
  auto y = torch::tensor({-1000.0, -1000.0 + std::log(3.0)}, kF64);
  EXPECT_NEAR(log_mean_exp(y, 0).item<double>(), -1000.0 + std::log(2.0), 1e-9);
}

TEST(LogMeanExp, HandlesMinusInfinity) {
  auto x = torch::tensor({-kInf, 0.0}, kF64);
  EXPECT_NEAR(log_mean_exp(x, 0).item<double>(), std::log(0.5), 1e-12);
  auto all = torch::tensor({-kInf, -kInf}, kF64);
  EXPECT_EQ(log_mean_exp(all, 0).item<double>(), -kInf);
}

TEST(LogMeanExp, ReducesTheGivenDimension) {
  auto x = torch::zeros({4, 3}, kF64);
  x[1][2] = std::log(5.0);  // column 2: mean of exp = (1+5+1+1)/4 = 2
  auto result = log_mean_exp(x, 0);
  ASSERT_EQ(result.sizes(), (std::vector<int64_t>{3}));
  EXPECT_NEAR(result[2].item<double>(), std::log(2.0), 1e-12);
}

TEST(LogSumExpAccumulator, ChunkedEqualsOneShot) {
  torch::manual_seed(5);
  auto x = torch::randn({103, 7}, kF64) * 300.0;  // values far outside exp's range
  LogSumExpAccumulator accumulator;
  for (int64_t start = 0; start < 103; start += 10)
    accumulator.add(x.slice(0, start, std::min<int64_t>(103, start + 10)));
  EXPECT_EQ(accumulator.count(), 103);
  EXPECT_TRUE(torch::allclose(accumulator.log_sum_exp(), torch::logsumexp(x, 0), 1e-12, 1e-9));
  EXPECT_TRUE(torch::allclose(accumulator.log_mean_exp(), log_mean_exp(x, 0), 1e-12, 1e-9));
}

TEST(LogSumExpAccumulator, KeepsSmallValuesAfterAllMinusInfinityChunk) {
  LogSumExpAccumulator accumulator;
  accumulator.add(torch::tensor({{-kInf}}, kF64));
  accumulator.add(torch::tensor({{-2000.0}}, kF64));
  EXPECT_NEAR(accumulator.log_sum_exp().item<double>(), -2000.0, 1e-9);
  LogSumExpAccumulator empty_only;
  empty_only.add(torch::tensor({{-kInf}, {-kInf}}, kF64));
  EXPECT_EQ(empty_only.log_sum_exp().item<double>(), -kInf);
}

TEST(LogSumExpAccumulator, PassesGradientsLikeLogsumexp) {
  auto x = torch::tensor({{0.5}, {1.5}, {-0.3}, {2.0}}, kF64).requires_grad_();
  LogSumExpAccumulator accumulator;
  accumulator.add(x.slice(0, 0, 2));
  accumulator.add(x.slice(0, 2, 4));
  accumulator.log_sum_exp().sum().backward();
  auto expected = torch::softmax(x.detach(), 0);
  EXPECT_TRUE(torch::allclose(x.grad(), expected, 1e-12, 1e-12));
}

}  // namespace
}  // namespace dgm
