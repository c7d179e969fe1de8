// dgm probe: the seed's light probe. A multinomial logistic regression on
// what a run's encoder says of each example (its mean; for z = (y, w),
// q(y | x) and the mean of w), fitted on N labelled training examples per
// class and scored on the test examples; beside it, the same N labels used
// without the model (logistic regression and an MLP on the pixels) and, for a
// model with a class latent, its own q(y | x).

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <chrono>

#include "apps/cli_common.h"
#include "apps/subject.h"
#include "core/random.h"
#include "estimators/classification.h"
#include "models/class_latent.h"
#include "models/generation.h"
#include "trainers/label_classifier.h"
#include "trainers/logistic_regression.h"

namespace dgm {
namespace {

struct ProbeArgs {
  SubjectOptions subject;
  int64_t labels_per_class = 0;
  double c = 1.0;
  bool baselines = true;
  LabelClassifierOptions mlp;
  int64_t seed = 0;
  bool json = false;
};

/// encoder_features in batches: [N, F].
torch::Tensor features_of(LatentVariableModel& model, const torch::Tensor& x) {
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < x.size(0); start += 1000)
    parts.push_back(encoder_features(model, x.slice(0, start, std::min(x.size(0), start + 1000))));
  return torch::cat(parts);
}

/// The classes of an MLP's rows in batches: int64 [N].
torch::Tensor classes_by(Mlp& network, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < x.size(0); start += 1000)
    parts.push_back(network->forward(x.slice(0, start, std::min(x.size(0), start + 1000))).argmax(-1));
  return torch::cat(parts);
}

struct ProbeLine {
  std::string key, what;
  double accuracy;
};

int run_probe(ProbeArgs args) {
  if (args.subject.run.empty()) fail_usage("dgm probe needs --run DIR: the run's config names its training data");
  args.subject.seed = static_cast<uint64_t>(args.seed);
  Subject subject = load_subject(args.subject);
  const Config& config = *subject.config;
  if (!subject.labels.defined() || (subject.labels >= 0).sum().item<int64_t>() == 0)
    fail("dgm probe scores against labels, but {} has none (an IDX label file beside it, or data.label_column)",
         subject.source);
  LatentVariableModel& model = *subject.model;
  const auto start = std::chrono::steady_clock::now();

  // The labelled training examples: the run's training split with N per
  // class (the same ones an M2 run with data.labels_per_class = N and the
  // same seed trained on).
  Config labelled_config = config;
  const int64_t per_class = args.labels_per_class > 0
                                ? args.labels_per_class
                                : (config.data.labels_per_class > 0 ? config.data.labels_per_class : 10);
  labelled_config.data.labels_per_class = per_class;
  const ImageSet all = load_images(config.data, Split::kTrain);
  const ImageSet train = training_data(labelled_config, all).train;
  const auto rows = (train.labels >= 0).nonzero().flatten();
  const ImageSet labelled = train.select(rows);
  const int64_t classes = std::max(labelled.labels.max().item<int64_t>(), subject.labels.max().item<int64_t>()) + 1;
  const torch::Dtype dtype = subject.x.scalar_type();
  torch::Tensor train_x = labelled.x.to(subject.x.device(), dtype);
  const Binarization binarization = args.subject.binarize.value_or(config.data.binarize);
  if (binarization != Binarization::kNone) train_x = binarize_seeded(train_x, derive_seed(*args.subject.seed, 0x9b0be));
  const auto train_y = labelled.labels.to(torch::kCPU), test_y = subject.labels.to(torch::kCPU);

  std::vector<ProbeLine> lines;
  LogisticRegressionOptions lr;
  lr.c = args.c;
  auto train_features = features_of(model, train_x), test_features = features_of(model, subject.x);
  const auto probe = fit_logistic_regression(train_features, train_y, classes, lr);
  lines.push_back({"probe", fmt::format("encoder features ({}) + logistic regression", train_features.size(1)),
                   accuracy(test_y, probe.predict(test_features).cpu())});
  if (ClassLatentModel* latent = class_latent(model)) {
    const auto predicted = amortised_classes(*latent, subject.x).cpu();
    // Trained without labels, the model's classes are clusters whose numbers
    // mean nothing: name them by the best one-to-one assignment.
    if (config.data.labels_per_class == 0)
      lines.push_back({"model_q_cluster", "the model's own q(y|x), clusters named best",
                       cluster_accuracy(test_y, predicted, classes, latent->classes()).accuracy});
    else
      lines.push_back({"model_q", "the model's own q(y|x)", accuracy(test_y, predicted)});
  }
  if (args.baselines) {
    const auto pixels = fit_logistic_regression(train_x, train_y, classes, lr);
    lines.push_back({"pixels_logistic", "pixels + logistic regression (the labels alone)",
                     accuracy(test_y, pixels.predict(subject.x).cpu())});
    args.mlp.seed = static_cast<uint64_t>(args.seed);
    Mlp network = train_label_classifier(train_x, train_y, classes, args.mlp);
    lines.push_back({"pixels_mlp",
                     fmt::format("pixels + MLP [{}] {} (the labels alone)", fmt::join(args.mlp.hidden, ", "),
                                 to_string(args.mlp.activation)),
                     accuracy(test_y, classes_by(network, subject.x).cpu())});
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (args.json) {
    nlohmann::json out{{"run", args.subject.run},
                       {"model", subject.description},
                       {"labels_per_class", per_class},
                       {"labelled", labelled.size()},
                       {"test_examples", subject.x.size(0)},
                       {"features", train_features.size(1)},
                       {"c", args.c},
                       {"seconds", seconds}};
    for (const auto& line : lines) out[line.key + "_accuracy"] = line.accuracy;
    print_json(out);
    return 0;
  }
  fmt::print("model    {}\n", subject.description);
  fmt::print("labels   {} per class: {} of the {} training examples of {}\n", per_class, labelled.size(), train.size(),
             all.source);
  fmt::print("test     {} examples of {}\n", subject.x.size(0), subject.source);
  fmt::print("{:<52} {:>9} {:>9}\n", "classifier (logistic regression: C = " + fmt::format("{}", args.c) + ")",
             "accuracy", "error");
  for (const auto& line : lines)
    fmt::print("{:<52} {:>9.4f} {:>8.2f}%\n", line.what, line.accuracy, 100.0 * (1.0 - line.accuracy));
  fmt::print("time     {:.1f} s\n", seconds);
  return 0;
}

}  // namespace

Command add_probe_command(CLI::App& parent) {
  auto args = std::make_shared<ProbeArgs>();
  CLI::App* app = parent.add_subcommand(
      "probe", "The light probe: logistic regression on a run's codes from N labels per class, and baselines");
  add_subject_options(*app, args->subject, 0);
  app->add_option("--labels-per-class", args->labels_per_class,
                  "Labelled training examples per class (default: the run's data.labels_per_class, else 10)")
      ->check(cli_check(at_least(1)));
  app->add_option("--c", args->c, "Inverse L2 strength of the logistic regressions, scikit-learn's C (default 1)")
      ->check(cli_check(above(0)));
  app->add_option("--mlp-hidden", args->mlp.hidden, "Hidden widths of the labels-alone MLP (default 500)")
      ->delimiter(',')
      ->check(cli_check(at_least(1)));
  app->add_option("--mlp-steps", args->mlp.steps, "Adam steps of the labels-alone MLP (default 2000)")
      ->check(cli_check(at_least(1)));
  app->add_flag("!--no-baselines", args->baselines, "Only the probe (and the model's q(y|x)): no pixel baselines");
  app->add_option("--seed", args->seed, "Seed of the binarization and the MLP (default 0)")
      ->check(cli_check(at_least(0)));
  app->add_flag("--json", args->json, "Print one JSON object: probe_accuracy, pixels_mlp_accuracy, ...");
  return {app, [args] { return run_probe(*args); }};
}

}  // namespace dgm
