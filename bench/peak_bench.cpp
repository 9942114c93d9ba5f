// This machine's ceilings, for placing every kernel as a fraction of peak (docs/performance.md):
//   BM_peak_fma_f32   f32 FMA throughput: independent vfmadd chains in registers, GFLOP/s (2 per lane)
//   BM_peak_dp_bf16   vdpbf16ps throughput (AVX512-BF16): GFLOP/s counted as 4 per f32 lane (2 products, 2 adds)
//   BM_peak_vnni_i8   vpdpbusd throughput (AVX512-VNNI): GOP/s counted as 8 per i32 lane (4 products, 4 adds)
//   BM_peak_amx_bf16  AMX tile unit: tdpbf16ps on tiles already loaded (CPUs with AMX-BF16), GFLOP/s
//   BM_peak_read      read bandwidth: a sum over a buffer much larger than the caches, GB/s
// Each runs on TFX_BENCH_THREADS threads (default: all cores), one OpenMP thread per core.
#include <immintrin.h>
#include <omp.h>

#include "bench_common.hpp"
#include "tfx/backend/cpu/simd/gemm.hpp"

using namespace tfx;

TFX_VECTOR_CODE_BEGIN  // GCC 12's false -Wmaybe-uninitialized inside the AVX-512 reduction intrinsics

namespace {
constexpr int kChains = 12;  // independent accumulators: more than latency x throughput of the FMA units
constexpr long kIters = 1 << 16;

template <class Body>
double run_threads(Body&& body) {
  const int nt = bench::threads();
  double sink = 0;
#pragma omp parallel num_threads(nt) reduction(+ : sink)
  sink += body();
  return sink;
}

void finish(benchmark::State& s, double ops_per_iteration, const char* unit) {
  s.counters[unit] = benchmark::Counter(ops_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  s.SetLabel(std::to_string(bench::threads()) + " threads");
}

/// Runs kChains independent chains of `step` (acc = step(acc)) for kIters on every thread; V is the register type.
template <class V, class Init, class Step, class Sum>
void run_chains(benchmark::State& s, Init init, Step step, Sum sum, double ops_per_lane_step, const char* unit) {
  for (auto _ : s) {
    benchmark::DoNotOptimize(run_threads([&] {
      V acc[kChains];
      for (int c = 0; c < kChains; ++c) acc[c] = init(c);
      for (long i = 0; i < kIters; ++i)
#pragma GCC unroll 12
        for (int c = 0; c < kChains; ++c) acc[c] = step(acc[c]);
      double total = 0;
      for (int c = 0; c < kChains; ++c) total += sum(acc[c]);
      return total;
    }));
  }
  finish(s, ops_per_lane_step * 16 * kChains * kIters * bench::threads(), unit);
}

#if defined(__AVX512F__)
void BM_peak_fma_f32(benchmark::State& s) {
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-3f);
  run_chains<__m512>(
      s, [](int c) { return _mm512_set1_ps(static_cast<float>(c)); }, [&](__m512 x) { return _mm512_fmadd_ps(x, a, b); },
      [](__m512 x) { return static_cast<double>(_mm512_reduce_add_ps(x)); }, 2.0, "GFLOP/s");
}
BENCHMARK(BM_peak_fma_f32)->Unit(benchmark::kMillisecond);
#endif

#if defined(__AVX512BF16__)
void BM_peak_dp_bf16(benchmark::State& s) {
  const __m512bh a = (__m512bh)_mm512_set1_epi32(0x3f803f80), b = (__m512bh)_mm512_set1_epi32(0x3a833a83);
  run_chains<__m512>(
      s, [](int c) { return _mm512_set1_ps(static_cast<float>(c)); }, [&](__m512 x) { return _mm512_dpbf16_ps(x, a, b); },
      [](__m512 x) { return static_cast<double>(_mm512_reduce_add_ps(x)); }, 4.0, "GFLOP/s");
}
BENCHMARK(BM_peak_dp_bf16)->Unit(benchmark::kMillisecond);
#endif

#if defined(__AVX512VNNI__)
void BM_peak_vnni_i8(benchmark::State& s) {
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
  run_chains<__m512i>(
      s, [](int c) { return _mm512_set1_epi32(c); }, [&](__m512i x) { return _mm512_dpbusd_epi32(x, a, b); },
      [](__m512i x) { return static_cast<double>(_mm512_reduce_add_epi32(x)); }, 8.0, "GOP/s");
}
BENCHMARK(BM_peak_vnni_i8)->Unit(benchmark::kMillisecond);
#endif

#if defined(__AMX_TILE__) && defined(__AMX_BF16__) && defined(__AVX512BF16__) && defined(__linux__)
// The AMX tile unit: tdpbf16ps into the four accumulator tiles of gemm's layout from operand tiles already loaded
// (16 x 16 x 32 multiply-adds each), so only the tile unit's issue rate counts.
void BM_peak_amx_bf16(benchmark::State& s) {
  if (!cpu::gemm::detail::amx_permitted()) {
    s.SkipWithError("the OS does not grant the AMX tile state");
    return;
  }
  const int nt = bench::threads();
  for (auto _ : s) {
    run_threads([] {
      alignas(64) std::uint16_t a[16 * 32];
      alignas(64) float c[16 * 16];
      std::fill(a, a + 16 * 32, std::uint16_t{0x3f80});
      cpu::gemm::detail::amx_configure();
      _tile_loadd(4, a, 64);
      _tile_loadd(5, a, 64);
      _tile_loadd(6, a, 64);
      _tile_loadd(7, a, 64);
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      for (long i = 0; i < kIters / 4; ++i) {
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
      }
      _tile_stored(0, c, 64);
      cpu::gemm::detail::amx_release();
      return static_cast<double>(c[0]);
    });
  }
  finish(s, 2.0 * 16 * 16 * 32 * kIters * nt, "GFLOP/s");
}
BENCHMARK(BM_peak_amx_bf16)->Unit(benchmark::kMillisecond);
#endif

void BM_peak_read(benchmark::State& s) {
  const std::size_t n = std::size_t{1} << 28;  // 1 GiB of floats: far beyond L3
  std::vector<float> buf(n, 1.f);
  const int nt = bench::threads();
  for (auto _ : s) {
    double total = 0;
#pragma omp parallel for num_threads(nt) schedule(static) reduction(+ : total)
    for (int t = 0; t < nt; ++t) {
      const std::size_t lo = n / nt * t, hi = t + 1 == nt ? n : n / nt * (t + 1);
      const float* p = buf.data();
#if defined(__AVX512F__)
      __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      std::size_t i = lo;
      for (; i + 64 <= hi; i += 64) {
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(p + i));
        a1 = _mm512_add_ps(a1, _mm512_loadu_ps(p + i + 16));
        a2 = _mm512_add_ps(a2, _mm512_loadu_ps(p + i + 32));
        a3 = _mm512_add_ps(a3, _mm512_loadu_ps(p + i + 48));
      }
      double part = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
      for (; i < hi; ++i) part += p[i];
#else
      double part = 0;
      for (std::size_t i = lo; i < hi; ++i) part += p[i];
#endif
      total += part;
    }
    benchmark::DoNotOptimize(total);
  }
  finish(s, static_cast<double>(n * sizeof(float)), "GB/s");
}
BENCHMARK(BM_peak_read)->Unit(benchmark::kMillisecond);
}  // namespace

TFX_VECTOR_CODE_END

BENCHMARK_MAIN();
