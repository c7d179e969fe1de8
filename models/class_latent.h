#pragma once
// Latents that name an attribute: z = (y, w), a class y in {0, ..., K-1} and
// the rest w in R^W (the seed's face: y the hair colour, w everything else).
// A value of z is one tensor [..., 1 + W]: y, as a float holding the class
// index, then w, so that every estimator of dgm, which only draws z and
// weighs it, works on such a model unchanged. Models with such a latent
// (M2, models/m2.h) also offer the pieces that let a computation sum over y
// exactly instead of sampling it (ClassLatentModel).

#include <torch/types.h>

#include <memory>
#include <string>

#include "core/distributions.h"
#include "models/latent_variable_model.h"

namespace dgm {

/// z = (y, w) with y ~ Cat(softmax(class_logits)) and w | y ~ N(loc[y], scale[y]^2):
/// the prior p(y) p(w) of M2 (one loc and scale for every y) and its proposal
/// q(y | x) q(w | x, y). Batch shape [B]; a value is [..., B, 1 + W].
class ClassAndNormal : public Distribution {
 public:
  /// class_logits [B, K]; loc and scale [K, B, W] (w's parameters given each y).
  ClassAndNormal(torch::Tensor class_logits, torch::Tensor loc, torch::Tensor scale);
  /// [n, B, 1 + W]: y drawn first, then w given y.
  torch::Tensor sample(int64_t n) const override;
  /// log p(y) + log p(w | y) of values [..., B, 1 + W]: [..., B].
  torch::Tensor log_prob(const torch::Tensor& value) const override;
  /// y is a label: there is no mean of z.
  bool has_mean() const override { return false; }
  /// The most probable y with the mean of w given it: [B, 1 + W].
  torch::Tensor point_estimate() const override;
  std::string name() const override { return "ClassAndNormal"; }

  /// log p(y) for every y: [B, K].
  const torch::Tensor& class_log_probs() const { return class_log_probs_; }
  /// w's distribution given each y: batch [K, B], event [W].
  DiagNormal given_classes() const { return DiagNormal(loc_, scale_); }
  int64_t classes() const { return class_log_probs_.size(-1); }

 private:
  torch::Tensor class_log_probs_, loc_, scale_;
};

/// The class index held in z's first coordinate: [..., 1 + W] -> int64 [...].
torch::Tensor class_of(const torch::Tensor& z);
/// w, the rest of z: [..., 1 + W] -> [..., W].
torch::Tensor rest_of(const torch::Tensor& z);
/// z from a class index (int64 [...]) and w [..., W]: [..., 1 + W].
torch::Tensor join_class_and_rest(const torch::Tensor& y, const torch::Tensor& w);

/// A model whose latent is z = (y, w) with finitely many classes y: what lets
/// a computation sum over y exactly (the semi-supervised ELBO, p(y | x) by
/// the seed's sum) rather than draw it.
class ClassLatentModel {
 public:
  virtual ~ClassLatentModel() = default;
  /// K, the values y takes.
  virtual int64_t classes() const = 0;
  /// log p(y): [K].
  virtual torch::Tensor class_log_prior() = 0;
  /// p(w), the same for every y: batch [B], event [W].
  virtual DiagNormal rest_prior(int64_t batch) = 0;
  /// log q(y | x), the amortised classifier: [B, K]. Under a mask it sees only
  /// the observed entries.
  virtual torch::Tensor class_log_proposal(const torch::Tensor& x, const torch::Tensor& mask = {}) = 0;
  /// q(w | x, y) for every y at once: batch [K, B], event [W].
  virtual DiagNormal rest_proposal(const torch::Tensor& x, const torch::Tensor& mask = {}) = 0;
  /// q(w | x, y) for the classes y int64 [B] of the examples: batch [B],
  /// event [W]. Default: rest_proposal's row of each example's class.
  virtual DiagNormal rest_proposal_given(const torch::Tensor& x, const torch::Tensor& y,
                                         const torch::Tensor& mask = {});
  /// log p(x | y, w) over the observed entries, for y int64 [..., B] and w [..., B, W]: [..., B].
  virtual torch::Tensor log_likelihood_given_class(const torch::Tensor& x, const torch::Tensor& y,
                                                   const torch::Tensor& w, const torch::Tensor& mask = {}) = 0;
};

/// The model's ClassLatentModel side, or null when its latent has no class.
ClassLatentModel* class_latent(LatentVariableModel& model);

/// The most probable class under q(y | x) of each example, `batch_size`
/// examples at a time, without gradients: int64 [N] on x's device.
torch::Tensor amortised_classes(ClassLatentModel& model, const torch::Tensor& x, int64_t batch_size = 1000);

}  // namespace dgm
