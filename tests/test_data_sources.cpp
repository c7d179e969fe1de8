// The data files dgm reads: CSV cells, and the registry of readers that
// tells file kinds apart by name (a reader registered from outside the
// library takes part like the built-in ones).

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>

#include "core/csv.h"
#include "core/data_sources.h"
#include "core/dataset.h"
#include "core/npy.h"
#include "test_support.h"

namespace dgm {
namespace {

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(Csv, ReadsHeaderAndMissingCellsAndNamesBadCells) {
  const auto dir = test::make_temp_dir("csv");
  write_file(dir + "/good.csv", "a,b\n1,2.5\n3,nan\n,4\n");
  auto x = read_csv(dir + "/good.csv");
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{3, 2}));
  EXPECT_DOUBLE_EQ(x[0][1].item<double>(), 2.5);
  EXPECT_TRUE(std::isnan(x[1][1].item<double>()));
  EXPECT_TRUE(std::isnan(x[2][0].item<double>()));
  write_file(dir + "/ragged.csv", "1,2\n3,4,5\n");
  EXPECT_NE(test::error_message_of([&] { read_csv(dir + "/ragged.csv"); }).find("ragged.csv:2: 3 columns"),
            std::string::npos);
  write_file(dir + "/word.csv", "1,2\n3,four\n");
  EXPECT_NE(test::error_message_of([&] { read_csv(dir + "/word.csv"); }).find("word.csv:2: column 2 holds 'four'"),
            std::string::npos);
  write_file(dir + "/inf.csv", "1,inf\n");
  EXPECT_NE(test::error_message_of([&] { read_csv(dir + "/inf.csv"); }).find("infinite"), std::string::npos);
  EXPECT_NE(test::error_message_of([&] { read_points(dir + "/x.txt"); }).find(".npy, .npz or .csv"), std::string::npos);
}

/// A reader of "space-separated" files, as a program would register one.
torch::Tensor read_space_separated(const std::string& path) {
  std::ifstream in(path);
  std::vector<double> values;
  int64_t rows = 0;
  for (std::string line; std::getline(in, line); ++rows) {
    std::istringstream cells(line);
    for (double value; cells >> value;) values.push_back(value);
  }
  if (rows == 0) fail("{}: no rows", path);
  return torch::tensor(values, torch::kFloat64).view({rows, -1});
}

const RegisterDataSource kSpaceSeparated({"ssv", "space-separated numbers", {".ssv"}, read_space_separated});

TEST(DataSources, FileKindsAreToldApartByNameAndARegisteredReaderJoinsThem) {
  EXPECT_EQ(data_sources().for_path("/data/x.npy").name, "npy");
  EXPECT_EQ(data_sources().for_path("/data/points.csv").name, "csv");
  EXPECT_EQ(data_sources().for_path("/data/train-images-idx3-ubyte.gz").name, "idx");
  EXPECT_EQ(data_sources().for_path("/data/renamed-mnist").name, "idx");  // what no other reader claims
  EXPECT_EQ(data_sources().claiming("/data/renamed-mnist"), nullptr);
  EXPECT_NE(data_sources().kinds().find("NPY (.npy)"), std::string::npos) << data_sources().kinds();
  // The reader registered above reads points and pictures like the others.
  const auto dir = test::make_temp_dir("ssv");
  write_file(dir + "/p.ssv", "1 2\n3 4\n5 6\n");
  auto points = read_points(dir + "/p.ssv");
  EXPECT_TRUE(torch::equal(points, torch::tensor({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}, torch::kFloat64)));
  EXPECT_EQ(read_images(dir + "/p.ssv").size(), 3);
  EXPECT_NE(data_sources().kinds().find("SSV (.ssv)"), std::string::npos);
  EXPECT_NE(test::error_message_of([] {
              data_sources().add({"npy", "again", {".npy2"}, read_npy});
            }).find("already registered"),
            std::string::npos);
}

}  // namespace
}  // namespace dgm
