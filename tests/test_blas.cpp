// The setup must leave LibTorch on OpenBLAS, not the slow reference BLAS.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/blas_check.h"

namespace dgm {
namespace {

TEST(Blas, LibTorchRunsOnOpenBlas) {
  auto a = torch::rand({64, 64});
  auto product = torch::mm(a, a);  // makes sure the BLAS is loaded and used
  EXPECT_EQ(product.size(0), 64);
  const std::string library = loaded_blas_library();
  EXPECT_FALSE(library.empty());
  EXPECT_FALSE(on_reference_blas()) << library << ": " << blas_warning();
  EXPECT_TRUE(blas_warning().empty());
}

}  // namespace
}  // namespace dgm
