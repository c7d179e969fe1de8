#include "core/csv.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>

#include "core/atomic_file.h"
#include "core/data_sources.h"
#include "core/error.h"
#include "core/memory_budget.h"
#include "core/npy.h"
#include "core/npz.h"

namespace dgm {
namespace {

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

std::vector<std::string> cells_of(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream stream(line);
  for (std::string cell; std::getline(stream, cell, ',');) cells.push_back(trim(cell));
  if (!line.empty() && line.back() == ',') cells.push_back("");
  return cells;
}

/// Parses a cell; nullopt when it is not a number. "nan" and "" are missing.
std::optional<double> number_of(const std::string& cell) {
  if (cell.empty() || cell == "nan" || cell == "NaN" || cell == "NA") return std::nan("");
  // strtod, not stod: a number past double's range (1e999) is a number, an
  // infinite one (stod would throw, and the row would pass for a header).
  char* end = nullptr;
  const double value = std::strtod(cell.c_str(), &end);
  if (end == cell.c_str() + cell.size()) return value;
  return std::nullopt;
}

}  // namespace

torch::Tensor read_csv(const std::string& path) {
  std::error_code error;
  const auto file_size = std::filesystem::file_size(path, error);
  // The text is held twice while it is parsed (the file's bytes and the stream).
  if (!error)
    check_memory(saturating_product({file_size, 2}), fmt::format("reading {}", path),
                 "raise --memory-limit, or use a smaller file");
  std::istringstream text(read_text_file(path));
  std::vector<double> values;
  // The values (eight bytes each, however short their text) and the tensor
  // they become are checked as they grow, before the allocator sees them.
  std::size_t checked_values = 1 << 16;
  int64_t columns = -1, rows = 0, line_number = 0;
  for (std::string line; std::getline(text, line);) {
    ++line_number;
    if (trim(line).empty()) continue;
    const auto cells = cells_of(line);
    std::vector<double> row;
    bool numeric = true;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const auto value = number_of(cells[c]);
      if (!value) {
        if (rows == 0 && columns < 0) {  // a header row of names
          numeric = false;
          break;
        }
        fail("{}:{}: column {} holds '{}', which is not a number", path, line_number, c + 1, cells[c]);
      }
      if (std::isinf(*value)) fail("{}:{}: column {} holds an infinite value ({})", path, line_number, c + 1, cells[c]);
      row.push_back(*value);
    }
    if (!numeric) {
      columns = static_cast<int64_t>(cells.size());
      continue;
    }
    if (columns < 0) columns = static_cast<int64_t>(row.size());
    if (static_cast<int64_t>(row.size()) != columns)
      fail("{}:{}: {} columns, but the rows before have {}", path, line_number, row.size(), columns);
    values.insert(values.end(), row.begin(), row.end());
    ++rows;
    if (values.size() >= checked_values) {
      check_memory(saturating_product({2 * values.size(), sizeof(double)}) + (error ? 0 : 2 * file_size),
                   fmt::format("{} ({} values by line {})", path, values.size(), line_number),
                   "raise --memory-limit, or use a smaller file");
      checked_values *= 2;
    }
  }
  if (rows == 0) fail("{} has no rows of numbers", path);
  return torch::tensor(values, torch::kFloat64).view({rows, columns});
}

void write_csv(const std::string& path, const torch::Tensor& data) {
  auto table = data.dim() == 1 ? data.unsqueeze(1) : data;
  table = table.to(torch::kCPU, torch::kFloat64).contiguous();
  std::string text;
  const auto* v = table.data_ptr<double>();
  for (int64_t r = 0; r < table.size(0); ++r) {
    for (int64_t c = 0; c < table.size(1); ++c) {
      if (c > 0) text += ',';
      text += fmt::format("{:.17g}", v[r * table.size(1) + c]);
    }
    text += '\n';
  }
  write_text_atomically(path, text);
}

torch::Tensor read_points(const std::string& path, const std::string& key) {
  const DataSource* source = data_sources().claiming(path);
  if (source == nullptr)
    fail("{}: points must be an .npy, .npz or .csv file (the kinds dgm reads: {})", path, data_sources().kinds());
  const bool archive = source->name == "npz";
  if (!key.empty() && !archive) fail("{}: --key names an array of an .npz archive; this file has one table", path);
  torch::Tensor points = (archive ? read_npz(path, key, "--key") : source->read(path)).to(torch::kFloat64);
  if (points.dim() == 1) points = points.unsqueeze(1);
  if (points.dim() != 2) fail("{} has shape {}: points must be [N, D]", path, c10::str(points.sizes()));
  if (points.size(1) == 0) fail("{} has D = 0 columns", path);
  if (torch::isinf(points).any().item<bool>()) {
    auto bad = torch::isinf(points).nonzero()[0];
    fail("{}: row {}, column {} is infinite", path, bad[0].item<int64_t>() + 1, bad[1].item<int64_t>() + 1);
  }
  return points;
}

void write_points(const std::string& path, const torch::Tensor& data) {
  if (ends_with(path, ".npy")) return write_npy(path, data.cpu().contiguous());
  if (ends_with(path, ".csv")) return write_csv(path, data);
  fail("{}: output must be an .npy or .csv file", path);
}

}  // namespace dgm
