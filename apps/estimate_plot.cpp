#include "apps/estimate_plot.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "apps/gnuplot.h"
#include "core/error.h"
#include "estimators/log_weights.h"

namespace dgm {
namespace fs = std::filesystem;

namespace {

/// log of the mean of the first n weights, for n = 1..K: [K].
torch::Tensor running_log_mean(const torch::Tensor& log_weights) {
  auto counts = torch::arange(1, log_weights.size(0) + 1, log_weights.options());
  return torch::logcumsumexp(log_weights, 0) - torch::log(counts);
}

}  // namespace

void write_estimate_plot(const std::string& path, LatentVariableModel& model, const torch::Tensor& example,
                         const torch::Tensor& example_mask, const Proposal& proposal, const std::vector<int64_t>& ks,
                         const std::map<std::string, std::vector<double>>& means_by_estimator,
                         std::optional<double> exact_mean, std::optional<double> exact_of_example,
                         const std::map<std::string, double>& means_without_k) {
  torch::NoGradGuard no_grad;
  const int64_t samples = std::max<int64_t>(1000, *std::max_element(ks.begin(), ks.end()));
  const Proposal blind = model.latent_support_size() > 0 ? uniform_proposal() : prior_proposal();
  auto log_weights = [&](const Distribution& q) {
    auto z = draw_samples(q, samples, draws_in_blocks(example));
    return importance_log_weights(model, example, q, z, example_mask).select(1, 0);
  };
  auto naive = running_log_mean(log_weights(*blind(model, example, example_mask)));
  auto importance = running_log_mean(log_weights(*proposal(model, example, example_mask)));

  render_with_gnuplot(path, [&](const std::string& dir, const std::string& png) {
    const std::string running_file = (fs::path(dir) / "running.dat").string();
    const std::string bias_file = (fs::path(dir) / "bias.dat").string();
    {
      std::ofstream running(running_file);
      auto n = naive.to(torch::kFloat64).cpu(), is = importance.to(torch::kFloat64).cpu();
      for (int64_t i = 0; i < samples; ++i)
        running << i + 1 << ' ' << n[i].item<double>() << ' ' << is[i].item<double>() << '\n';
      std::ofstream bias(bias_file);
      for (std::size_t i = 0; i < ks.size(); ++i) {
        bias << ks[i];
        for (const auto& [name, means] : means_by_estimator) bias << ' ' << means[i] - exact_mean.value_or(0.0);
        bias << '\n';
      }
    }
    std::string series;
    int column = 2;
    for (const auto& [name, means] : means_by_estimator) {
      series += fmt::format("{}{} using 1:{} with linespoints lw 2 title '{}'", series.empty() ? "" : ", ",
                            gnuplot_quoted(bias_file), column++, name);
    }
    for (const auto& [name, mean] : means_without_k)
      series += fmt::format("{}{} with lines dt 3 lw 2 title '{}'", series.empty() ? "" : ", ",
                            mean - exact_mean.value_or(0.0), name);
    return fmt::format(
        "set terminal pngcairo size 1400,560 font ',11'\n"
        "set output {}\n"
        "set multiplot layout 1,2\n"
        "set logscale x\nset grid\nset key bottom right\n"
        "set title 'Running estimate of log p(x) on one example'\n"
        "set xlabel 'number of samples'\nset ylabel 'log p-hat (nats)'\n"
        "plot {} using 1:2 with lines lw 2 title 'naive Monte Carlo (z blind of x)', "
        "'' using 1:3 with lines lw 2 title 'importance sampling (q(z|x))'{}\n"
        "set title '{}'\nset xlabel 'k'\nset ylabel '{}'\n"
        "plot {}{}\n"
        "unset multiplot\n",
        gnuplot_quoted(png), gnuplot_quoted(running_file),
        exact_of_example ? fmt::format(", {} with lines dt 2 lw 2 lc 'black' title 'exact log p(x)'", *exact_of_example)
                         : "",
        exact_mean ? "Bias of the estimate against k (mean over examples)" : "Mean estimate against k",
        exact_mean ? "estimate - exact (nats)" : "mean log p-hat (nats)", series,
        exact_mean ? ", 0 with lines dt 2 lc 'black' title 'exact'" : "");
  });
}

}  // namespace dgm
