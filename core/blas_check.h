#pragma once
// Debian's libtorch runs on whatever libblas.so.3 the alternatives system points
// at; the reference BLAS is over 20 times slower than OpenBLAS on our layers.

#include <string>

namespace dgm {

/// The path of the libblas.so.3 this process has mapped, or "" when none is.
std::string loaded_blas_library();

/// True when the process runs on Debian's slow reference BLAS.
bool on_reference_blas();

/// A one-line warning with the fix when on the reference BLAS, else "".
std::string blas_warning();

}  // namespace dgm
