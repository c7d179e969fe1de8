#include "apps/gnuplot.h"

#include <cstdlib>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"

namespace dgm {
namespace fs = std::filesystem;

std::string gnuplot_quoted(const std::string& text) { return "'" + text + "'"; }

void render_with_gnuplot(const std::string& path,
                         const std::function<std::string(const std::string& dir, const std::string& png)>& write) {
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0)
    fail("drawing {} needs gnuplot, which is not installed: apt-get install gnuplot-nox", path);
  char pattern[] = "/tmp/dgm-plot-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) fail("cannot create a temporary directory to draw {}", path);
  const fs::path dir(pattern);
  const std::string png = (dir / "plot.png").string();
  try {
    write_text_atomically((dir / "plot.gp").string(), write(dir.string(), png));
    const std::string command = "gnuplot " + gnuplot_quoted((dir / "plot.gp").string()) + " 2>&1";
    const int status = std::system(command.c_str());
    if (status != 0 || !fs::exists(png)) fail("gnuplot failed to draw {} (exit status {})", path, status);
    write_atomically(path,
                     [&](const std::string& tmp) { fs::copy_file(png, tmp, fs::copy_options::overwrite_existing); });
  } catch (...) {
    fs::remove_all(dir);
    throw;
  }
  fs::remove_all(dir);
}

}  // namespace dgm
