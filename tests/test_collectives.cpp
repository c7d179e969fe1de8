// The process-group layer's own arithmetic: shards of rows, the one-process
// collectives, the environment torchrun sets, and the gradient buckets of
// data-parallel training.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdlib>

#include "core/collectives.h"
#include "core/process_group.h"
#include "test_support.h"
#include "trainers/data_parallel.h"

namespace dgm {
namespace {

TEST(Collectives, ShardsCoverTheRowsInOrderAndDifferByAtMostOne) {
  for (int64_t n : {0, 1, 7, 100, 101}) {
    for (int size : {1, 2, 3, 8}) {
      int64_t next = 0, smallest = n, largest = 0;
      for (int rank = 0; rank < size; ++rank) {
        const auto [begin, end] = shard_of(n, rank, size);
        EXPECT_EQ(begin, next) << n << " rows, rank " << rank << " of " << size;
        next = end;
        smallest = std::min(smallest, end - begin);
        largest = std::max(largest, end - begin);
      }
      EXPECT_EQ(next, n);
      EXPECT_LE(largest - smallest, 1);
    }
  }
  EXPECT_NE(test::error_message_of([] { shard_of(10, 2, 2); }).find("rank 2 of 2 processes is not valid"),
            std::string::npos);
}

TEST(Collectives, OneProcessIsTheIdentity) {
  Collectives& alone = single_process();
  EXPECT_EQ(alone.rank(), 0);
  EXPECT_EQ(alone.size(), 1);
  auto x = torch::randn({5, 3}, torch::kFloat64);
  auto copy = x.clone();
  alone.all_reduce_sum(copy);
  EXPECT_TRUE(torch::equal(copy, x));
  EXPECT_TRUE(torch::equal(alone.all_gather(x), x.unsqueeze(0)));
  EXPECT_TRUE(torch::equal(all_gather_rows(alone, x), x));
  const RowShard shard = row_shard(alone, 5);
  EXPECT_EQ(shard.begin, 0);
  EXPECT_EQ(shard.count, 5);
  EXPECT_EQ(shard.total, 5);
  auto indices = torch::tensor({4, 0, 4}, torch::kLong);
  EXPECT_TRUE(torch::equal(rows_at(alone, shard, x, indices), x.index_select(0, indices)));
  EXPECT_EQ(all_reduce_sum(alone, 2.5), 2.5);
}

/// Sets the variables for the test's lifetime, and unsets them after.
class ScopedVariables {
 public:
  explicit ScopedVariables(std::vector<std::pair<std::string, std::string>> variables) : variables_(variables) {
    for (const auto& [name, value] : variables_) ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedVariables() {
    for (const auto& [name, value] : variables_) ::unsetenv(name.c_str());
  }

 private:
  std::vector<std::pair<std::string, std::string>> variables_;
};

TEST(Collectives, TheEnvironmentOfTorchrun) {
  EXPECT_FALSE(process_group_environment().has_value());  // the tests run alone
  {
    ScopedVariables one({{"WORLD_SIZE", "1"}, {"RANK", "0"}});
    EXPECT_FALSE(process_group_environment().has_value());
  }
  {
    ScopedVariables torchrun({{"WORLD_SIZE", "4"},
                              {"RANK", "3"},
                              {"LOCAL_RANK", "1"},
                              {"MASTER_ADDR", "10.0.0.2"},
                              {"MASTER_PORT", "29500"},
                              {"TORCHELASTIC_USE_AGENT_STORE", "True"},
                              {"TORCHELASTIC_RESTART_COUNT", "2"}});
    const auto env = process_group_environment();
    ASSERT_TRUE(env.has_value());
    EXPECT_EQ(env->world_size, 4);
    EXPECT_EQ(env->rank, 3);
    EXPECT_EQ(env->local_rank, 1);
    EXPECT_EQ(env->master_addr, "10.0.0.2");
    EXPECT_EQ(env->master_port, 29500);
    EXPECT_TRUE(env->agent_store);
    EXPECT_EQ(env->restart_count, 2);
    EXPECT_EQ(env->timeout_seconds, 600);
  }
  {
    ScopedVariables scheduler({{"WORLD_SIZE", "2"},
                               {"RANK", "1"},
                               {"MASTER_ADDR", "node0"},
                               {"MASTER_PORT", "1234"},
                               {"DGM_PROCESS_GROUP_TIMEOUT", "30"}});
    const auto env = process_group_environment();
    ASSERT_TRUE(env.has_value());
    EXPECT_EQ(env->local_rank, 1);  // LOCAL_RANK unset: the rank
    EXPECT_FALSE(env->agent_store);
    EXPECT_EQ(env->timeout_seconds, 30);
  }
  {
    ScopedVariables bad({{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "0x10"}});
    EXPECT_NE(test::error_message_of([] {
                process_group_environment();
              }).find("MASTER_PORT = '0x10' is not a TCP port (an integer from 1 to 65535)"),
              std::string::npos);
  }
}

TEST(Collectives, TheParameterFingerprintSeesOneUlpAndASwap) {
  torch::nn::Linear layer(torch::nn::LinearOptions(30, 20));
  const auto before = parameter_fingerprint(*layer);
  EXPECT_TRUE(torch::equal(before, parameter_fingerprint(*layer))) << "the same parameters, the same numbers";
  torch::NoGradGuard no_grad;
  auto weight = layer->weight.view({-1});
  const float value = weight[123].item<float>();
  weight[123] = std::nextafter(value, 10.0f);  // one float32 ulp
  EXPECT_FALSE(torch::equal(before, parameter_fingerprint(*layer)));
  weight[123] = value;
  const float a = weight[5].item<float>(), b = weight[6].item<float>();
  weight[5] = b;
  weight[6] = a;  // the same values in another order: the plain sum cannot tell
  const auto swapped = parameter_fingerprint(*layer);
  EXPECT_NEAR(swapped[0].item<double>(), before[0].item<double>(), 1e-9);
  EXPECT_NE(swapped[1].item<double>(), before[1].item<double>());
  // Alone, there is no other process to differ from.
  check_same_parameters(single_process(), *layer, 1);
}

/// Two processes that hold the same numbers: a sum is twice this process's
/// (counts the collectives, to see the riders travel with the gradients).
class TwinProcesses final : public Collectives {
 public:
  int rank() const override { return 0; }
  int size() const override { return 2; }
  void all_reduce_sum(torch::Tensor& t) override {
    t.mul_(2);
    ++sums;
  }
  void broadcast(torch::Tensor&, int) override {}
  torch::Tensor all_gather(const torch::Tensor& t) override { return torch::stack({t, t}); }
  void barrier() override {}
  int sums = 0;
};

TEST(Collectives, GradientBucketsAreTheGradientsAndSumThemInPlace) {
  torch::manual_seed(3);
  torch::nn::Sequential model(torch::nn::Linear(5, 4), torch::nn::ReLU(), torch::nn::Linear(4, 3));
  auto frozen = model->named_parameters()["2.bias"];
  frozen.set_requires_grad(false);
  auto x = torch::randn({6, 5});
  auto loss_of = [&] { return model->forward(x).pow(2).sum(); };
  // The reference: autograd's own gradients, twice.
  loss_of().backward();
  std::vector<torch::Tensor> expected;
  for (auto& p : model->parameters()) expected.push_back(p.requires_grad() ? p.grad().clone() * 2 : torch::Tensor());

  // Made after a backward: the gradients so far are kept, as views now.
  GradientBuckets kept(*model, 2, /*bucket_bytes=*/64);  // 64 bytes: more than one buffer
  EXPECT_EQ(kept.buffers(), 2u) << "the 20 weights alone (80 bytes), then 4 biases and 12 weights (64 bytes)";
  TwinProcesses twins;
  std::vector<double> riders{1.5, 1.0};
  kept.all_reduce(twins, riders);
  EXPECT_EQ(twins.sums, 2) << "one collective per buffer; the riders need none of their own";
  EXPECT_EQ(riders, (std::vector<double>{3.0, 2.0}));
  auto parameters = model->parameters();
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    if (!parameters[i].requires_grad()) {
      EXPECT_FALSE(parameters[i].grad().defined()) << "a frozen parameter gets no gradient";
      continue;
    }
    EXPECT_TRUE(torch::equal(parameters[i].grad(), expected[i])) << "parameter " << i;
  }

  // zero() keeps the views; autograd then accumulates into the buffers in place.
  GradientBuckets buckets(*model, 0);
  EXPECT_EQ(buckets.buffers(), 1u);
  buckets.zero();
  std::vector<const void*> places;
  for (auto& p : model->parameters())
    if (p.requires_grad()) places.push_back(p.grad().data_ptr());
  loss_of().backward();
  std::size_t j = 0;
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    if (!parameters[i].requires_grad()) continue;
    EXPECT_EQ(parameters[i].grad().data_ptr(), places[j++]) << "parameter " << i << ": accumulated in place";
    EXPECT_TRUE(torch::equal(parameters[i].grad() * 2, expected[i]));
  }
  // A gradient that something replaced is still summed, and a view again.
  auto& replaced = parameters[0].mutable_grad();
  replaced = torch::ones_like(parameters[0]);
  std::vector<double> none;
  twins.sums = 0;
  buckets.all_reduce(twins, none);
  EXPECT_EQ(twins.sums, 1);
  EXPECT_TRUE(torch::equal(parameters[0].grad(), torch::full_like(parameters[0], 2.0)));
  EXPECT_EQ(parameters[0].grad().data_ptr(), places[0]);
  EXPECT_TRUE(torch::equal(parameters[1].grad(), expected[1]));
  EXPECT_NE(test::error_message_of([&] { buckets.all_reduce(twins, riders); }).find("2 riders"), std::string::npos);
}

}  // namespace
}  // namespace dgm
