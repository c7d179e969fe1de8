#include "core/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace dgm {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto total = static_cast<int64_t>(seconds + 0.5);
  if (total >= 3600) return fmt::format("{}:{:02}:{:02}", total / 3600, (total / 60) % 60, total % 60);
  return fmt::format("{}:{:02}", total / 60, total % 60);
}

Progress::Progress(std::string label, int64_t total, std::string unit, bool enabled)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      enabled_(enabled),
      tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

void Progress::update(int64_t done, int64_t items, double loss) {
  done_ = done;
  items_ += items;
  loss_ = loss;
  const auto now = std::chrono::steady_clock::now();
  // A terminal is redrawn 10 times a second; a log gets a line every 10 s.
  const double interval = tty_ ? 0.1 : 10.0;
  if (std::chrono::duration<double>(now - last_draw_).count() >= interval) {
    last_draw_ = now;
    draw(false);
  }
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (enabled_ && tty_) {
    draw(true);
    std::fputc('\n', stderr);
  }
}

std::string Progress::loss_text(const char* prefix) const {
  return std::isnan(loss_) ? std::string() : fmt::format("{}{:.3f}", prefix, loss_);
}

void Progress::draw(bool final) {
  if (!enabled_) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(items_) / elapsed : 0.0;
  const double eta = done_ > 0 ? elapsed * static_cast<double>(total_ - done_) / static_cast<double>(done_) : NAN;
  const double fraction = total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
  if (tty_) {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(kWidth, '.');
    fmt::print(stderr, "\r{} [{}] {}/{} {:.0f} {}/s eta {}{}{}", label_, bar, done_, total_, rate, unit_,
               final ? format_duration(0) : format_duration(eta), loss_text(" loss "), "   ");
  } else {
    fmt::print(stderr, "{}: {}/{} ({:.0f}%), {:.0f} {}/s, eta {}{}\n", label_, done_, total_, 100 * fraction, rate,
               unit_, format_duration(eta), loss_text(", loss "));
  }
  std::fflush(stderr);
}

}  // namespace dgm
