// dgm edit: the seed's attribute control. For z = (y, w), encode the rest w
// of an example (under the class its classifier q(y | x) gives it) and decode
// it with another class: the same style in every class.

#include <torch/torch.h>

#include "apps/cli_common.h"
#include "apps/subject.h"
#include "core/png_grid.h"
#include "models/class_latent.h"
#include "models/latent_walks.h"

namespace dgm {
namespace {

struct EditArgs {
  SubjectOptions subject;
  std::vector<int64_t> indices;
  std::optional<int64_t> to_class;
  std::string out;
};

int run_edit(EditArgs args) {
  Subject subject = load_subject(args.subject);
  ClassLatentModel* classes = class_latent(*subject.model);
  if (classes == nullptr)
    fail(
        "dgm edit needs a model whose latent has a class y (model.type m2); {} has none: dgm traverse and dgm "
        "interpolate walk any model's latent space",
        subject.description);
  if (subject.image_shape.empty())
    fail("dgm edit draws pictures; the examples of {} have no picture shape", subject.source);
  const int64_t k = classes->classes();
  if (args.to_class && (*args.to_class < 0 || *args.to_class >= k))
    fail("--to-class {}: the model has {} classes, 0 .. {}", *args.to_class, k, k - 1);
  if (args.indices.empty())
    for (int64_t i = 0; i < std::min<int64_t>(8, subject.x.size(0)); ++i) args.indices.push_back(i);
  for (const auto index : args.indices) check_example_index(subject, index, "--index");

  torch::NoGradGuard no_grad;
  auto index = torch::tensor(args.indices, torch::kLong).to(subject.x.device());
  auto x = subject.x.index_select(0, index);
  auto codes = latent_codes(*subject.model, x);  // [B, 1 + W]: the classifier's class, w's mean under it
  auto own = class_of(codes), w = rest_of(codes);
  std::vector<int64_t> targets;
  if (args.to_class) {
    targets.push_back(*args.to_class);
  } else {
    for (int64_t c = 0; c < k; ++c) targets.push_back(c);
  }
  auto target = torch::tensor(targets, torch::kLong).to(x.device());
  const int64_t rows = x.size(0), columns = static_cast<int64_t>(targets.size());
  // Every row's w with every target class: [B * C, 1 + W].
  auto edited_codes = join_class_and_rest(target.repeat({rows}), w.repeat_interleave(columns, 0));
  auto edited = decode_codes(*subject.model, edited_codes).view({rows, columns, -1});
  auto reconstruction = decode_codes(*subject.model, codes).unsqueeze(1);
  auto grid = torch::cat({x.unsqueeze(1), reconstruction, edited}, 1);  // [B, 2 + C, D]
  write_png_grid(args.out, grid.reshape({-1, x.size(1)}), subject.image_shape, 2 + columns);

  fmt::print("model     {}\n", subject.description);
  fmt::print("pictures  {} (each row: the example, its reconstruction, then w decoded with class {})\n", args.out,
             args.to_class ? std::to_string(*args.to_class) : fmt::format("0 .. {}", k - 1));
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t label = subject.labels.defined() ? subject.labels[args.indices[r]].item<int64_t>() : -1;
    fmt::print("  example {:>6}: label {:>3}, q(y|x) says class {} (w encoded under it)\n", args.indices[r],
               label < 0 ? "-" : std::to_string(label), own[r].item<int64_t>());
  }
  return 0;
}

}  // namespace

Command add_edit_command(CLI::App& parent) {
  auto args = std::make_shared<EditArgs>();
  CLI::App* app = parent.add_subcommand(
      "edit", "Attribute control (z = (y, w)): keep an example's w, decode it with another class y");
  add_subject_options(*app, args->subject, 0);
  app->add_option("--index,-i", args->indices, "Example to edit (repeatable; default the first 8)")
      ->check(cli_check(at_least(0)));
  app->add_option_function<int64_t>(
      "--to-class", [args](int64_t c) { args->to_class = c; },
      "Decode with this class only (default: every class, one column each)");
  app->add_option("--out,-o", args->out, "Output PNG")->required();
  return {app, [args] { return run_edit(*args); }};
}

}  // namespace dgm
