// Binding between YAML and the typed config structs. Each struct lists its
// fields once, in a `Fields(visitor, struct)` function; the same list drives
// parsing (with key paths in every error), unknown-key detection and dumping
// the resolved config back to YAML. Internal to seedvr/config.
#pragma once

#include <yaml-cpp/yaml.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "seedvr/data/data_config.h"

namespace seedvr::config::internal {

// A value check: nullopt when fine, else what was expected.
template <class T>
using Check = std::function<std::optional<std::string>(const T&)>;

template <class T>
Check<T> AtLeast(T lo) {
  return [lo](const T& v) -> std::optional<std::string> {
    if (v >= lo) return std::nullopt;
    return absl::StrCat("a value >= ", lo);
  };
}

template <class T>
Check<T> InRange(T lo, T hi) {
  return [lo, hi](const T& v) -> std::optional<std::string> {
    if (v >= lo && v <= hi) return std::nullopt;
    return absl::StrCat("a value in [", lo, ", ", hi, "]");
  };
}

inline Check<std::string> OneOf(std::vector<std::string> options) {
  return [options](const std::string& v) -> std::optional<std::string> {
    for (const auto& o : options) {
      if (v == o) return std::nullopt;
    }
    return absl::StrCat("one of: ", absl::StrJoin(options, ", "));
  };
}

// A list whose elements all pass `each`; `non_empty` refuses [].
template <class T>
Check<std::vector<T>> Each(Check<T> each, bool non_empty = false) {
  return [each, non_empty](const std::vector<T>& v) -> std::optional<std::string> {
    if (non_empty && v.empty()) return "a non-empty list";
    for (size_t i = 0; i < v.size(); ++i) {
      if (auto expected = each(v[i])) return absl::StrCat(*expected, " at [", i, "]");
    }
    return std::nullopt;
  };
}

// A range [lo, hi] inside [min, max]; `open_min` excludes min itself (a
// sigma or a resize factor of 0 is no value).
inline Check<data::Range> RangeIn(double min, double max, bool open_min = false) {
  return [=](const data::Range& r) -> std::optional<std::string> {
    if ((open_min ? r.lo > min : r.lo >= min) && r.hi <= max) return std::nullopt;
    return absl::StrCat("a range [lo, hi] with ", min, open_min ? " < " : " <= ", "lo <= hi <= ", max);
  };
}

// Converts a YAML node to T; returns false when the node has the wrong shape.
// Declared first so that nested containers find every overload.
template <class T>
bool Decode(const YAML::Node& n, std::vector<T>& out);
template <class T, size_t N>
bool Decode(const YAML::Node& n, std::array<T, N>& out);

inline bool Decode(const YAML::Node& n, std::string& out) {
  if (!n.IsScalar()) return false;
  out = n.Scalar();
  return true;
}
template <class T>
  requires std::is_arithmetic_v<T>
bool Decode(const YAML::Node& n, T& out) {
  if (!n.IsScalar()) return false;
  try {
    if constexpr (std::is_same_v<T, bool>) {
      out = n.as<bool>();
    } else if constexpr (std::is_floating_point_v<T>) {
      // .inf and .nan would pass every bound and turn the first step to NaN.
      out = n.as<T>();
      if (!std::isfinite(out)) return false;
    } else {
      // yaml-cpp would accept "1.5" for an int by truncating: refuse.
      if (n.Scalar().find_first_of(".eE") != std::string::npos) return false;
      out = n.as<T>();
    }
  } catch (const YAML::Exception&) {
    return false;
  }
  return true;
}
template <class T>
bool Decode(const YAML::Node& n, std::vector<T>& out) {
  if (!n.IsSequence()) return false;
  std::vector<T> v(n.size());
  for (size_t i = 0; i < n.size(); ++i) {
    if (!Decode(n[i], v[i])) return false;
  }
  out = std::move(v);
  return true;
}
template <class T, size_t N>
bool Decode(const YAML::Node& n, std::array<T, N>& out) {
  if (!n.IsSequence() || n.size() != N) return false;
  for (size_t i = 0; i < N; ++i) {
    if (!Decode(n[i], out[i])) return false;
  }
  return true;
}
inline bool Decode(const YAML::Node& n, data::Range& out) {
  std::array<double, 2> v;  // finite, by the element decode
  if (!Decode(n, v) || v[0] > v[1]) return false;
  out = {v[0], v[1]};
  return true;
}
inline bool Decode(const YAML::Node& n, data::CropSize& out) {
  std::array<int, 2> v;
  if (!Decode(n, v)) return false;
  out = {v[0], v[1]};
  return true;
}

template <class T> const char* TypeName() {
  if constexpr (std::is_same_v<T, bool>) return "true or false";
  else if constexpr (std::is_integral_v<T>) return "an integer";
  else if constexpr (std::is_floating_point_v<T>)
    return "a finite number";
  else if constexpr (std::is_same_v<T, std::string>) return "a string";
  else if constexpr (std::is_same_v<T, data::Range>)
    return "a range [lo, hi] of finite numbers with lo <= hi";
  else if constexpr (std::is_same_v<T, data::CropSize>) return "a size [H, W]";
  else return "a list";
}

template <class T>
YAML::Node Encode(const std::vector<T>& v);
template <class T, size_t N>
YAML::Node Encode(const std::array<T, N>& v);

inline YAML::Node Encode(const std::string& v) { return YAML::Node(v); }
template <class T>
  requires std::is_arithmetic_v<T>
YAML::Node Encode(const T& v) { return YAML::Node(v); }
template <class T>
YAML::Node Encode(const std::vector<T>& v) {
  YAML::Node n(YAML::NodeType::Sequence);
  for (const auto& e : v) n.push_back(Encode(e));
  n.SetStyle(YAML::EmitterStyle::Flow);
  return n;
}
template <class T, size_t N>
YAML::Node Encode(const std::array<T, N>& v) {
  return Encode(std::vector<T>(v.begin(), v.end()));
}
inline YAML::Node Encode(const data::Range& r) { return Encode(std::vector<double>{r.lo, r.hi}); }
inline YAML::Node Encode(const data::CropSize& c) { return Encode(std::vector<int>{c.h, c.w}); }

// Reads the fields of one mapping node, collecting errors with key paths.
class Reader {
 public:
  Reader(const YAML::Node& node, std::string path, std::vector<std::string>* errors)
      : node_(node), path_(std::move(path)), errors_(errors) {}

  template <class T>
  void operator()(const char* key, T& field, Check<T> check = nullptr) {
    seen_.insert(key);
    YAML::Node n = node_[key];
    if (!n.IsDefined()) return;
    if (n.IsNull()) {
      // An empty string is a value (no path); an empty number (`key:`, or
      // --set key=) is a mistake, never a request for the default.
      if constexpr (!std::is_same_v<T, std::string>) {
        errors_->push_back(absl::StrCat(Key(key), ": expected ", TypeName<T>(), ", got an empty value"));
        return;
      }
      field = T{};
    } else if (!Decode(n, field)) {
      errors_->push_back(absl::StrCat(Key(key), ": expected ", TypeName<T>(), ", got '", Show(n), "'"));
      return;
    }
    if (check) {
      if (auto expected = check(field)) {
        errors_->push_back(absl::StrCat(Key(key), ": expected ", *expected, ", got '", Show(n), "'"));
      }
    }
  }

  // A nested section read by `fields`.
  template <class S, class F>
  void Section(const char* key, S& section, F fields) {
    seen_.insert(key);
    YAML::Node n = node_[key];
    if (!n.IsDefined() || n.IsNull()) return;
    if (!n.IsMap()) {
      errors_->push_back(absl::StrCat(Key(key), ": expected a mapping of keys, got '", Show(n), "'"));
      return;
    }
    Reader sub(n, Key(key), errors_);
    fields(sub, section);
    sub.Finish();
  }

  // Reports keys present in the node that no field claimed, keys given more
  // than once (YAML would keep the first silently) and keys that are not
  // plain names (`? [a, b] : 1`).
  void Finish() {
    std::set<std::string> given;
    for (const auto& kv : node_) {
      if (!kv.first.IsScalar()) {
        errors_->push_back(absl::StrCat(path_.empty() ? "top level" : path_, ": expected plain key names, got '",
                                        Show(kv.first), "'"));
        continue;
      }
      const std::string& k = kv.first.Scalar();
      if (!given.insert(k).second) {
        errors_->push_back(absl::StrCat(Key(k.c_str()), ": given more than once"));
      } else if (!seen_.count(k)) {
        errors_->push_back(absl::StrCat(Key(k.c_str()), ": unknown key"));
      }
    }
  }

  void Ignore(const char* key) { seen_.insert(key); }

 private:
  std::string Key(const char* key) const { return path_.empty() ? key : absl::StrCat(path_, ".", key); }
  static std::string Show(const YAML::Node& n) {
    YAML::Emitter e;
    e << YAML::Flow << n;
    return e.c_str();
  }

  YAML::Node node_;
  std::string path_;
  std::vector<std::string>* errors_;
  std::set<std::string> seen_;
};

// Writes the fields back to a YAML mapping.
class Writer {
 public:
  explicit Writer(YAML::Node node) : node_(node) {}
  template <class T>
  void operator()(const char* key, T& field, Check<T> = nullptr) {
    node_[key] = Encode(field);
  }
  template <class S, class F>
  void Section(const char* key, S& section, F fields) {
    Writer sub(node_[key]);
    fields(sub, section);
  }
  void Ignore(const char*) {}

 private:
  YAML::Node node_;
};

}  // namespace seedvr::config::internal
