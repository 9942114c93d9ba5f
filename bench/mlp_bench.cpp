// SwiGLU MLP (Qwen3-0.6B sizes: 1024 -> 3072 -> 1024), decode and prefill: GFLOP/s.
#include "bench_common.hpp"
#include "tfx/layers/mlp.hpp"

using namespace tfx;

template <class P, class T>
static void BM_swiglu(benchmark::State& s) {
  const Index rows = s.range(0), h = 1024, inter = 3072;
  const auto g = bench::random_vector<T>(static_cast<std::size_t>(h * inter), 1, 0.03f);
  const auto u = bench::random_vector<T>(static_cast<std::size_t>(h * inter), 2, 0.03f);
  const auto d = bench::random_vector<T>(static_cast<std::size_t>(h * inter), 3, 0.03f);
  const auto x = bench::random_vector(static_cast<std::size_t>(rows * h), 4);
  std::vector<float> y(x.size());
  cpu::Context ctx(bench::threads_for<P>());
  const SwiGLU<T, P> mlp(Linear<T, P>(Rows<const T>(g.data(), inter, h)), Linear<T, P>(Rows<const T>(u.data(), inter, h)),
                         Linear<T, P>(Rows<const T>(d.data(), h, inter)));
  for (auto _ : s) {
    mlp.forward(ctx, Rows<const float>(x.data(), rows, h), Rows<float>(y.data(), rows, h));
    benchmark::DoNotOptimize(y.data());
  }
  bench::set_flops_rate(s, 2.0 * 3 * rows * h * inter);
  bench::set_bytes_rate(s, 3.0 * static_cast<double>(h * inter * sizeof(T)));
  bench::label<P>(s);
}
BENCHMARK_TEMPLATE(BM_swiglu, bench::Simd, float)->Arg(1)->Arg(64)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_swiglu, bench::Simd, bf16)->Arg(1)->Arg(64)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
