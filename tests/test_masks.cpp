// Masks of observed entries (core/masks.h): halves of pictures, random
// shares, seeded, and bad specifications named.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/masks.h"

namespace dgm {
namespace {

TEST(Masks, HalvesHideTheRowsOfEachPicture) {
  auto options = torch::TensorOptions().dtype(torch::kFloat32);
  auto top = make_mask("top-half", 2, 12, {4, 3}, 0, options).view({2, 4, 3});
  EXPECT_EQ(top[0].slice(0, 0, 2).sum().item<float>(), 0.0f);  // rows 0-1 hidden
  EXPECT_EQ(top[1].slice(0, 2, 4).sum().item<float>(), 6.0f);  // rows 2-3 observed
  auto bottom = make_mask("bottom-half", 1, 12, {4, 3}, 0, options).view({4, 3});
  EXPECT_TRUE(torch::equal(bottom, 1 - top[0]));
  EXPECT_EQ(make_mask("none", 3, 5, {}, 0, options).sum().item<float>(), 15.0f);
}

TEST(Masks, RandomHidesTheAskedShareAndIsSeeded) {
  auto options = torch::TensorOptions().dtype(torch::kFloat32);
  auto a = make_mask("random:0.3", 100, 100, {}, 7, options);
  EXPECT_NEAR(1.0 - a.mean().item<double>(), 0.3, 0.02);
  EXPECT_TRUE(torch::equal(a, make_mask("random:0.3", 100, 100, {}, 7, options)));
  EXPECT_THROW(make_mask("random:1", 2, 2, {}, 0, options), Error);
  EXPECT_THROW(make_mask("top-half", 2, 4, {}, 0, options), Error);  // no picture shape
}

}  // namespace
}  // namespace dgm
