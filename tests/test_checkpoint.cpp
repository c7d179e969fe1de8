// Checkpoints (trainers/checkpoint.h): a round trip restores identical
// outputs; another architecture and a damaged file are named.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "core/error.h"
#include "core/random.h"
#include "models/vae.h"
#include "test_support.h"
#include "trainers/checkpoint.h"

namespace dgm {
namespace {

TEST(Checkpoint, RoundTripRestoresIdenticalOutputs) {
  const auto path = test::make_temp_dir("ckpt") + "/model.pt";
  seed_everything(4);
  Vae a = test::VaeSpec(8, 2).hidden({6}).build();
  TrainingState state;
  state.step = 42;
  state.best_validation = -12.5;
  save_checkpoint(path, *a, nullptr, state);
  seed_everything(5);
  Vae b = test::VaeSpec(8, 2).hidden({6}).build();
  auto x = torch::rand({3, 8});
  EXPECT_FALSE(torch::equal(a->decode(a->encode(x).loc()), b->decode(b->encode(x).loc())));
  const TrainingState loaded = load_checkpoint(path, *b);
  EXPECT_EQ(loaded.step, 42);
  EXPECT_DOUBLE_EQ(loaded.best_validation, -12.5);
  EXPECT_TRUE(torch::equal(a->decode(a->encode(x).loc()), b->decode(b->encode(x).loc())));
}

TEST(Checkpoint, OtherArchitectureNamesTheParameterAndShapes) {
  const auto path = test::make_temp_dir("ckpt-shape") + "/model.pt";
  Vae a = test::VaeSpec(8, 2).hidden({6}).build();
  save_checkpoint(path, *a, nullptr, {});
  Vae b = test::VaeSpec(8, 2).hidden({7}).build();
  try {
    load_checkpoint(path, *b);
    FAIL() << "loaded a checkpoint of another architecture";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("encoder.layers.0.weight"), std::string::npos) << message;
    EXPECT_NE(message.find("[6, 8]"), std::string::npos) << message;
    EXPECT_NE(message.find("[7, 8]"), std::string::npos) << message;
  }
}

TEST(Checkpoint, DamagedFileIsAClearError) {
  const auto path = test::make_temp_dir("ckpt-bad") + "/model.pt";
  Vae a = test::VaeSpec(8, 2).hidden({6}).build();
  save_checkpoint(path, *a, nullptr, {});
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  try {
    load_checkpoint(path, *a);
    FAIL() << "loaded a truncated checkpoint";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dgm
