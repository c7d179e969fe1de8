#pragma once
// The ELBO of a model whose latent is z = (y, w) with finitely many classes
// y (models/class_latent.h), with y summed exactly instead of drawn: the
// bounds M2 is trained with (Kingma, Rezende, Mohamed and Welling 2014,
// "Semi-supervised learning with deep generative models", eqs. 6-9).
//
//   labelled (x, y):  L(x, y) = E_q(w|x,y)[log p(x | y, w)] + log p(y) - KL(q(w | x, y) || p(w))
//                              <= log p(x, y)
//   unlabelled x:     U(x) = Σ_y q(y | x) (L(x, y) - log q(y | x))
//                          = Σ_y q(y | x) L(x, y) + H(q(y | x))  <= log p(x)
//
// Summing over the K classes (instead of sampling y, which has no
// reparameterization) is what gives q(y | x) a gradient; the labelled
// examples also add alpha * log q(y | x), the classifier's own term (eq. 9),
// without which q(y | x) would learn from the unlabelled data alone. With no
// labels at all the same bound fits the model as a mixture (clustering).
// Registered as the estimator "class_elbo" (class-latent models only), the
// training objective of model.type m2.

#include <torch/types.h>

#include "estimators/estimator_options.h"
#include "models/latent_variable_model.h"

namespace dgm {

struct ClassElbo {
  /// Per example [B], nats: U(x) where the class is hidden, L(x, y) where it
  /// is known (both lower bounds of log p(x)).
  torch::Tensor value;
  /// What training maximizes [B]: `value`, plus options.class_weight *
  /// log q(y | x) for the labelled examples.
  torch::Tensor objective;
};

/// The bounds of each row of x [B, D] under options.labels (undefined: all
/// hidden). Reads k (draws of w per example and class, averaged: the KL term
/// is in closed form), labels and class_weight. `mask` restricts log p(x | y,
/// w) to the observed entries. A model without a class latent, or a label
/// outside 0 .. K-1 (other than -1), is a dgm::Error.
ClassElbo class_elbo(LatentVariableModel& model, const torch::Tensor& x, const EstimatorOptions& options = {},
                     const torch::Tensor& mask = {});

}  // namespace dgm
