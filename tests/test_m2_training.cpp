// Semi-supervised training (slow: it trains): M2 with 10 labels per class
// and the rest of a small subset unlabelled classifies the test images
// better than the same classifier network trained on the 100 labels alone.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>

#include "core/random.h"
#include "estimators/class_sum.h"
#include "estimators/classification.h"
#include "models/m2.h"
#include "test_support.h"
#include "trainers/label_classifier.h"
#include "trainers/trainer.h"

namespace dgm {
namespace {

TEST(M2Training, TenLabelsPerClassAndUnlabelledImagesBeatTheLabelsAlone) {
  DataOptions data;
  data.limit = 15000;
  TrainValidation split = split_validation(load_images(data, Split::kTrain), 1000, 0);
  split.train = keep_labels_per_class(split.train, 10, 0);
  ImageSet test = load_images(DataOptions{}, Split::kTest).first(2000);
  const auto test_x = binarize_seeded(test.x, 1);

  seed_everything(0);
  M2Options options;
  options.latent_dim = 20;
  options.hidden = {200};
  M2 model(options, split.train.shape());
  ObjectiveOptions objective;
  objective.objective = "class_elbo";
  objective.alpha = 2.5;
  TrainerOptions trainer = test::quiet_trainer(5, 100);
  trainer.labelled_batch_size = 100;
  Trainer(model.ptr(), Objective(objective), trainer).fit(split.train, split.validation);
  model->eval();
  torch::NoGradGuard no_grad;
  const double m2 = accuracy(test.labels, model->class_log_proposal(test_x).argmax(-1));
  EstimatorOptions sum;
  sum.k = 20;
  seed_everything(2);
  const double by_sum = accuracy(test.labels, class_posteriors(*model, test_x, sum, 500).by_sum.argmax(-1));

  // The same network as q(y | x), trained on the 100 labelled images alone.
  const auto labelled = (split.train.labels >= 0).nonzero().flatten();
  LabelClassifierOptions alone;
  alone.hidden = options.hidden;
  Mlp classifier = train_label_classifier(binarize_seeded(split.train.x.index_select(0, labelled), 3),
                                          split.train.labels.index_select(0, labelled), 10, alone);
  const double labels_alone = accuracy(test.labels, classifier->forward(test_x).argmax(-1));
  std::printf("test accuracy with 100 labels: M2 q(y|x) %.4f, M2 p(y|x) by the sum %.4f, labels alone %.4f\n", m2,
              by_sum, labels_alone);
  EXPECT_GT(m2, labels_alone + 0.01);
  // The generative model's own posterior names classes too, if less well so
  // early in training (README "Attributes"): far above chance (0.1).
  EXPECT_GT(by_sum, 0.3);
}

}  // namespace
}  // namespace dgm
