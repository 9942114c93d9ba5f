// Reads the PyTorch goldens written by tools/make_golden.py (tests/golden/<layer>.json) and compares results.
#pragma once
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "tfx/backend/cpu/simd/policy.hpp"
#include "tfx/core/dtype.hpp"
#include "tfx/core/view.hpp"

namespace tfx::test {

using CpuPolicies = std::tuple<tfx::cpu::scalar, tfx::cpu::simd<>>;

/// Tolerances against float64 PyTorch references. Activations are f32 in every kernel; bf16 / f16 goldens are
/// computed from the rounded weights, so storage dtypes change the inputs, not the tolerance.
struct Tolerance {
  double atol, rtol;
};
inline constexpr Tolerance tol_f32{2e-5, 2e-5};        // single layers, f32 accumulation
inline constexpr Tolerance tol_composite{1e-4, 1e-4};  // attention module and blocks (several chained f32 ops)

struct Tensor {
  std::vector<std::int64_t> shape;
  std::vector<double> data;

  Index rows() const { return shape.size() <= 1 ? 1 : shape[0]; }
  Index cols() const {
    Index c = 1;
    for (std::size_t i = shape.size() <= 1 ? 0 : 1; i < shape.size(); ++i) c *= shape[i];
    return c;
  }
  template <class T = float>
  std::vector<T> values() const {
    std::vector<T> v;
    v.reserve(data.size());
    for (double d : data) {
      if constexpr (std::is_integral_v<T>) v.push_back(static_cast<T>(d));
      else v.push_back(from_float<T>(static_cast<float>(d)));
    }
    return v;
  }
  /// As a [rows, cols] matrix: 1-D tensors are one row; higher ranks fold trailing dims into columns.
  template <class T = float>
  Matrix<T> matrix() const {
    return Matrix<T>(rows(), cols(), values<T>());
  }
};

struct Case {
  std::string name;
  nlohmann::json params;
  std::map<std::string, Tensor> tensors;

  bool has(const std::string& t) const { return tensors.count(t) != 0; }
  const Tensor& operator[](const std::string& t) const {
    auto it = tensors.find(t);
    if (it == tensors.end()) FAIL("golden case " << name << " has no tensor " << t);
    return it->second;
  }
  template <class V>
  V param(const std::string& key) const {
    return params.at(key).get<V>();
  }
};

inline double parse_number(const nlohmann::json& v) {
  if (v.is_string()) {
    const auto s = v.get<std::string>();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
    return std::numeric_limits<double>::quiet_NaN();
  }
  return v.get<double>();
}

/// Inputs too large to store are generated from a seed, bit for bit as tools/make_golden.py's hashed_values does:
/// value i = (fmix32(seed * 0x9E3779B9 + i) >> 8) / 2^23 - 1, times a power-of-two scale (so every value is exact
/// in f32 and bf16 rounding is the only rounding).
inline std::vector<double> hashed_values(std::uint32_t seed, std::size_t n, double scale) {
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t h = seed * 0x9E3779B9u + static_cast<std::uint32_t>(i);
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    v[i] = (static_cast<double>(h >> 8) / 8388608.0 - 1.0) * scale;
  }
  return v;
}

inline std::vector<Case> load_golden(const std::string& layer) {
  const std::string path = std::string(TFX_SOURCE_DIR) + "/tests/golden/" + layer + ".json";
  std::ifstream in(path);
  if (!in) FAIL("cannot open " << path << " (run tools/make_golden.py)");
  const auto j = nlohmann::json::parse(in);
  std::vector<Case> cases;
  for (const auto& c : j.at("cases")) {
    Case out{c.at("name").get<std::string>(), c.at("params"), {}};
    for (const auto& [name, t] : c.at("tensors").items()) {
      Tensor tensor;
      tensor.shape = t.at("shape").get<std::vector<std::int64_t>>();
      if (t.contains("hashed")) {
        std::size_t n = 1;
        for (const auto d : tensor.shape) n *= static_cast<std::size_t>(d);
        tensor.data = hashed_values(t.at("hashed").at("seed").get<std::uint32_t>(), n, t.at("hashed").at("scale").get<double>());
      } else {
        for (const auto& v : t.at("data")) tensor.data.push_back(parse_number(v));
      }
      out.tensors.emplace(name, std::move(tensor));
    }
    cases.push_back(std::move(out));
  }
  REQUIRE(!cases.empty());
  return cases;
}

/// Every element within atol + rtol * |want|; reports the worst element on failure.
inline void require_close(const float* got, const Tensor& want, Tolerance tol, const std::string& what) {
  Index worst = -1;
  double worst_excess = 0;
  for (std::size_t i = 0; i < want.data.size(); ++i) {
    const double w = want.data[i], g = got[i];
    if (std::isinf(w) || std::isnan(w)) {
      if (!(std::isinf(w) ? g == w : std::isnan(g))) {
        worst = static_cast<Index>(i);
        worst_excess = std::numeric_limits<double>::infinity();
      }
      continue;
    }
    const double excess = std::abs(g - w) - (tol.atol + tol.rtol * std::abs(w));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worst_excess))) {
      worst = static_cast<Index>(i);
      worst_excess = excess;
    }
  }
  INFO(what << ": " << want.data.size() << " elements, atol " << tol.atol << ", rtol " << tol.rtol);
  if (worst >= 0)
    FAIL(what << ": element " << worst << " is " << got[worst] << ", expected " << want.data[static_cast<std::size_t>(worst)]);
  SUCCEED();
}

template <class T>
inline void require_close(const Matrix<T>& got, const Tensor& want, Tolerance tol, const std::string& what) {
  REQUIRE(got.rows() * got.cols() == static_cast<Index>(want.data.size()));
  require_close(got.data(), want, tol, what);
}

}  // namespace tfx::test

namespace tfx::test {

/// Calls f(T{}) with the storage type named by a golden's "dtype" param (f32, bf16, f16).
template <class F>
void with_dtype(const std::string& name, F&& f) {
  if (name == "f32") f(float{});
  else if (name == "bf16") f(bf16{});
  else if (name == "f16") f(f16{});
  else FAIL("unknown dtype " << name);
}

inline std::string dtype_param(const Case& c) { return c.params.contains("dtype") ? c.param<std::string>("dtype") : "f32"; }

}  // namespace tfx::test
