#pragma once
// What data-parallel training says between its processes (as PyTorch's
// DistributedDataParallel): the parameters broadcast from rank 0, the
// gradients summed in flat buckets, and a check that the processes still hold
// the same parameters. Over any Collectives (core/collectives.h).

#include <torch/nn/module.h>

#include <cstdint>
#include <vector>

#include "core/collectives.h"

namespace dgm {

/// Rank 0's parameters and buffers on every process (in place).
void broadcast_parameters(Collectives& group, torch::nn::Module& model);

/// The gradients of a model's parameters as views of a few flat buffers
/// (as PyTorch DDP's gradient_as_bucket_view): autograd accumulates into
/// them in place, and the sum over the processes runs on the buffers
/// themselves, a few collectives per step and no copies in or out. A buffer
/// holds one dtype on one device and about `bucket_bytes` (a parameter
/// larger than that goes alone); the last one also carries `riders` numbers
/// of the caller's (the step's loss, a stop flag) that are summed with the
/// gradients instead of by a collective of their own. Parameters that
/// require no gradient are left out; the gradients they hold so far are kept.
class GradientBuckets {
 public:
  explicit GradientBuckets(torch::nn::Module& model, int64_t riders = 0, int64_t bucket_bytes = 25 << 20);

  /// Zeros every gradient in place, so the views stay (instead of the
  /// optimizer's zero_grad, which LibTorch 2.x makes drop them); also the riders.
  void zero();

  /// Each gradient summed over the processes, in place, and the riders with
  /// them: `riders` (as many as the constructor said) are this process's
  /// numbers before and the sums after. A gradient that something replaced
  /// by another tensor (not a view any more) is copied in, summed, and a
  /// view again from then on. The riders travel in the gradients' dtype (float32 counts
  /// exactly to 2^24).
  void all_reduce(Collectives& group, std::vector<double>& riders);

  /// How many buffers, and so how many collectives per step.
  std::size_t buffers() const { return buffers_.size(); }

 private:
  struct Slot {
    torch::Tensor parameter;
    std::size_t buffer;
    int64_t offset;
  };
  bool is_view_of_its_buffer(const Slot& slot) const;

  std::vector<torch::Tensor> buffers_;
  std::vector<Slot> slots_;
  int64_t riders_ = 0;
};

/// Two numbers that differ, with overwhelming probability, when any
/// parameter differs in any bit: the float64 sums of the values and of the
/// values weighted by a fixed pseudo-random sequence.
torch::Tensor parameter_fingerprint(torch::nn::Module& model);

/// Throws a dgm::Error when the processes' parameters differ (by their
/// fingerprints), naming the step: training must stay in lockstep.
void check_same_parameters(Collectives& group, torch::nn::Module& model, int64_t step);

}  // namespace dgm
