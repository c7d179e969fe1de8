// dgm interpolate: decode the codes on the line (or the great circle) between
// the codes of two examples; for z = (y, w), w moves and each endpoint's
// class gives a row.

#include <torch/torch.h>

#include "apps/cli_common.h"
#include "apps/subject.h"
#include "core/png_grid.h"
#include "models/class_latent.h"
#include "models/latent_walks.h"

namespace dgm {
namespace {

struct InterpolateArgs {
  SubjectOptions subject;
  int64_t from = 0, to = 1;
  int64_t steps = 8;
  bool spherical = false;
  std::string out;
};

int run_interpolate(InterpolateArgs args) {
  Subject subject = load_subject(args.subject);
  LatentVariableModel& model = *subject.model;
  if (subject.image_shape.empty()) fail("dgm interpolate draws pictures; the examples have no picture shape");
  check_example_index(subject, args.from, "--from");
  check_example_index(subject, args.to, "--to");
  const auto coordinates = continuous_coordinates(model);
  torch::NoGradGuard no_grad;
  auto ends = subject.x.index_select(0, torch::tensor({args.from, args.to}, torch::kLong).to(subject.x.device()));
  auto codes = latent_codes(model, ends);
  std::vector<torch::Tensor> rows;
  std::string row_note;
  ClassLatentModel* classes = class_latent(model);
  std::vector<torch::Tensor> starts{codes[0]};
  if (classes != nullptr) {  // w moves under each end's class
    const int64_t from_class = class_of(codes[0]).item<int64_t>(), to_class = class_of(codes[1]).item<int64_t>();
    row_note = fmt::format(" (w moves; row 1 under class {}", from_class);
    if (to_class != from_class) {
      auto other = codes[0].clone();
      other[0] = static_cast<double>(to_class);
      starts.push_back(other);
      row_note += fmt::format(", row 2 under class {}", to_class);
    }
    row_note += ")";
  }
  for (const auto& start : starts) {
    auto path = interpolation_codes(start, codes[1], args.steps, args.spherical, coordinates);
    rows.push_back(torch::cat({ends[0].unsqueeze(0), decode_codes(model, path), ends[1].unsqueeze(0)}));
  }
  write_png_grid(args.out, torch::cat(rows), subject.image_shape, args.steps + 2);
  fmt::print("model     {}\n", subject.description);
  fmt::print("pictures  {}: example {}, {} decoded steps along the {}, example {}{}\n", args.out, args.from, args.steps,
             args.spherical ? "great circle" : "line", args.to, row_note);
  return 0;
}

}  // namespace

Command add_interpolate_command(CLI::App& parent) {
  auto args = std::make_shared<InterpolateArgs>();
  CLI::App* app =
      parent.add_subcommand("interpolate", "Decode the path between the codes of two examples (line or great circle)");
  add_subject_options(*app, args->subject, 0);
  app->add_option("--from", args->from, "First example (default 0)")->check(cli_check(at_least(0)));
  app->add_option("--to", args->to, "Last example (default 1)")->check(cli_check(at_least(0)));
  app->add_option("--steps", args->steps, "Decoded codes, both ends included (default 8)")
      ->check(cli_check(between(2, 64)));
  app->add_flag("--spherical", args->spherical, "Along the great circle (slerp) instead of the line");
  app->add_option("--out,-o", args->out, "Output PNG")->required();
  return {app, [args] { return run_interpolate(*args); }};
}

}  // namespace dgm
