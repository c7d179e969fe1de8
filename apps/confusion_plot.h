#pragma once
// A confusion matrix as a picture (gnuplot): each cell shaded by the share
// of its true class (row) given that class (column), with its count written in it.

#include <torch/types.h>

#include <string>

namespace dgm {

/// Draws counts [C, K] (rows: true classes, columns: given classes) to `path`.
void write_confusion_plot(const std::string& path, const torch::Tensor& counts, const std::string& title,
                          const std::string& column_label);

}  // namespace dgm
