#pragma once
// Numeric CSV files of points, one row per point: comma-separated numbers, an
// optional header row of names, "nan" or an empty cell for a missing value.

#include <torch/types.h>

#include <string>

namespace dgm {

/// Reads a CSV file into a float64 tensor [N, D]. Ragged rows, non-numeric
/// cells and infinities are a dgm::Error naming the file, line and column.
torch::Tensor read_csv(const std::string& path);

/// Writes a [N, D] (or [N]) tensor as CSV, atomically.
void write_csv(const std::string& path, const torch::Tensor& data);

/// Reads points from a data file whose name a registered reader claims
/// (core/data_sources.h: .npy, .npz, .csv, ...): [N, D] float64; a [N] file is
/// one column. `key` names the array of an .npz archive of several (dgm gmm's
/// --key). A name no reader claims is a dgm::Error.
torch::Tensor read_points(const std::string& path, const std::string& key = "");

/// Writes points as NPY or CSV (by extension).
void write_points(const std::string& path, const torch::Tensor& data);

}  // namespace dgm
