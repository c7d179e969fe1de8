// The setup must leave LibTorch on OpenBLAS (or a BLAS of its own), not the
// slow reference BLAS.

#include <ATen/Version.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "core/blas_check.h"
#include "core/blas_threads.h"

namespace dgm {
namespace {

TEST(Blas, LibTorchRunsOnOpenBlas) {
  auto a = torch::rand({64, 64});
  auto product = torch::mm(a, a);  // makes sure the BLAS is loaded and used
  EXPECT_EQ(product.size(0), 64);
  const std::string library = loaded_blas_library();
  // Debian's LibTorch (BLAS_INFO=generic) calls the system's libblas.so.3;
  // PyTorch's own builds link MKL in and map no libblas.so.3 at all.
  if (at::show_config().find("BLAS_INFO=mkl") == std::string::npos) {
    EXPECT_FALSE(library.empty());
  }
  EXPECT_FALSE(on_reference_blas()) << library << ": " << blas_warning();
  EXPECT_TRUE(blas_warning().empty());
}

TEST(Blas, SingleThreadedScopeRestoresOpenBlasThreads) {
  const int before = blas_threads();
  if (at::show_config().find("BLAS_INFO=mkl") == std::string::npos) {
    EXPECT_GE(before, 1) << "OpenBLAS's thread count is not reachable";
  }
  {
    SingleThreadedBlas scope;
    EXPECT_EQ(blas_threads(), before == 0 ? 0 : 1);
    auto a = torch::rand({300, 300}, torch::kFloat64);
    EXPECT_TRUE(torch::allclose(torch::mm(a, a), torch::mm(a, a)));
  }
  EXPECT_EQ(blas_threads(), before);
}

TEST(Blas, RunSplitCoversEveryItemOnceInContiguousShares) {
  for (int workers : {1, 2, 3, 7}) {
    std::vector<int> owner(10, -1);
    std::atomic<int> calls{0};
    run_split(10, workers, [&](int worker, int64_t begin, int64_t end) {
      ++calls;
      for (int64_t i = begin; i < end; ++i) owner[static_cast<std::size_t>(i)] = worker;
    });
    EXPECT_EQ(calls.load(), std::min(workers, 10));
    for (std::size_t i = 0; i < owner.size(); ++i) {
      EXPECT_GE(owner[i], 0) << "item " << i << " with " << workers << " workers";
      if (i > 0) {
        EXPECT_GE(owner[i], owner[i - 1]) << "shares are not contiguous";
      }
    }
  }
  // More workers than items: one item each, nobody idle.
  std::atomic<int> calls{0};
  run_split(2, 8, [&](int, int64_t begin, int64_t end) { calls += static_cast<int>(end - begin == 1); });
  EXPECT_EQ(calls.load(), 2);
}

TEST(Blas, RunSplitRethrowsAWorkersError) {
  EXPECT_THROW(run_split(4, 2,
                         [](int worker, int64_t, int64_t) {
                           if (worker == 1) throw std::runtime_error("worker 1 failed");
                         }),
               std::runtime_error);
}

}  // namespace
}  // namespace dgm
