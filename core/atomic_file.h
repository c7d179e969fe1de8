#pragma once
// Files a user keeps are never half-written: everything is written to a
// temporary name beside the target and renamed over it, which is atomic on POSIX.

#include <functional>
#include <string>

namespace dgm {

/// Calls `write(tmp_path)` and renames tmp_path onto `path`. If `write` throws,
/// the temporary file is removed and `path` is left as it was.
void write_atomically(const std::string& path, const std::function<void(const std::string&)>& write);

/// Writes `text` to `path` atomically.
void write_text_atomically(const std::string& path, const std::string& text);

/// Reads a whole file; a missing file is a dgm::Error naming it.
std::string read_text_file(const std::string& path);

}  // namespace dgm
