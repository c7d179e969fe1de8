#pragma once
// What data-parallel training says between its processes (as PyTorch's
// DistributedDataParallel): the parameters broadcast from rank 0, the
// gradients summed in buckets, and a check that the processes still hold
// the same parameters. Over any Collectives (core/collectives.h).

#include <torch/nn/module.h>

#include <cstdint>

#include "core/collectives.h"

namespace dgm {

/// Rank 0's parameters and buffers on every process (in place).
void broadcast_parameters(Collectives& group, torch::nn::Module& model);

/// Each parameter's gradient summed over the processes (in place), in
/// buckets of at most `bucket_bytes` (a parameter larger than a bucket goes
/// alone): a few collectives per step instead of one per tensor. A gradient
/// that is undefined here (a process whose part of the batch was empty)
/// counts as zeros.
void all_reduce_gradients(Collectives& group, torch::nn::Module& model, int64_t bucket_bytes = 25 << 20);

/// Two numbers that differ, with overwhelming probability, when any
/// parameter differs in any bit: the float64 sums of the values and of the
/// values weighted by a fixed pseudo-random sequence.
torch::Tensor parameter_fingerprint(torch::nn::Module& model);

/// Throws a dgm::Error when the processes' parameters differ (by their
/// fingerprints), naming the step: training must stay in lockstep.
void check_same_parameters(Collectives& group, torch::nn::Module& model, int64_t step);

}  // namespace dgm
