#include "apps/confusion_plot.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "apps/gnuplot.h"

namespace dgm {
namespace fs = std::filesystem;

void write_confusion_plot(const std::string& path, const torch::Tensor& counts, const std::string& title,
                          const std::string& column_label) {
  auto c = counts.to(torch::kCPU, torch::kFloat64);
  auto shares = c / c.sum(1, true).clamp_min(1.0);
  const int64_t rows = c.size(0), columns = c.size(1);
  render_with_gnuplot(path, [&](const std::string& dir, const std::string& png) {
    const std::string cells = (fs::path(dir) / "cells.dat").string();
    {
      std::ofstream out(cells);
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < columns; ++j)
          out << j << ' ' << i << ' ' << shares[i][j].item<double>() << ' '
              << static_cast<int64_t>(c[i][j].item<double>()) << '\n';
    }
    const int64_t side = std::max<int64_t>(420, 48 * std::max(rows, columns) + 160);
    return fmt::format(
        "set terminal pngcairo size {},{} font ',10'\n"
        "set output {}\n"
        "set title {}\n"
        "set xlabel {}\nset ylabel 'true class'\n"
        "set xrange [-0.5:{}.5]\nset yrange [{}.5:-0.5]\n"
        "set xtics 1 out nomirror\nset ytics 1 out nomirror\n"
        "set cbrange [0:1]\nset cblabel 'share of the true class'\n"
        "set palette defined (0 'white', 1 '#08306b')\n"
        "plot {} using 1:2:3 with image notitle, '' using 1:2:(sprintf('%d', $4)):($3 > 0.5 ? 16777215 : 0) "
        "with labels tc rgb variable notitle\n",
        side, side - 60, gnuplot_quoted(png), gnuplot_quoted(title), gnuplot_quoted(column_label), columns - 1,
        rows - 1, gnuplot_quoted(cells));
  });
}

}  // namespace dgm
