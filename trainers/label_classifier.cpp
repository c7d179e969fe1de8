#include "trainers/label_classifier.h"

#include <torch/torch.h>

#include "core/error.h"
#include "core/random.h"

namespace dgm {

Mlp train_label_classifier(const torch::Tensor& x, const torch::Tensor& labels, int64_t classes,
                           const LabelClassifierOptions& options) {
  if (x.dim() != 2 || labels.dim() != 1 || labels.size(0) != x.size(0))
    fail("label classifier: examples [N, D] and one label per example, got {} and {}", c10::str(x.sizes()),
         c10::str(labels.sizes()));
  const auto known = (labels >= 0).nonzero().flatten().to(x.device());
  if (known.numel() == 0) fail("label classifier: no labelled example to train on");
  auto train_x = x.index_select(0, known);
  auto train_y = labels.to(x.device()).index_select(0, known).to(torch::kLong);
  if (train_y.max().item<int64_t>() >= classes)
    fail("label classifier: label {} is not one of {} classes", train_y.max().item<int64_t>(), classes);
  torch::AutoGradMode gradients(true);  // also when called under a NoGradGuard
  seed_everything(options.seed);
  Mlp network(MlpOptions(x.size(1), options.hidden, classes).activation(options.activation));
  network->to(x.device(), x.scalar_type());
  torch::optim::Adam optimizer(network->parameters(), torch::optim::AdamOptions(options.lr));
  const int64_t n = train_x.size(0), batch = std::min(options.batch_size, n);
  torch::Tensor order;
  for (int64_t step = 0, at = n; step < options.steps; ++step, at += batch) {
    if (at + batch > n) {  // a new pass in a new order
      order = torch::randperm(n, torch::TensorOptions().dtype(torch::kLong)).to(x.device());
      at = 0;
    }
    auto rows = order.slice(0, at, at + batch);
    optimizer.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(network->forward(train_x.index_select(0, rows)),
                                                     train_y.index_select(0, rows));
    loss.backward();
    optimizer.step();
  }
  network->eval();
  return network;
}

}  // namespace dgm
