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
  using T = std::conditional_t<BlockQuantized<W>, float, W>;
  const Index count = std::max<Index>(2, (Index{256} << 20) / (in * out * static_cast<Index>(sizeof(T))));
  const auto w = bench::random_vector<T>(static_cast<std::size_t>(count * in * out), 1, 0.05f);
  const auto x = bench::random_vector(static_cast<std::size_t>(in), 2);
  std::vector<float> y(static_cast<std::size_t>(out));
  cpu::Context ctx(bench::threads());
  std::vector<Linear<W, bench::Simd>> layers;
  // Block-quantized formats: values and scales of every matrix (unused for dense formats).
  using Q = std::conditional_t<BlockQuantized<W>, W, Q8_0>;
  std::vector<typename Q::value_type> q;
  std::vector<typename Q::scale_type> d;
  const Index units = out * Q::padded(in) / Q::code::per_unit, scales = out * Q::padded(in) / Q::block;
  if constexpr (BlockQuantized<W>) {
    q.resize(static_cast<std::size_t>(count * units));
    d.resize(static_cast<std::size_t>(count * scales));
  }
  for (Index i = 0; i < count; ++i) {
    const Rows<const T> m(w.data() + i * in * out, out, in);
    if constexpr (BlockQuantized<W>)
      layers.emplace_back(quantize_to<W>(Dense<float>(m), q.data() + i * units, d.data() + i * scales));
    else
      layers.emplace_back(m);
  }
  Index i = 0;
  for (auto _ : s) {
    layers[static_cast<std::size_t>(i)].forward(ctx, Rows<const float>(x.data(), 1, in), Rows<float>(y.data(), 1, out));
    benchmark::DoNotOptimize(y.data());
    i = (i + 1) % count;
  }
  const double bytes = BlockQuantized<W> ? static_cast<double>(Q::bytes(out, in)) : static_cast<double>(in * out * sizeof(T));
  bench::set_bytes_rate(s, bytes);
  bench::label<bench::Simd>(s);
}
BENCHMARK_TEMPLATE(BM_linear_decode_dram, float)->Args({1024, 3072})->Args({3072, 1024})->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_linear_decode_dram, bf16)->Args({1024, 3072})->Args({3072, 1024})->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_linear_decode_dram, Q8_0)->Args({1024, 3072})->Args({3072, 1024})->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_linear_decode_dram, Q4_0)->Args({1024, 3072})->Args({3072, 1024})->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
