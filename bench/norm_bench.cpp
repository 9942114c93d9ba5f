// RMSNorm and LayerNorm over [rows, dim]: bandwidth-bound, reported in GB/s (read x, write y).
#include "bench_common.hpp"
#include "tfx/layers/layer_norm.hpp"
#include "tfx/layers/rms_norm.hpp"

using namespace tfx;

template <class P, bool Rms>
static void BM_norm(benchmark::State& s) {
  const Index rows = s.range(0), dim = s.range(1);
  const auto x = bench::random_vector(static_cast<std::size_t>(rows * dim), 1);
  const auto w = bench::random_vector(static_cast<std::size_t>(dim), 2);
  std::vector<float> y(x.size());
  cpu::Context ctx(bench::threads_for<P>());
  const Rows<const float> xv(x.data(), rows, dim);
  const Rows<float> yv(y.data(), rows, dim);
  for (auto _ : s) {
    if constexpr (Rms) RMSNorm<float, P>(w, 1e-6f).forward(ctx, xv, yv);
    else LayerNorm<float, P>(w, w, 1e-5f).forward(ctx, xv, yv);
    benchmark::DoNotOptimize(y.data());
  }
  bench::set_bytes_rate(s, 2.0 * static_cast<double>(x.size() * sizeof(float)));
  bench::label<P>(s);
}
BENCHMARK_TEMPLATE(BM_norm, bench::Scalar, true)->Args({1, 4096})->Args({128, 2048});
BENCHMARK_TEMPLATE(BM_norm, bench::Simd, true)->Args({1, 4096})->Args({128, 2048});
BENCHMARK_TEMPLATE(BM_norm, bench::Scalar, false)->Args({1, 4096})->Args({128, 2048});
BENCHMARK_TEMPLATE(BM_norm, bench::Simd, false)->Args({1, 4096})->Args({128, 2048});
BENCHMARK_MAIN();
