#include "core/blas_threads.h"

#include <dlfcn.h>

#include <algorithm>
#include <exception>
#include <thread>
#include <vector>

namespace dgm {
namespace {

using GetThreads = int (*)();
using SetThreads = void (*)(int);

/// OpenBLAS's getter and setter from the library that provides dgemm_: Debian
/// maps two copies of OpenBLAS (libblas.so.3 and libopenblas.so.0), each with
/// its own thread pool, and only the one whose dgemm_ LibTorch calls matters.
struct OpenBlasThreadControl {
  GetThreads get = nullptr;
  SetThreads set = nullptr;

  OpenBlasThreadControl() {
    void* gemm = dlsym(RTLD_DEFAULT, "dgemm_");
    Dl_info info{};
    if (gemm == nullptr || dladdr(gemm, &info) == 0 || info.dli_fname == nullptr) return;
    void* library = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    if (library == nullptr) return;
    get = reinterpret_cast<GetThreads>(dlsym(library, "openblas_get_num_threads"));
    set = reinterpret_cast<SetThreads>(dlsym(library, "openblas_set_num_threads"));
    dlclose(library);  // RTLD_NOLOAD took one more reference; the library stays mapped
    if (get == nullptr || set == nullptr) get = nullptr, set = nullptr;
  }
};

const OpenBlasThreadControl& control() {
  static const OpenBlasThreadControl instance;
  return instance;
}

}  // namespace

int blas_threads() { return control().get ? control().get() : 0; }

SingleThreadedBlas::SingleThreadedBlas() : previous_(blas_threads()) {
  if (previous_ > 1) control().set(1);
}

SingleThreadedBlas::~SingleThreadedBlas() {
  if (previous_ > 1) control().set(previous_);
}

void run_split(int64_t items, int workers, const std::function<void(int, int64_t, int64_t)>& work) {
  workers = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(workers, items)));
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(workers));
  auto run = [&](int worker) {
    const int64_t begin = items * worker / workers, end = items * (worker + 1) / workers;
    try {
      work(worker, begin, end);
    } catch (...) {
      errors[static_cast<std::size_t>(worker)] = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  for (int worker = 1; worker < workers; ++worker) threads.emplace_back(run, worker);
  run(0);
  for (auto& thread : threads) thread.join();
  for (auto& error : errors)
    if (error) std::rethrow_exception(error);
}

}  // namespace dgm
