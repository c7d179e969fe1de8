#include "core/memory_budget.h"

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cmath>
#include <fstream>
#include <limits>

#include "core/error.h"

namespace dgm {
namespace {

std::atomic<uint64_t> chosen_limit{0};

constexpr uint64_t kUnknownMemoryDefault = uint64_t{16} << 30;

}  // namespace

uint64_t physical_memory() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page_size = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return 0;
  return saturating_product({static_cast<uint64_t>(pages), static_cast<uint64_t>(page_size)});
}

/// What this process may have at most: the smallest of physical memory, an
/// address-space or data rlimit (ulimit -v / -d) and a cgroup v2 memory.max
/// (a container's limit); 0 when none is known.
uint64_t available_memory() {
  uint64_t available = physical_memory();
  auto lower = [&](uint64_t bound) {
    if (bound > 0 && (available == 0 || bound < available)) available = bound;
  };
  for (int resource : {RLIMIT_AS, RLIMIT_DATA}) {
    rlimit limit{};
    if (::getrlimit(resource, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) lower(limit.rlim_cur);
  }
  std::ifstream cgroup("/sys/fs/cgroup/memory.max");
  std::string text;
  if (cgroup >> text && !text.empty() && std::isdigit(static_cast<unsigned char>(text[0]))) {
    try {
      lower(std::stoull(text));
    } catch (const std::exception&) {
      // an unreadable limit is no limit
    }
  }
  return available;
}

uint64_t memory_limit() {
  if (const uint64_t chosen = chosen_limit.load()) return chosen;
  const uint64_t available = available_memory();
  return available > 0 ? available / 5 * 4 : kUnknownMemoryDefault;
}

void set_memory_limit(uint64_t bytes) { chosen_limit.store(bytes); }

uint64_t parse_memory_size(const std::string& text) {
  auto bad = [&]() -> uint64_t {
    fail(
        "memory size '{}' is not valid: a number of bytes with an optional unit K, M, G or T (powers of 1024), "
        "e.g. 8G or 512M",
        text);
  };
  std::size_t used = 0;
  double number = 0;
  try {
    number = std::stod(text, &used);
  } catch (const std::exception&) {
    return bad();
  }
  if (!std::isfinite(number) || number <= 0) return bad();
  std::string unit = text.substr(used);
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.size() >= 2 && unit.substr(unit.size() - 2) == "IB")
    unit.resize(unit.size() - 2);
  else if (!unit.empty() && unit.back() == 'B')
    unit.pop_back();
  double scale = 1;
  if (unit == "K")
    scale = 1024.0;
  else if (unit == "M")
    scale = 1024.0 * 1024;
  else if (unit == "G")
    scale = 1024.0 * 1024 * 1024;
  else if (unit == "T")
    scale = 1024.0 * 1024 * 1024 * 1024;
  else if (!unit.empty())
    return bad();
  const double bytes = number * scale;
  if (bytes < 1 || bytes > 1.8e19) return bad();
  return static_cast<uint64_t>(bytes);
}

std::string human_bytes(uint64_t bytes) {
  if (bytes == std::numeric_limits<uint64_t>::max()) return "more than 16 EiB";
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 6) value /= 1024, ++unit;
  return unit == 0 ? fmt::format("{} bytes", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

uint64_t saturating_product(std::initializer_list<uint64_t> counts) {
  for (uint64_t count : counts)
    if (count == 0) return 0;
  uint64_t product = 1;
  for (uint64_t count : counts) {
    if (product > std::numeric_limits<uint64_t>::max() / count) return std::numeric_limits<uint64_t>::max();
    product *= count;
  }
  return product;
}

void check_memory(uint64_t bytes, const std::string& what, const std::string& advice) {
  const uint64_t limit = memory_limit();
  if (bytes <= limit) return;
  fail(
      "{} needs {}, more than the memory limit of {} (--memory-limit; by default 80% of the {} this process may "
      "use); {}",
      what, human_bytes(bytes), human_bytes(limit), human_bytes(available_memory()), advice);
}

}  // namespace dgm
