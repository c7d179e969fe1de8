// dgm plot: a run's training and validation curves (metrics.jsonl) as a PNG
// drawn by gnuplot, so that a run can be judged without a notebook.

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "apps/cli_common.h"
#include "apps/gnuplot.h"
#include "core/error.h"

namespace dgm {
namespace fs = std::filesystem;
namespace {

struct PlotArgs {
  std::string run;
  std::string out;
};

/// One epoch's line of metrics.jsonl: its number and its numbers by name.
struct EpochMetrics {
  double epoch = 0;
  std::map<std::string, double> values;
};

/// Every epoch line of `path`, in order. A line that is not a JSON object
/// with a numeric "epoch" is an error naming the file and the line.
std::vector<EpochMetrics> read_metrics(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("{} cannot be read: the run directory has no metrics.jsonl (dgm train writes it every epoch)", path);
  std::vector<EpochMetrics> epochs;
  int line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (line.empty()) continue;
    const auto json = nlohmann::json::parse(line, nullptr, false);
    if (json.is_discarded() || !json.is_object() || !json.contains("epoch") || !json["epoch"].is_number())
      fail("{}:{} is not a line of epoch metrics (a JSON object with \"epoch\"); was the file edited?", path,
           line_number);
    EpochMetrics epoch;
    epoch.epoch = json["epoch"].get<double>();
    for (const auto& [name, value] : json.items())
      if (value.is_number() && name != "epoch") epoch.values[name] = value.get<double>();
    epochs.push_back(std::move(epoch));
  }
  if (epochs.empty()) fail("{} has no epochs yet: nothing to plot", path);
  return epochs;
}

/// The curves drawn, as negative bounds in nats (lower is better, as the
/// training loss): train_loss, and -val_X for each validation bound X.
std::vector<std::string> loss_columns(const std::vector<EpochMetrics>& epochs) {
  std::set<std::string> names;
  for (const auto& epoch : epochs)
    for (const auto& [name, value] : epoch.values)
      if (name == "train_loss" || (name.rfind("val_", 0) == 0 && name != "val_accuracy")) names.insert(name);
  return {names.begin(), names.end()};
}

int run_plot(const PlotArgs& args) {
  const std::string metrics = (fs::path(args.run) / "metrics.jsonl").string();
  const auto epochs = read_metrics(metrics);
  const auto columns = loss_columns(epochs);
  if (columns.empty()) fail("{} holds no losses or validation bounds to plot", metrics);
  const bool accuracy = std::any_of(epochs.begin(), epochs.end(),
                                    [](const EpochMetrics& e) { return e.values.count("val_accuracy") > 0; });
  const std::string out = args.out.empty() ? (fs::path(args.run) / "curves.png").string() : args.out;
  render_with_gnuplot(out, [&](const std::string& dir, const std::string& png) {
    const std::string data = (fs::path(dir) / "curves.dat").string();
    {
      std::ofstream file(data);
      for (const auto& epoch : epochs) {
        file << epoch.epoch;
        for (const auto& name : columns) {
          const auto found = epoch.values.find(name);
          const bool have = found != epoch.values.end() && std::isfinite(found->second);
          // gnuplot skips "NaN": an epoch without the value leaves a gap.
          file << ' ' << (have ? fmt::format("{:.17g}", name == "train_loss" ? found->second : -found->second) : "NaN");
        }
        const auto found = epoch.values.find("val_accuracy");
        file << ' ' << (found != epoch.values.end() ? fmt::format("{:.17g}", found->second) : "NaN") << '\n';
      }
    }
    std::string series;
    for (std::size_t i = 0; i < columns.size(); ++i) {
      const std::string title =
          columns[i] == "train_loss" ? "training loss (-bound)" : fmt::format("validation -{}", columns[i].substr(4));
      series += fmt::format("{}{} using 1:{} with linespoints lw 2 title {}", i == 0 ? "" : ", ", gnuplot_quoted(data),
                            i + 2, gnuplot_quoted(title));
    }
    std::string script = fmt::format(
        "set terminal pngcairo size {},520 font ',11'\nset output {}\n{}"
        "set xrange [{}:{}]\nset grid\nset key top right\nset xlabel 'epoch'\nset ylabel 'nats per example (lower is "
        "better)'\n"
        "set title {}\nplot {}\n",
        accuracy ? 1400 : 800, gnuplot_quoted(png), accuracy ? "set multiplot layout 1,2\n" : "",
        epochs.front().epoch - 0.5, epochs.back().epoch + 0.5,
        gnuplot_quoted(fmt::format("Training and validation of {}", fs::path(args.run).filename().string())), series);
    if (accuracy)
      script += fmt::format(
          "set title 'Validation accuracy of p(y | x)'\nset ylabel 'accuracy'\nset key bottom right\n"
          "plot {} using 1:{} with linespoints lw 2 title 'validation accuracy'\nunset multiplot\n",
          gnuplot_quoted(data), columns.size() + 2);
    return script;
  });
  fmt::print("{} epochs of {} ({}) drawn to {}\n", epochs.size(), args.run, fmt::join(columns, ", "), out);
  return 0;
}

}  // namespace

Command add_plot_command(CLI::App& parent) {
  auto args = std::make_shared<PlotArgs>();
  CLI::App* app =
      parent.add_subcommand("plot", "Draw a run's training and validation curves (metrics.jsonl) as a PNG (gnuplot)");
  app->add_option("--run,-r", args->run, "Run directory written by dgm train")->required();
  app->add_option("--out,-o", args->out, "The PNG to write (default: RUN/curves.png)");
  return {app, [args] { return run_plot(*args); }};
}

}  // namespace dgm
