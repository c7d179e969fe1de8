#pragma once
// dgm as N processes on c10d, started by torchrun (`torchrun --no_python
// --nproc_per_node=N dgm ...`) or by a scheduler that sets the same
// variables: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (LOCAL_RANK, and
// TORCHELASTIC_USE_AGENT_STORE where torchrun's agent already hosts the TCP
// store). c10d's TCPStore is the rendezvous and c10d's process groups the
// transport, no home-made one: Gloo for CPU tensors and, in a LibTorch
// built with CUDA and NCCL, ProcessGroupNCCL for CUDA tensors (one GPU per
// local rank; without NCCL they are copied through Gloo). A collective that fails because another
// process stopped, or that waits past DGM_PROCESS_GROUP_TIMEOUT seconds
// (default 600) for one that hangs, is a dgm::Error that says so.

#include <optional>
#include <string>

#include "core/collectives.h"

namespace dgm {

/// The process group the environment describes.
struct ProcessGroupEnvironment {
  int rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr;
  int master_port = 0;
  /// torchrun's agent hosts the store: every process is its client.
  bool agent_store = false;
  /// TORCHELASTIC_RESTART_COUNT: the agent store's keys are per attempt.
  int restart_count = 0;
  int timeout_seconds = 600;
};

/// Reads the variables; nullopt when WORLD_SIZE is unset or 1. A variable
/// that is missing or not a number in range is a dgm::Error naming it.
std::optional<ProcessGroupEnvironment> process_group_environment();

/// Whether this dgm was built with c10d's Gloo process group.
bool process_groups_available();

/// Whether CUDA tensors travel through c10d's NCCL process group (a
/// LibTorch built with CUDA and NCCL) rather than through Gloo.
bool nccl_available();

/// Joins the group the environment describes (once; later calls return it)
/// and makes it process_group(). Alone, returns single_process().
Collectives& join_process_group();

/// The group joined, or single_process() before or without one.
Collectives& process_group();

}  // namespace dgm
