// Shared helpers for the component benchmarks: random data, policy names, and counters.
#pragma once
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <thread>
#include <string>
#include <vector>

#include "tfx/backend/cpu/simd/policy.hpp"
#include "tfx/core/dtype.hpp"
#include "tfx/core/view.hpp"

namespace tfx::bench {

using Scalar = cpu::scalar;
using Simd = cpu::simd<>;

template <class T = float>
std::vector<T> random_vector(std::size_t n, std::uint32_t seed = 1, float scale = 1.f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> d(0.f, scale);
  std::vector<T> v(n);
  for (auto& x : v) x = from_float<T>(d(gen));
  return v;
}

/// Threads for the simd policy: TFX_BENCH_THREADS or all cores.
inline int threads() {
  if (const char* s = std::getenv("TFX_BENCH_THREADS")) return std::max(1, std::atoi(s));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

template <class P>
int threads_for() {
  return std::is_same_v<P, Scalar> ? 1 : threads();
}

inline void set_bytes_rate(benchmark::State& s, double bytes_per_iteration) {
  s.counters["GB/s"] = benchmark::Counter(bytes_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
inline void set_flops_rate(benchmark::State& s, double flops_per_iteration) {
  s.counters["GFLOP/s"] = benchmark::Counter(flops_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

template <class P>
void label(benchmark::State& s) {
  if constexpr (std::is_same_v<P, Simd>) s.SetLabel(std::string("cpu.simd<") + Simd::arch::name() + ">");
  else s.SetLabel("cpu.scalar");
}

}  // namespace tfx::bench
