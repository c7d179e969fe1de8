#include "core/blas_check.h"

#include <fstream>

namespace dgm {

std::string loaded_blas_library() {
  // /proc/self/maps lists each mapped file by its resolved path, so the
  // alternatives symlink shows up as the library it really points at.
  // Debian's libtorch links both libblas.so.3 and libopenblas.so.0; the BLAS
  // routines resolve to libblas.so.3, which comes first, so that one decides.
  std::ifstream maps("/proc/self/maps");
  std::string line, openblas;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    if (path.find("libblas.so") != std::string::npos) return path;
    if (openblas.empty() && path.find("libopenblas") != std::string::npos) openblas = path;
  }
  return openblas;
}

bool on_reference_blas() {
  const std::string path = loaded_blas_library();
  return path.find("/blas/libblas.so") != std::string::npos;
}

std::string blas_warning() {
  if (!on_reference_blas()) return "";
  return "warning: LibTorch runs on the reference BLAS (" + loaded_blas_library() +
         "), over 20 times slower than OpenBLAS; run `apt-get install libopenblas0-pthread` "
         "(or `update-alternatives --auto libblas.so.3-x86_64-linux-gnu` if it is installed)";
}

}  // namespace dgm
