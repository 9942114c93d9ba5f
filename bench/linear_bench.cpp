// Linear y = x W^T: decode (1 row, memory-bound: GB/s of weights) and prefill (128 rows, compute-bound: GFLOP/s),
// for f32 and bf16 weights.
#include "bench_common.hpp"
#include "tfx/layers/linear.hpp"

using namespace tfx;

template <class P, class T>
static void BM_linear(benchmark::State& s) {
  const Index rows = s.range(0), in = s.range(1), out = s.range(2);
  const auto w = bench::random_vector<T>(static_cast<std::size_t>(in * out), 1, 0.05f);
  const auto x = bench::random_vector(static_cast<std::size_t>(rows * in), 2);
  std::vector<float> y(static_cast<std::size_t>(rows * out));
  cpu::Context ctx(bench::threads_for<P>());
  const Linear<T, P> lin(Rows<const T>(w.data(), out, in));
  for (auto _ : s) {
    lin.forward(ctx, Rows<const float>(x.data(), rows, in), Rows<float>(y.data(), rows, out));
    benchmark::DoNotOptimize(y.data());
  }
  bench::set_flops_rate(s, 2.0 * rows * in * out);
  bench::set_bytes_rate(s, static_cast<double>(in * out * sizeof(T)));
  bench::label<P>(s);
}
BENCHMARK_TEMPLATE(BM_linear, bench::Scalar, float)->Args({1, 1024, 1024})->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_linear, bench::Simd, float)->Args({1, 1024, 1024})->Args({1, 4096, 4096})->Args({128, 1024, 3072})->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_linear, bench::Simd, bf16)->Args({1, 1024, 1024})->Args({1, 4096, 4096})->Args({128, 1024, 3072})->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
