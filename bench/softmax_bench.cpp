// Row softmax (vocabulary-sized rows, as when sampling, and attention-sized rows): GB/s.
#include "bench_common.hpp"
#include "tfx/layers/softmax.hpp"

using namespace tfx;

template <class P>
static void BM_softmax(benchmark::State& s) {
  const Index rows = s.range(0), cols = s.range(1);
  const auto src = bench::random_vector(static_cast<std::size_t>(rows * cols), 1, 3.f);
  auto x = src;
  cpu::Context ctx(bench::threads_for<P>());
  const Softmax<P> softmax(1.f);
  for (auto _ : s) {
    std::copy(src.begin(), src.end(), x.begin());
    softmax.forward(ctx, Rows<float>(x.data(), rows, cols));
    benchmark::DoNotOptimize(x.data());
  }
  bench::set_bytes_rate(s, 2.0 * static_cast<double>(x.size() * sizeof(float)));
  bench::label<P>(s);
}
BENCHMARK_TEMPLATE(BM_softmax, bench::Scalar)->Args({1, 151936})->Args({64, 1024});
BENCHMARK_TEMPLATE(BM_softmax, bench::Simd)->Args({1, 151936})->Args({64, 1024});
BENCHMARK_MAIN();
