#pragma once
// Pictures drawn by gnuplot (Debian's gnuplot-nox): data files and a script in
// a temporary directory, rendered to PNG, then moved onto the target atomically.

#include <functional>
#include <string>

namespace dgm {

/// Calls `write(dir, png)` to write data files into the temporary `dir` and
/// return a gnuplot script that draws to `png`; runs gnuplot; moves the
/// picture to `path`. A missing gnuplot or a failed run is a dgm::Error.
void render_with_gnuplot(const std::string& path,
                         const std::function<std::string(const std::string& dir, const std::string& png)>& write);

/// 'text' quoted for a gnuplot script.
std::string gnuplot_quoted(const std::string& text);

}  // namespace dgm
