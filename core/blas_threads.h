#pragma once
// OpenBLAS spreads every matrix product over its own threads. For many small
// products (EM's chunks, the estimators' tiles) it is faster to give each core
// its own share and run the products single-threaded: no hand-over and wait
// per call, and the elementwise work between them runs in parallel too. These helpers
// reach OpenBLAS's thread count at run time (dlsym), so a LibTorch on another
// BLAS (MKL in the PyTorch wheels) just reports "unknown".

#include <cstdint>
#include <functional>

namespace dgm {

/// OpenBLAS's thread count for the BLAS LibTorch calls, or 0 when that BLAS is
/// not OpenBLAS (or not reachable).
int blas_threads();

/// While alive, OpenBLAS runs each product on the thread that calls it; the
/// previous count comes back at the end of the scope. The setting is
/// process-wide (OpenBLAS has no other), so products other threads run
/// meanwhile are single-threaded too. Scopes nest. Does nothing without OpenBLAS.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas();
  ~SingleThreadedBlas();
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  int previous_ = 0;
};

/// Runs work(worker, begin, end) over [0, items) split into `workers`
/// contiguous ranges, one per thread (worker 0 on the calling thread); the
/// split depends only on items and workers. The first exception is rethrown.
void run_split(int64_t items, int workers, const std::function<void(int worker, int64_t begin, int64_t end)>& work);

}  // namespace dgm
