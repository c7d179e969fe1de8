#pragma once
// CIFAR-10 and CIFAR-100 in their published binary layout
// (www.cs.toronto.edu/~kriz/cifar.html): records of a label byte (CIFAR-100:
// a coarse and a fine label byte) and 3,072 pixel bytes, the red, green and
// blue 32 x 32 planes in row order. CIFAR-10 ships data_batch_1.bin ..
// data_batch_5.bin and test_batch.bin (10,000 records each), CIFAR-100
// train.bin and test.bin. A directory of either is a data.path, as
// torchvision's CIFAR10(root) is.

#include <torch/types.h>

#include <string>
#include <vector>

#include "core/data_sources.h"

namespace dgm {

/// Which layout a batch file has: CIFAR-100's files are train.bin and
/// test.bin, every other name is CIFAR-10's.
bool is_cifar100_file(const std::string& path);

/// One batch file: x uint8 [N, 3, 32, 32] and labels int64 [N] (CIFAR-100:
/// the fine label, 0..99). A size that is not a whole number of records is
/// a dgm::Error naming the file, found before anything is read.
DataFile read_cifar(const std::string& path);

/// The batch files of `split` in the directory `dir`, in order, or none when
/// it holds no CIFAR batches.
std::vector<std::string> cifar_batches(const std::string& dir, bool train);

/// Several batch files, concatenated in order.
DataFile read_cifar_batches(const std::vector<std::string>& paths);

}  // namespace dgm
