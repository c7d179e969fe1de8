#pragma once
// Text that may not be UTF-8: file names are bytes on POSIX, while YAML and
// JSON hold Unicode text only.

#include <string>

namespace dgm {

/// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or
/// code points past U+10FFFF).
bool is_utf8(const std::string& text);

}  // namespace dgm
