#pragma once
// NumPy's .npz archives (np.savez, stored; np.savez_compressed, deflated): a
// zip of .npy records, one per array, named by its key ("x.npy" for
// np.savez(f, x=...); "arr_0.npy" for a positional array). Read through
// core/zip_archive.h: sizes checked against the file and the memory limit
// before anything is allocated, every record's CRC-32 compared.

#include <torch/types.h>

#include <string>
#include <vector>

namespace dgm {

/// The arrays' keys of the archive `path`, in name order.
std::vector<std::string> npz_keys(const std::string& path);

/// The array `key` of the archive `path` as a CPU tensor of its dtype and
/// shape. An empty key means the archive's only array. A missing key (or an
/// empty one where there are several arrays) is a dgm::Error that lists the
/// keys there are and names data.key.
torch::Tensor read_npz(const std::string& path, const std::string& key, const std::string& key_option = "data.key");

}  // namespace dgm
