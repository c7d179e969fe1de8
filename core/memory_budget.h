#pragma once
// The memory dgm may ask for, checked before a size a user chose (k x batch
// x dimension, components x dimension^2, a file's header) reaches the
// allocator: a refusal names the option, the bytes it would need and what
// to change, where LibTorch would print "DefaultCPUAllocator: can't
// allocate memory" (or the machine would swap).

#include <cstdint>
#include <initializer_list>
#include <string>

namespace dgm {

/// This machine's physical memory in bytes (0 when the system does not say).
uint64_t physical_memory();

/// What this process may use: the least of physical memory, ulimit -v / -d
/// and a cgroup's memory.max (0 when none is known).
uint64_t available_memory();

/// The limit: set_memory_limit's, else 80% of available_memory() (16 GiB
/// when that is unknown).
uint64_t memory_limit();
/// Sets the limit (dgm's `--memory-limit`); 0 restores the default.
void set_memory_limit(uint64_t bytes);

/// "512M", "8G", "1.5GiB", "2T", "1000000" (bytes): the units are powers of
/// 1024, with or without "iB"/"B". Anything else is a dgm::Error naming `text`.
uint64_t parse_memory_size(const std::string& text);
/// "3.2 GB"-style text for a byte count (powers of 1024: KiB, MiB, GiB, TiB).
std::string human_bytes(uint64_t bytes);

/// The product of `counts`, saturating at UINT64_MAX instead of wrapping.
uint64_t saturating_product(std::initializer_list<uint64_t> counts);

/// A dgm::Error unless `bytes` fit the limit: "{what} needs {bytes}, more
/// than the memory limit of {limit} (--memory-limit; ...); {advice}".
void check_memory(uint64_t bytes, const std::string& what, const std::string& advice);

}  // namespace dgm
