// dgm attributes: which class is each example? p(y | x) as the seed computes
// it (p(x, y) by importance sampling over w for every class y, normalized
// over y) beside the amortised q(y | x), against the labels where there are.

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>

#include "apps/cli_common.h"
#include "apps/confusion_plot.h"
#include "apps/subject.h"
#include "core/masks.h"
#include "core/random.h"
#include "estimators/class_sum.h"
#include "estimators/classification.h"
#include "models/class_latent.h"

namespace dgm {
namespace {

struct AttributesArgs {
  SubjectOptions subject;
  int64_t k = 100;
  int64_t chunk = 0;
  int64_t batch_size = 100;
  std::string mask = "none";
  int64_t seed = 0;
  int64_t show = 10;
  bool per_example = false;
  bool json = false;
  std::string out;
};

/// "0.823 (error 17.7 %)", or "-" without labels.
std::string accuracy_text(double accuracy) {
  if (std::isnan(accuracy)) return "-";
  return fmt::format("{:.4f} (error {:.2f} %)", accuracy, 100.0 * (1.0 - accuracy));
}

nlohmann::json number_or_null(double value) { return std::isnan(value) ? nlohmann::json() : nlohmann::json(value); }

int run_attributes(AttributesArgs args) {
  args.subject.seed = static_cast<uint64_t>(args.seed);
  Subject subject = load_subject(args.subject);
  ClassLatentModel* classes = class_latent(*subject.model);
  if (classes == nullptr)
    fail(
        "dgm attributes needs a model whose latent has a class y (model.type m2); {} has none: dgm probe fits a "
        "classifier on any model's codes",
        subject.description);
  const int64_t k = classes->classes(), n = subject.x.size(0);
  const torch::Tensor labels =
      subject.labels.defined() ? subject.labels.to(torch::kCPU) : torch::full({n}, -1, torch::kLong);
  if (subject.labels.defined()) check_labels({subject.x, {}, subject.source, labels}, k, "the model's classes");
  const auto mask = args.mask == "none" ? torch::Tensor()
                                        : make_mask(args.mask, n, subject.x.size(1), subject.image_shape,
                                                    derive_seed(*args.subject.seed, 4), subject.x.options());

  EstimatorOptions options;
  options.k = args.k;
  options.chunk = args.chunk;
  const auto start = std::chrono::steady_clock::now();
  seed_everything(derive_seed(*args.subject.seed, 7));
  const ClassPosteriors posteriors = class_posteriors(*subject.model, subject.x, options, args.batch_size, mask);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto p = posteriors.by_sum.exp().to(torch::kCPU, torch::kFloat64);
  const auto q = posteriors.amortised.exp().to(torch::kCPU, torch::kFloat64);
  const auto p_class = p.argmax(-1), q_class = q.argmax(-1);
  const int64_t labelled = (labels >= 0).sum().item<int64_t>();
  const double accuracy_p = accuracy(labels, p_class), accuracy_q = accuracy(labels, q_class);
  const double cluster_p = labelled > 0 ? cluster_accuracy(labels, p_class, k, k).accuracy : NAN;
  const double cluster_q = labelled > 0 ? cluster_accuracy(labels, q_class, k, k).accuracy : NAN;
  const double difference = (p - q).abs().mean().item<double>();
  const double agreement = (p_class == q_class).to(torch::kFloat64).mean().item<double>();
  const torch::Tensor confusion = labelled > 0 ? confusion_matrix(labels, p_class, k, k) : torch::Tensor();
  if (!args.out.empty()) {
    if (labelled == 0) fail("--out draws the confusion matrix, which needs labels; {} has none", subject.source);
    write_confusion_plot(args.out, confusion, fmt::format("p(y | x) by the sum over y, {} examples", labelled),
                         "most probable class under p(y | x)");
  }

  if (args.json) {
    nlohmann::json out{{"run", args.subject.run.empty() ? nlohmann::json() : nlohmann::json(args.subject.run)},
                       {"model", subject.description},
                       {"n", n},
                       {"labelled", labelled},
                       {"classes", k},
                       {"k", args.k},
                       {"mask", args.mask},
                       {"accuracy_sum", number_or_null(accuracy_p)},
                       {"accuracy_amortised", number_or_null(accuracy_q)},
                       {"cluster_accuracy_sum", number_or_null(cluster_p)},
                       {"cluster_accuracy_amortised", number_or_null(cluster_q)},
                       {"mean_abs_difference", difference},
                       {"agreement", agreement},
                       {"seconds", seconds}};
    if (labelled > 0) {
      std::vector<std::vector<int64_t>> rows;
      for (int64_t c = 0; c < k; ++c) {
        auto row = confusion[c].contiguous();
        rows.emplace_back(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + k);
      }
      out["confusion"] = rows;
    }
    if (args.per_example) {
      nlohmann::json examples = nlohmann::json::array();
      for (int64_t i = 0; i < n; ++i) {
        auto pi = p[i].contiguous(), qi = q[i].contiguous();
        examples.push_back({{"label", labels[i].item<int64_t>()},
                            {"p", std::vector<double>(pi.data_ptr<double>(), pi.data_ptr<double>() + k)},
                            {"q", std::vector<double>(qi.data_ptr<double>(), qi.data_ptr<double>() + k)}});
      }
      out["examples"] = examples;
    }
    print_json(out);
    return 0;
  }
  fmt::print("model        {}\n", subject.description);
  fmt::print("examples     {} of {} ({} labelled), mask {}\n", n, subject.source, labelled, args.mask);
  fmt::print("p(y|x)       by the sum: p(x, y) by importance sampling over w (k = {} per class), normalized over y\n",
             args.k);
  fmt::print("             accuracy {}, cluster accuracy {}\n", accuracy_text(accuracy_p), accuracy_text(cluster_p));
  fmt::print("q(y|x)       the amortised classifier\n");
  fmt::print("             accuracy {}, cluster accuracy {}\n", accuracy_text(accuracy_q), accuracy_text(cluster_q));
  fmt::print("difference   mean |p(y|x) - q(y|x)| = {:.4f} per class; the same most probable class for {:.2f} %\n",
             difference, 100.0 * agreement);
  if (labelled > 0) {
    fmt::print("confusion    rows: true class, columns: most probable class under p(y|x){}\n",
               args.out.empty() ? "" : " (picture: " + args.out + ")");
    std::string header = "      ";
    for (int64_t c = 0; c < k; ++c) header += fmt::format("{:>6}", c);
    fmt::print("{}\n", header);
    for (int64_t c = 0; c < k; ++c) {
      std::string line = fmt::format("  {:>4}", c);
      for (int64_t j = 0; j < k; ++j) line += fmt::format("{:>6}", confusion[c][j].item<int64_t>());
      fmt::print("{}\n", line);
    }
  }
  const int64_t shown = args.per_example ? n : std::min(args.show, n);
  if (shown > 0) {
    fmt::print("{:>8} {:>6}   {:>14}   {:>14}\n", "example", "label", "p(y|x): y prob", "q(y|x): y prob");
    for (int64_t i = 0; i < shown; ++i) {
      const int64_t label = labels[i].item<int64_t>(), py = p_class[i].item<int64_t>(), qy = q_class[i].item<int64_t>();
      fmt::print("{:>8} {:>6}   {:>6} {:>7.4f}   {:>6} {:>7.4f}\n", i, label < 0 ? "-" : std::to_string(label), py,
                 p[i][py].item<double>(), qy, q[i][qy].item<double>());
    }
  }
  fmt::print("time         {:.1f} s\n", seconds);
  return 0;
}

}  // namespace

Command add_attributes_command(CLI::App& parent) {
  auto args = std::make_shared<AttributesArgs>();
  CLI::App* app = parent.add_subcommand(
      "attributes", "Which class is each example: p(y|x) by the sum over y beside q(y|x), accuracy, confusion");
  add_subject_options(*app, args->subject, 0);
  app->add_option("--k", args->k, "Draws of w per example and class for p(x, y) (default 100)")
      ->check(cli_check(between(1, 1 << 24)));
  app->add_option("--chunk", args->chunk, "Draws of w weighed at once (default: all k)")->check(cli_check(at_least(1)));
  app->add_option("--batch-size", args->batch_size, "Examples at once (default 100)")->check(cli_check(at_least(1)));
  app->add_option("--mask", args->mask,
                  "Classify partially observed examples: none, top-half, bottom-half or random:P (default none)");
  app->add_option("--seed", args->seed, "Seed of the binarization, the mask and the draws (default 0)")
      ->check(cli_check(at_least(0)));
  app->add_option("--show", args->show, "Examples listed one per line (default 10)")->check(cli_check(at_least(0)));
  app->add_flag("--per-example", args->per_example, "List every example (with --json: p and q of each)");
  app->add_option("--out,-o", args->out, "Draw the confusion matrix to this PNG");
  app->add_flag("--json", args->json, "Print one JSON object: accuracies, confusion, mean_abs_difference, ...");
  return {app, [args] { return run_attributes(*args); }};
}

}  // namespace dgm
