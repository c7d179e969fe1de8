#pragma once
// Progress on stderr: a redrawn bar with rate, ETA and the current loss when
// stderr is a terminal; plain lines every few seconds otherwise (logs, CI).

#include <chrono>
#include <cstdint>
#include <string>

namespace dgm {

class Progress {
 public:
  /// `total` steps of `label`; `unit` names what the rate counts (e.g. "img").
  Progress(std::string label, int64_t total, std::string unit = "it", bool enabled = true);
  /// Marks `done` steps finished, `items` more units processed, with `loss`
  /// (NaN: none to show).
  void update(int64_t done, int64_t items, double loss);
  /// Ends the bar's line.
  void finish();

 private:
  void draw(bool final);
  std::string loss_text(const char* prefix) const;
  std::string label_, unit_;
  int64_t total_, done_ = 0, items_ = 0;
  double loss_ = 0.0;
  bool enabled_, tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

/// "1:05" or "1:02:05".
std::string format_duration(double seconds);

}  // namespace dgm
