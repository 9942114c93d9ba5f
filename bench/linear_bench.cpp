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
// Decode from memory, as in a model: cycles through enough distinct weight matrices (>= 256 MiB) that none is
// in cache when it is read again. GB/s of weights.
template <class W>
static void BM_linear_decode_dram(benchmark::State& s) {
  const Index in = s.range(0), out = s.range(1);
  using T = std::conditional_t<std::is_same_v<W, Q8_0>, float, W>;
  const Index count = std::max<Index>(2, (Index{256} << 20) / (in * out * static_cast<Index>(sizeof(T))));
  const auto w = bench::random_vector<T>(static_cast<std::size_t>(count * in * out), 1, 0.05f);
  const auto x = bench::random_vector(static_cast<std::size_t>(in), 2);
  std::vector<float> y(static_cast<std::size_t>(out));
  cpu::Context ctx(bench::threads());
  std::vector<Linear<W, bench::Simd>> layers;
  std::vector<std::int8_t> q;
  std::vector<float> d;
  if constexpr (std::is_same_v<W, Q8_0>) {
    q.resize(static_cast<std::size_t>(count * out * Q8_0::padded(in)));
    d.resize(q.size() / Q8_0::block);
  }
  for (Index i = 0; i < count; ++i) {
    const Rows<const T> m(w.data() + i * in * out, out, in);
    if constexpr (std::is_same_v<W, Q8_0>)
      layers.emplace_back(quantize_q8_0(Dense<float>(m), q.data() + i * out * Q8_0::padded(in),
                                        d.data() + i * out * Q8_0::padded(in) / Q8_0::block));
    else
      layers.emplace_back(m);
  }
  Index i = 0;
  for (auto _ : s) {
    layers[static_cast<std::size_t>(i)].forward(ctx, Rows<const float>(x.data(), 1, in), Rows<float>(y.data(), 1, out));
    benchmark::DoNotOptimize(y.data());
    i = (i + 1) % count;
  }
  const double bytes = std::is_same_v<W, Q8_0> ? static_cast<double>(Q8_0::bytes(out, in)) : static_cast<double>(in * out * sizeof(T));
  bench::set_bytes_rate(s, bytes);
  bench::label<bench::Simd>(s);
}
BENCHMARK_TEMPLATE(BM_linear_decode_dram, float)->Args({1024, 3072})->Args({3072, 1024})->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_linear_decode_dram, bf16)->Args({1024, 3072})->Args({3072, 1024})->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_linear_decode_dram, Q8_0)->Args({1024, 3072})->Args({3072, 1024})->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
