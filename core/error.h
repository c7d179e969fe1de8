#pragma once
// The one exception type dgm throws for a user's mistake (bad file, bad key, bad
// value). Its message names what was wrong and what to do; apps print it as is.

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace dgm {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The first line of a message: LibTorch's errors continue with a backtrace
/// that users need not read.
inline std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

/// A library's message without its bracketed tag: nlohmann-json's
/// "[json.exception.parse_error.101] parse error at line 1, ..." reads
/// "parse error at line 1, ...".
inline std::string without_tag(const std::string& text) {
  if (text.empty() || text.front() != '[') return text;
  const auto end = text.find("] ");
  return end == std::string::npos ? text : text.substr(end + 2);
}

/// Throws dgm::Error with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace dgm
