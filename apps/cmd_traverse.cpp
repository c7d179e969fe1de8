// dgm traverse: decode the latent space one coordinate at a time around a
// code (an example's, or the prior's point estimate), one row per coordinate;
// for z = (y, w) also one row per class, all with the same w.

#include <torch/torch.h>

#include "apps/cli_common.h"
#include "apps/subject.h"
#include "core/png_grid.h"
#include "models/class_latent.h"
#include "models/latent_walks.h"

namespace dgm {
namespace {

struct TraverseArgs {
  SubjectOptions subject;
  std::vector<int64_t> dims;
  int64_t top = 8;
  double range = 3.0;
  int64_t steps = 9;
  std::optional<int64_t> index;
  std::optional<int64_t> at_class;
  std::string out;
};

int run_traverse(TraverseArgs args) {
  Subject subject = load_subject(args.subject);
  LatentVariableModel& model = *subject.model;
  if (subject.image_shape.empty()) fail("dgm traverse draws pictures; the examples have no picture shape");
  ClassLatentModel* classes = class_latent(model);
  const auto walkable = continuous_coordinates(model);
  const int64_t offset = classes != nullptr ? 1 : 0;  // --dims counts w's coordinates, after the class
  std::vector<int64_t> coordinates;
  if (args.dims.empty()) {
    auto ranked = coordinates_by_activity(model, subject.x.slice(0, 0, std::min<int64_t>(1000, subject.x.size(0))));
    for (int64_t i = 0; i < std::min<int64_t>(args.top, static_cast<int64_t>(ranked.size())); ++i)
      coordinates.push_back(ranked[i].first);
  } else {
    for (const auto d : args.dims) {
      if (d < 0 || d + offset >= model.latent_dim())
        fail("--dims {}: the model has {} continuous latent dimensions, 0 .. {}", d, walkable.size(),
             walkable.size() - 1);
      coordinates.push_back(d + offset);
    }
  }
  torch::NoGradGuard no_grad;
  torch::Tensor base;
  std::string around = "the prior's point estimate";
  if (args.index) {
    check_example_index(subject, *args.index, "--index");
    base = latent_codes(model, subject.x.slice(0, *args.index, *args.index + 1))[0];
    around = fmt::format("the code of example {}", *args.index);
  } else {
    base = model.prior(1)->point_estimate()[0].to(subject.x.dtype());
  }
  if (args.at_class) {
    if (classes == nullptr) fail("--class needs a model whose latent has a class y (model.type m2)");
    if (*args.at_class < 0 || *args.at_class >= classes->classes())
      fail("--class {}: the model has {} classes, 0 .. {}", *args.at_class, classes->classes(), classes->classes() - 1);
    base[0] = static_cast<double>(*args.at_class);
  }
  auto offsets = torch::linspace(-args.range, args.range, args.steps, base.options());
  auto codes = traversal_codes(base, coordinates, offsets);  // [dims * steps, latent]
  int64_t rows = static_cast<int64_t>(coordinates.size());
  if (classes != nullptr) {  // one row per class: the first coordinate's walk, the same w
    auto walk = traversal_codes(base, {coordinates.front()}, offsets);
    std::vector<torch::Tensor> by_class{codes};
    for (int64_t c = 0; c < classes->classes(); ++c) {
      auto row = walk.clone();
      row.select(1, 0).fill_(static_cast<double>(c));
      by_class.push_back(row);
    }
    codes = torch::cat(by_class);
    rows += classes->classes();
  }
  write_png_grid(args.out, decode_codes(model, codes), subject.image_shape, args.steps);

  fmt::print("model     {}\n", subject.description);
  fmt::print("pictures  {}: {} rows of {} steps from -{} to +{} around {}\n", args.out, rows, args.steps, args.range,
             args.range, around);
  std::string listed;
  for (const auto c : coordinates) listed += fmt::format("{}{}", listed.empty() ? "" : ", ", c - offset);
  fmt::print("rows      latent dimension {}{}{}\n", listed, args.dims.empty() ? " (the most active first)" : "",
             classes != nullptr ? fmt::format("; then classes 0 .. {} walking dimension {} with the same w",
                                              classes->classes() - 1, coordinates.front() - offset)
                                : "");
  if (classes != nullptr) fmt::print("class     {} (of the base code)\n", class_of(base).item<int64_t>());
  return 0;
}

}  // namespace

Command add_traverse_command(CLI::App& parent) {
  auto args = std::make_shared<TraverseArgs>();
  CLI::App* app = parent.add_subcommand(
      "traverse", "Decode the latent space one dimension at a time (rows); for z = (y, w) also one row per class");
  add_subject_options(*app, args->subject, 0);
  app->add_option("--dims", args->dims, "Latent dimensions, one row each (default: the --top most active)")
      ->delimiter(',');
  app->add_option("--top", args->top, "Without --dims: how many of the most active dimensions (default 8)")
      ->check(cli_check(at_least(1)));
  app->add_option("--range", args->range, "Each row moves its dimension from -R to +R around the base (default 3)")
      ->check(cli_check(above(0)));
  app->add_option("--steps", args->steps, "Pictures per row (default 9)")->check(cli_check(between(2, 64)));
  app->add_option_function<int64_t>(
      "--index", [args](int64_t i) { args->index = i; },
      "Walk around the code of this example (default: around the prior's point estimate)");
  app->add_option_function<int64_t>(
      "--class", [args](int64_t c) { args->at_class = c; }, "z = (y, w): walk w under this class");
  app->add_option("--out,-o", args->out, "Output PNG")->required();
  return {app, [args] { return run_traverse(*args); }};
}

}  // namespace dgm
