#pragma once
// Ctrl-C (SIGINT) and SIGTERM, honoured with a message at every stage.
//
// By default an interrupt ends dgm at once with status 128 + signal: every
// file a user keeps is written to a temporary name and renamed (atomic_file.h),
// so stopping anywhere leaves the previous files whole, and the handler
// removes the temporaries being written. Code that can stop more usefully
// (training saves a checkpoint first) opens a StopAtSafePoint scope: inside
// it the first interrupt only asks to stop, and the code polls
// stop_requested() at its safe points; a second interrupt ends dgm at once.

#include <string>

namespace dgm {

/// Installs the handler for SIGINT and SIGTERM (once, at the start of main).
/// A signal that was ignored when dgm started stays ignored.
void install_interrupt_handler();

/// Within its lifetime the first interrupt sets stop_requested() and prints
/// `message` (a string literal: it is written by the signal handler) instead
/// of ending the process. Scopes do not nest.
class StopAtSafePoint {
 public:
  explicit StopAtSafePoint(const char* message);
  ~StopAtSafePoint();
  StopAtSafePoint(const StopAtSafePoint&) = delete;
  StopAtSafePoint& operator=(const StopAtSafePoint&) = delete;
};

/// Whether an interrupt arrived in a StopAtSafePoint scope (or request_stop() was called).
bool stop_requested();

/// Asks the code in a StopAtSafePoint scope to stop at its next safe point, as
/// an interrupt would. Async-signal-safe.
void request_stop();

/// The exit status dgm ends with after an interrupt (130 for Ctrl-C, 143 for SIGTERM).
int interrupted_exit_status();

/// Temporary files being written: an interrupt that ends dgm removes them.
/// Returns a ticket for forget_temporary (or -1 when the table is full, in
/// which case the file is cleaned by DirectoryLock::remove_stale_temporaries).
int remember_temporary(const std::string& path);
void forget_temporary(int ticket);

}  // namespace dgm
