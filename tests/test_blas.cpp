// The setup must leave LibTorch on OpenBLAS (or a BLAS of its own), not the
// slow reference BLAS.

#include <ATen/Version.h>
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
  // Debian's LibTorch (BLAS_INFO=generic) calls the system's libblas.so.3;
  // PyTorch's own builds link MKL in and map no libblas.so.3 at all.
  if (at::show_config().find("BLAS_INFO=mkl") == std::string::npos) EXPECT_FALSE(library.empty());
  EXPECT_FALSE(on_reference_blas()) << library << ": " << blas_warning();
  EXPECT_TRUE(blas_warning().empty());
}

}  // namespace
}  // namespace dgm
