#pragma once
// Integers from JSON that a stranger wrote (run.json, gmm.json, a
// safetensors header). nlohmann-json's get<int>() of 1.2e11, or of any
// float, is a cast whose result is undefined past the type's range (found
// by fuzzing run.json); these accept integers only, within a range, and
// name the field otherwise.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"

namespace dgm {

/// `value` as an integer in [low, high]; a dgm::Error "{what} must be an
/// integer ..." otherwise (a float, a string, past 2^63).
inline int64_t json_integer(const nlohmann::json& value, const std::string& what,
                            int64_t low = std::numeric_limits<int64_t>::min(),
                            int64_t high = std::numeric_limits<int64_t>::max()) {
  bool in_range = false;
  int64_t result = 0;
  if (value.is_number_unsigned()) {  // how nlohmann-json holds every integer >= 0
    const auto unsigned_value = value.get<uint64_t>();
    if (unsigned_value <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      result = static_cast<int64_t>(unsigned_value);
      in_range = result >= low && result <= high;
    }
  } else if (value.is_number_integer()) {
    result = value.get<int64_t>();
    in_range = result >= low && result <= high;
  }
  if (!in_range)
    fail("{} must be an integer between {} and {}, not {}", what, low, high,
         value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return result;
}

/// A JSON array of integers, each in [low, high], as json_integer.
inline std::vector<int64_t> json_integer_list(const nlohmann::json& value, const std::string& what, int64_t low,
                                              int64_t high) {
  if (!value.is_array()) fail("{} must be a list of integers, not {}", what, value.type_name());
  std::vector<int64_t> out;
  for (const auto& item : value) out.push_back(json_integer(item, what + " entry", low, high));
  return out;
}

}  // namespace dgm
