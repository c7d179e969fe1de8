#include "apps/gmm_plot.h"

#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "apps/gnuplot.h"
#include "core/error.h"

namespace dgm {
namespace fs = std::filesystem;

void write_mixture_plot(const std::string& path, const GaussianMixture& mixture, const torch::Tensor& x_in) {
  torch::NoGradGuard no_grad;
  auto x = x_in.to(torch::kCPU, torch::kFloat64);
  auto responsibilities = mixture.responsibilities(x_in).to(torch::kCPU, torch::kFloat64);
  // Named tensors, not a structured binding: lambdas capture those only from C++20.
  const auto best = responsibilities.max(-1);
  const torch::Tensor strength = std::get<0>(best), label = std::get<1>(best);
  auto means = mixture.means().to(torch::kCPU, torch::kFloat64);
  auto covariances = mixture.full_covariances().to(torch::kCPU, torch::kFloat64);
  const int64_t d = x.size(1);
  if (d < 2) fail("--plot needs points of at least 2 dimensions, these have {}", d);
  std::string x_axis = "x_1", y_axis = "x_2";
  torch::Tensor basis;  // [D, 2]
  if (d > 2) {
    auto centred = x - x.mean(0);
    auto eigenvectors = std::get<1>(torch::linalg_eigh(centred.t().matmul(centred)));
    basis = eigenvectors.flip(1).slice(1, 0, 2);
    x_axis = "first principal direction";
    y_axis = "second principal direction";
  } else {
    basis = torch::eye(2, torch::kFloat64).slice(0, 0, d);
  }
  auto points = x.matmul(basis);                                              // [N, 2]
  auto centres = means.matmul(basis);                                         // [K, 2]
  auto projected = basis.t().unsqueeze(0).matmul(covariances).matmul(basis);  // [K, 2, 2]
  render_with_gnuplot(path, [&](const std::string& dir, const std::string& png) {
    const std::string point_file = (fs::path(dir) / "points.dat").string();
    const std::string ellipse_file = (fs::path(dir) / "ellipses.dat").string();
    {
      std::ofstream out(point_file);
      for (int64_t i = 0; i < points.size(0); ++i)
        out << points[i][0].item<double>() << ' ' << points[i][1].item<double>() << ' ' << label[i].item<int64_t>()
            << ' ' << strength[i].item<double>() << '\n';
      std::ofstream ellipses(ellipse_file);
      for (int64_t k = 0; k < centres.size(0); ++k) {
        // 2-sigma ellipse: centre + 2 L (cos t, sin t), L the Cholesky factor.
        auto lower = torch::linalg_cholesky(projected[k]);
        for (int step = 0; step <= 100; ++step) {
          const double t = 2 * M_PI * step / 100.0;
          auto offset = lower.matmul(torch::tensor({2 * std::cos(t), 2 * std::sin(t)}, torch::kFloat64));
          ellipses << centres[k][0].item<double>() + offset[0].item<double>() << ' '
                   << centres[k][1].item<double>() + offset[1].item<double>() << '\n';
        }
        ellipses << "\n\n";
      }
    }
    return fmt::format(
        "set terminal pngcairo size 900,800 font ',11'\nset output {}\n"
        "set title '{} components ({} covariance): colour = most responsible component, size = its responsibility'\n"
        "set xlabel '{}'\nset ylabel '{}'\nset key off\nset grid\n"
        "plot {} using 1:2:(0.15 + 0.6 * $4):($3 + 1) with points pt 7 ps variable lc variable, "
        "{} with lines lw 2 lc 'black'\n",
        gnuplot_quoted(png), mixture.components(), to_string(mixture.type()), x_axis, y_axis,
        gnuplot_quoted(point_file), gnuplot_quoted(ellipse_file));
  });
}

}  // namespace dgm
