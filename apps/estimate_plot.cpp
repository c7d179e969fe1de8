#include "apps/estimate_plot.h"

#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/atomic_file.h"
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

std::string quoted(const std::string& path) { return "'" + path + "'"; }

}  // namespace

void write_estimate_plot(const std::string& path, LatentVariableModel& model, const torch::Tensor& example,
                         const torch::Tensor& example_mask, const Proposal& proposal, const std::vector<int64_t>& ks,
                         const std::map<std::string, std::vector<double>>& means_by_estimator,
                         std::optional<double> exact_mean, std::optional<double> exact_of_example) {
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0)
    fail("--plot needs gnuplot, which is not installed: apt-get install gnuplot-nox");
  torch::NoGradGuard no_grad;
  const int64_t samples = std::max<int64_t>(1000, *std::max_element(ks.begin(), ks.end()));
  const Proposal blind = model.latent_support_size() > 0 ? uniform_proposal() : prior_proposal();
  auto naive = running_log_mean(
      importance_log_weights(model, example, *blind(model, example, example_mask), samples, example_mask).select(1, 0));
  auto importance = running_log_mean(
      importance_log_weights(model, example, *proposal(model, example, example_mask), samples, example_mask)
          .select(1, 0));

  char pattern[] = "/tmp/dgm-plot-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) fail("cannot create a temporary directory for the plot");
  const fs::path dir(pattern);
  {
    std::ofstream running(dir / "running.dat");
    auto n = naive.to(torch::kFloat64).cpu(), is = importance.to(torch::kFloat64).cpu();
    for (int64_t i = 0; i < samples; ++i)
      running << i + 1 << ' ' << n[i].item<double>() << ' ' << is[i].item<double>() << '\n';
    std::ofstream bias(dir / "bias.dat");
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
                          quoted((dir / "bias.dat").string()), column++, name);
  }
  const std::string output = (dir / "plot.png").string();
  std::string script = fmt::format(
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
      quoted(output), quoted((dir / "running.dat").string()),
      exact_of_example ? fmt::format(", {} with lines dt 2 lw 2 lc 'black' title 'exact log p(x)'", *exact_of_example)
                       : "",
      exact_mean ? "Bias of the estimate against k (mean over examples)" : "Mean estimate against k",
      exact_mean ? "estimate - exact (nats)" : "mean log p-hat (nats)", series,
      exact_mean ? ", 0 with lines dt 2 lc 'black' title 'exact'" : "");
  write_text_atomically((dir / "plot.gp").string(), script);
  const std::string command = fmt::format("gnuplot {} 2>&1", quoted((dir / "plot.gp").string()));
  const int status = std::system(command.c_str());
  if (status != 0 || !fs::exists(output)) {
    fs::remove_all(dir);
    fail("gnuplot failed to draw {} (exit status {})", path, status);
  }
  write_atomically(path,
                   [&](const std::string& tmp) { fs::copy_file(output, tmp, fs::copy_options::overwrite_existing); });
  fs::remove_all(dir);
}

}  // namespace dgm
