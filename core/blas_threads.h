#pragma once
// OpenBLAS spreads every matrix product over its own threads. For many small
// products (EM's chunks, the estimators' tiles) it is faster to give each core
// its own share and run the products single-threaded: no hand-over and wait
// per call, and the elementwise work between them runs in parallel too. These helpers
// reach the BLAS's thread count at run time (dlsym): OpenBLAS's (Debian's
// LibTorch) or MKL's (pytorch.org's, where it exports MKL's service
// functions); any other BLAS just reports "unknown".

#include <cstdint>
#include <functional>

namespace dgm {

/// The thread count of the BLAS LibTorch calls (OpenBLAS or MKL; for MKL, the
/// calling thread's), or 0 when that BLAS is another (or not reachable).
int blas_threads();

/// While alive, the BLAS runs each product on the thread that calls it; the
/// previous count comes back at the end of the scope. OpenBLAS's setting is
/// process-wide (it has no other), so products other threads run meanwhile
/// are single-threaded too; MKL's is the calling thread's, and run_split
/// sets it in each of its workers. Scopes nest. Does nothing for another BLAS.
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
/// contiguous ranges, one per thread (worker 0 on the calling thread), each
/// with single-threaded products under MKL (per-thread setting; under
/// OpenBLAS hold a SingleThreadedBlas around the call); the split depends
/// only on items and workers. The first exception is rethrown.
void run_split(int64_t items, int workers, const std::function<void(int worker, int64_t begin, int64_t end)>& work);

}  // namespace dgm
