#pragma once
// Entries of one kind (model families, estimators, data readers) by name, in
// registration order: what lets a new one be one file and one registration.
// A name taken twice, or an unknown name asked for, is a dgm::Error that
// lists the registered names.

#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/options.h"

namespace dgm {

/// T has a `name` member.
template <typename T>
class Registry {
 public:
  /// `what` names an entry in messages: "model.type", "estimator".
  explicit Registry(std::string what) : what_(std::move(what)) {}

  void add(T entry) {
    if (entry.name.empty()) fail("a registered {} needs a name", what_);
    if (find(entry.name) != nullptr) fail("a {} named '{}' is already registered", what_, entry.name);
    entries_.push_back(std::move(entry));
  }
  /// The entry called `name`, or nullptr.
  const T* find(const std::string& name) const {
    for (const auto& entry : entries_)
      if (entry.name == name) return &entry;
    return nullptr;
  }
  const T& at(const std::string& name) const {
    if (const T* entry = find(name)) return *entry;
    fail("unknown {} '{}': the registered ones are {}", what_, name, join_choices(names(), ", "));
  }
  bool contains(const std::string& name) const { return find(name) != nullptr; }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& entry : entries_) out.push_back(entry.name);
    return out;
  }
  const std::vector<T>& entries() const { return entries_; }

 private:
  std::string what_;
  std::vector<T> entries_;
};

}  // namespace dgm
