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
using SetLocalThreads = int (*)(int);

/// The BLAS's thread controls, found at run time. OpenBLAS: the getter and
/// setter from the library that provides dgemm_ (Debian maps two copies of
/// OpenBLAS, libblas.so.3 and libopenblas.so.0, each with its own thread
/// pool, and only the one whose dgemm_ LibTorch calls matters); its setting
/// is process-wide. MKL (pytorch.org's LibTorch): mkl_get_max_threads and
/// mkl_set_num_threads_local, a per-thread setting, where the library
/// exports them; a LibTorch that links MKL with hidden symbols has neither,
/// and dgm keeps one worker there, as for any other BLAS.
struct BlasThreadControl {
  GetThreads get = nullptr;
  SetThreads set = nullptr;             // OpenBLAS: every thread's products
  SetLocalThreads set_local = nullptr;  // MKL: the calling thread's products

  BlasThreadControl() {
    if (find_openblas()) return;
    get = symbol<GetThreads>("MKL_Get_Max_Threads", "mkl_get_max_threads");
    set_local = symbol<SetLocalThreads>("MKL_Set_Num_Threads_Local", "mkl_set_num_threads_local");
    if (get == nullptr || set_local == nullptr) get = nullptr, set_local = nullptr;
  }

 private:
  bool find_openblas() {
    void* gemm = dlsym(RTLD_DEFAULT, "dgemm_");
    Dl_info info{};
    if (gemm == nullptr || dladdr(gemm, &info) == 0 || info.dli_fname == nullptr) return false;
    void* library = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    if (library == nullptr) return false;
    get = reinterpret_cast<GetThreads>(dlsym(library, "openblas_get_num_threads"));
    set = reinterpret_cast<SetThreads>(dlsym(library, "openblas_set_num_threads"));
    dlclose(library);  // RTLD_NOLOAD took one more reference; the library stays mapped
    if (get == nullptr || set == nullptr) get = nullptr, set = nullptr;
    return get != nullptr;
  }

  template <typename Function>
  static Function symbol(const char* name, const char* other_name) {
    void* found = dlsym(RTLD_DEFAULT, name);
    if (found == nullptr) found = dlsym(RTLD_DEFAULT, other_name);
    return reinterpret_cast<Function>(found);
  }
};

const BlasThreadControl& control() {
  static const BlasThreadControl instance;
  return instance;
}

/// While alive, MKL runs the calling thread's products on that thread (a
/// per-thread setting; the previous one comes back at the end). Does nothing
/// for OpenBLAS, whose setting is process-wide (SingleThreadedBlas).
class ThisThreadSingleThreadedBlas {
 public:
  ThisThreadSingleThreadedBlas() {
    if (control().set_local) previous_ = control().set_local(1);
  }
  ~ThisThreadSingleThreadedBlas() {
    if (control().set_local) control().set_local(previous_);
  }
  ThisThreadSingleThreadedBlas(const ThisThreadSingleThreadedBlas&) = delete;
  ThisThreadSingleThreadedBlas& operator=(const ThisThreadSingleThreadedBlas&) = delete;

 private:
  int previous_ = 0;  // MKL's "no local setting"
};

}  // namespace

int blas_threads() { return control().get ? control().get() : 0; }

SingleThreadedBlas::SingleThreadedBlas() : previous_(blas_threads()) {
  if (control().set_local)
    previous_ = control().set_local(1);
  else if (previous_ > 1)
    control().set(1);
}

SingleThreadedBlas::~SingleThreadedBlas() {
  if (control().set_local)
    control().set_local(previous_);
  else if (previous_ > 1)
    control().set(previous_);
}

void run_split(int64_t items, int workers, const std::function<void(int, int64_t, int64_t)>& work) {
  workers = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(workers, items)));
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(workers));
  auto run = [&](int worker) {
    const ThisThreadSingleThreadedBlas single_threaded;  // each worker's products on its own thread
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
