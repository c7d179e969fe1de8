#include "models/class_latent.h"

#include <torch/torch.h>

#include <vector>

namespace dgm {
namespace {

/// Rows of `table` [K, B, W] picked by y [..., B]: [..., B, W].
torch::Tensor pick(const torch::Tensor& table, const torch::Tensor& y) {
  const int64_t batch = table.size(1), width = table.size(2);
  auto flat_y = y.reshape({-1, batch}).t();  // [B, S]
  auto picked = table.permute({1, 0, 2}).gather(1, flat_y.unsqueeze(-1).expand({batch, flat_y.size(1), width}));
  std::vector<int64_t> shape(y.sizes().begin(), y.sizes().end());
  shape.push_back(width);
  return picked.permute({1, 0, 2}).reshape(shape);
}

}  // namespace

torch::Tensor class_of(const torch::Tensor& z) { return z.select(-1, 0).round().to(torch::kLong); }

torch::Tensor rest_of(const torch::Tensor& z) { return z.narrow(-1, 1, z.size(-1) - 1); }

torch::Tensor join_class_and_rest(const torch::Tensor& y, const torch::Tensor& w) {
  return torch::cat({y.to(w.dtype()).unsqueeze(-1), w}, -1);
}

ClassAndNormal::ClassAndNormal(torch::Tensor class_logits, torch::Tensor loc, torch::Tensor scale)
    : class_log_probs_(torch::log_softmax(class_logits, -1)), loc_(std::move(loc)), scale_(std::move(scale)) {
  TORCH_CHECK(class_log_probs_.dim() == 2 && loc_.dim() == 3 && loc_.sizes() == scale_.sizes() &&
                  loc_.size(0) == class_log_probs_.size(1) && loc_.size(1) == class_log_probs_.size(0),
              "ClassAndNormal needs class logits [B, K] and loc, scale [K, B, W], got ", class_log_probs_.sizes(), ", ",
              loc_.sizes(), " and ", scale_.sizes());
}

torch::Tensor ClassAndNormal::sample(int64_t n) const {
  torch::NoGradGuard no_grad;
  auto y = torch::multinomial(class_log_probs_.exp(), n, /*replacement=*/true).t();  // [n, B]
  auto w = pick(loc_, y) + pick(scale_, y) * torch::randn({n, loc_.size(1), loc_.size(2)}, loc_.options());
  return join_class_and_rest(y, w);
}

torch::Tensor ClassAndNormal::log_prob(const torch::Tensor& value) const {
  auto y = class_of(value);
  std::vector<int64_t> table_shape(y.sizes().begin(), y.sizes().end());
  table_shape.push_back(classes());
  auto log_p_y = class_log_probs_.expand(table_shape).gather(-1, y.unsqueeze(-1)).squeeze(-1);
  return log_p_y + DiagNormal(pick(loc_, y), pick(scale_, y)).log_prob(rest_of(value));
}

torch::Tensor ClassAndNormal::point_estimate() const {
  auto y = class_log_probs_.argmax(-1).unsqueeze(0);  // [1, B]
  return join_class_and_rest(y, pick(loc_, y))[0];
}

DiagNormal ClassLatentModel::rest_proposal_given(const torch::Tensor& x, const torch::Tensor& y,
                                                 const torch::Tensor& mask) {
  const DiagNormal all = rest_proposal(x, mask);  // batch [K, B]
  auto row = y.view({1, -1});
  return DiagNormal(pick(all.loc(), row)[0], pick(all.scale(), row)[0]);
}

ClassLatentModel* class_latent(LatentVariableModel& model) { return dynamic_cast<ClassLatentModel*>(&model); }

torch::Tensor amortised_classes(ClassLatentModel& model, const torch::Tensor& x, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  if (x.size(0) == 0) return torch::empty({0}, torch::TensorOptions().dtype(torch::kLong).device(x.device()));
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < x.size(0); start += batch_size)
    parts.push_back(model.class_log_proposal(x.slice(0, start, std::min(x.size(0), start + batch_size))).argmax(-1));
  return torch::cat(parts);
}

}  // namespace dgm
