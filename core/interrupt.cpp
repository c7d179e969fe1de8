#include "core/interrupt.h"

#include <unistd.h>

#include <limits.h>
#include <array>
#include <atomic>
#include <csignal>
#include <cstring>

namespace dgm {
namespace {

std::atomic<bool> g_stop_requested{false};
std::atomic<const char*> g_safe_point_message{nullptr};  ///< non-null inside a StopAtSafePoint scope
std::atomic<int> g_signal{0};

/// A fixed table, so that the signal handler reads it without allocating.
struct TemporarySlot {
  std::atomic<bool> used{false};
  std::atomic<bool> ready{false};  ///< path written in full
  char path[PATH_MAX + 1] = {};
};
std::array<TemporarySlot, 16> g_temporaries;

void write_stderr(const char* text) {
  const std::size_t size = std::strlen(text);
  // The result is ignored: nothing better can be done in a signal handler.
  [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, text, size);
}

extern "C" void on_interrupt(int signal) {
  const char* message = g_safe_point_message.load();
  if (message != nullptr && !g_stop_requested.exchange(true)) {
    g_signal = signal;
    write_stderr(message);
    return;
  }
  for (auto& slot : g_temporaries)
    if (slot.used.load() && slot.ready.load()) ::unlink(slot.path);
  write_stderr(signal == SIGTERM
                   ? "\ndgm: terminated (SIGTERM); files being written were removed, earlier ones are whole\n"
                   : "\ndgm: interrupted (Ctrl-C); files being written were removed, earlier ones are whole\n");
  ::_exit(128 + signal);
}

}  // namespace

void install_interrupt_handler() {
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int signal : {SIGINT, SIGTERM}) {
    // A signal ignored on entry stays ignored (nohup, `dgm ... &` in a script), as shells do.
    struct sigaction current {};
    if (::sigaction(signal, nullptr, &current) == 0 && current.sa_handler == SIG_IGN) continue;
    ::sigaction(signal, &action, nullptr);
  }
}

StopAtSafePoint::StopAtSafePoint(const char* message) {
  g_stop_requested = false;
  g_signal = 0;
  g_safe_point_message = message;
}

StopAtSafePoint::~StopAtSafePoint() { g_safe_point_message = nullptr; }

bool stop_requested() { return g_stop_requested.load(); }

void request_stop() { g_stop_requested = true; }

int interrupted_exit_status() { return 128 + (g_signal.load() == 0 ? SIGINT : g_signal.load()); }

int remember_temporary(const std::string& path) {
  if (path.size() > PATH_MAX) return -1;
  for (std::size_t i = 0; i < g_temporaries.size(); ++i) {
    auto& slot = g_temporaries[i];
    bool expected = false;
    if (!slot.used.compare_exchange_strong(expected, true)) continue;
    std::memcpy(slot.path, path.c_str(), path.size() + 1);
    slot.ready = true;
    return static_cast<int>(i);
  }
  return -1;
}

void forget_temporary(int ticket) {
  if (ticket < 0) return;
  auto& slot = g_temporaries[static_cast<std::size_t>(ticket)];
  slot.ready = false;
  slot.used = false;
}

}  // namespace dgm
