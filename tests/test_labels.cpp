// Labels of examples: found beside IDX images, taken from a CSV or NPY
// column, kept N per class for semi-supervised training, checked against a
// model's classes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "core/csv.h"
#include "core/dataset.h"
#include "core/error.h"
#include "core/idx.h"
#include "core/npy.h"
#include "test_support.h"

namespace dgm {
namespace {

using test::error_message_of;

TEST(Labels, AnIdxImagesFileFindsItsLabelsFileBesideIt) {
  const auto dir = test::make_temp_dir("labels-idx");
  write_idx(dir + "/my-images-idx3-ubyte", torch::zeros({4, 2, 2}, torch::kUInt8));
  write_idx(dir + "/my-labels-idx1-ubyte", torch::tensor({3, 1, 4, 1}, torch::kUInt8));
  ImageSet set = read_images(dir + "/my-images-idx3-ubyte");
  ASSERT_TRUE(set.labels.defined());
  EXPECT_TRUE(set.labels.equal(torch::tensor({3, 1, 4, 1}, torch::kLong)));
  EXPECT_EQ(set.labelled(), 4);
  // Through an MNIST-format directory, with the split's names.
  write_idx(dir + "/t10k-images-idx3-ubyte", torch::zeros({2, 2, 2}, torch::kUInt8));
  write_idx(dir + "/t10k-labels-idx1-ubyte", torch::tensor({7, 0}, torch::kUInt8));
  DataOptions options;
  options.path = dir;
  EXPECT_TRUE(load_images(options, Split::kTest).labels.equal(torch::tensor({7, 0}, torch::kLong)));
  // Fashion-MNIST as Debian ships it (gzip).
  DataOptions fashion;
  fashion.limit = 5;
  ImageSet train = load_images(fashion, Split::kTrain);
  ASSERT_TRUE(train.labels.defined());
  EXPECT_EQ(train.labels.size(0), 5);
  EXPECT_EQ(train.labels[0].item<int64_t>(), 9);  // the first training image is an ankle boot
}

TEST(Labels, ALabelsFileOfAnotherLengthIsNamed) {
  const auto dir = test::make_temp_dir("labels-short");
  write_idx(dir + "/a-images-idx3-ubyte", torch::zeros({4, 2, 2}, torch::kUInt8));
  write_idx(dir + "/a-labels-idx1-ubyte", torch::tensor({1, 2, 3}, torch::kUInt8));
  const auto message = error_message_of([&] { read_images(dir + "/a-images-idx3-ubyte"); });
  EXPECT_NE(message.find("a-labels-idx1-ubyte has 3 labels"), std::string::npos) << message;
  EXPECT_NE(message.find("4 examples"), std::string::npos) << message;
}

TEST(Labels, AColumnOfACsvOrNpyFileIsTakenOutAsTheLabels) {
  const auto dir = test::make_temp_dir("labels-column");
  auto table = torch::tensor({{0.5, 2.0, 0.25}, {0.1, 0.0, 0.75}, {0.9, -1.0, 0.5}}, torch::kFloat64);
  write_csv(dir + "/x.csv", table);
  write_npy(dir + "/x.npy", table);
  for (const auto& name : {"/x.csv", "/x.npy"}) {
    ImageSet set = read_images(dir + name, 1);
    EXPECT_TRUE(set.labels.equal(torch::tensor({2, 0, -1}, torch::kLong))) << name;
    EXPECT_EQ(set.dim(), 2) << name;
    EXPECT_FLOAT_EQ(set.x[1][1].item<float>(), 0.75f) << name;
    EXPECT_EQ(set.labelled(), 2);
  }
  EXPECT_FALSE(read_images(dir + "/x.csv").labels.defined());  // no column named: no labels
  EXPECT_NE(error_message_of([&] { read_images(dir + "/x.csv", 0); }).find("row 1 has 0.5 in the label column 0"),
            std::string::npos);
  EXPECT_NE(error_message_of([&] { read_images(dir + "/x.csv", 3); }).find("has only 3 columns"), std::string::npos);
}

TEST(Labels, LabelsPerClassKeepsThatManyOfEachClassSeededAndHidesTheRest) {
  auto labels = torch::arange(60, torch::kLong) % 3;
  ImageSet set{torch::rand({60, 4}), {}, "sixty", labels};
  ImageSet kept = keep_labels_per_class(set, 5, 9);
  for (int64_t c = 0; c < 3; ++c) EXPECT_EQ((kept.labels == c).sum().item<int64_t>(), 5);
  EXPECT_EQ((kept.labels == -1).sum().item<int64_t>(), 45);
  auto shown = (kept.labels >= 0).nonzero().flatten();
  EXPECT_TRUE(kept.labels.index_select(0, shown).equal(labels.index_select(0, shown)));  // kept labels are true ones
  EXPECT_TRUE(keep_labels_per_class(set, 5, 9).labels.equal(kept.labels));               // seeded
  EXPECT_FALSE(keep_labels_per_class(set, 5, 10).labels.equal(kept.labels));
  EXPECT_TRUE(keep_labels_per_class(set, -1, 9).labels.equal(labels));  // -1: every label
  EXPECT_EQ(keep_labels_per_class(set, 0, 9).labelled(), 0);            // 0: none
  EXPECT_NE(error_message_of([&] { keep_labels_per_class(set, 21, 0); }).find("class 0 has only 20"),
            std::string::npos);
  ImageSet unlabelled{torch::rand({6, 4}), {}, "points.csv", {}};
  EXPECT_NE(error_message_of([&] { keep_labels_per_class(unlabelled, 2, 0); }).find("points.csv has none"),
            std::string::npos);
  EXPECT_NO_THROW(keep_labels_per_class(unlabelled, 0, 0));
}

TEST(Labels, MoreClassesThanTheModelHasIsNamedWithTheSettingToChange) {
  ImageSet set{torch::rand({3, 2}), {}, "train.csv", torch::tensor({0, 11, -1}, torch::kLong)};
  const auto message = error_message_of([&] { check_labels(set, 10, "model.classes"); });
  EXPECT_NE(message.find("labels up to 11 (12 classes)"), std::string::npos) << message;
  EXPECT_NE(message.find("model.classes=12"), std::string::npos) << message;
  EXPECT_NO_THROW(check_labels(set, 12, "model.classes"));
  ImageSet negative{torch::rand({2, 2}), {}, "n.csv", torch::tensor({-2, 0}, torch::kLong)};
  EXPECT_NE(error_message_of([&] { check_labels(negative, 3, "model.classes"); }).find("the label -2"),
            std::string::npos);
}

}  // namespace
}  // namespace dgm
