// Embedding gather of bf16 and f32 rows into f32 activations: GB/s of rows read.
#include "bench_common.hpp"
#include "tfx/layers/embedding.hpp"

using namespace tfx;

template <class P, class T>
static void BM_embedding(benchmark::State& s) {
  const Index n = s.range(0), vocab = 32000, dim = 2048;
  const auto table = bench::random_vector<T>(static_cast<std::size_t>(vocab * dim), 1);
  std::vector<std::int32_t> ids(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) ids[static_cast<std::size_t>(i)] = static_cast<std::int32_t>((i * 7919) % vocab);
  std::vector<float> out(static_cast<std::size_t>(n * dim));
  cpu::Context ctx(bench::threads_for<P>());
  const Embedding<T, P> emb(Rows<const T>(table.data(), vocab, dim));
  for (auto _ : s) {
    emb.forward(ctx, ids, Rows<float>(out.data(), n, dim));
    benchmark::DoNotOptimize(out.data());
  }
  bench::set_bytes_rate(s, static_cast<double>(n * dim) * (sizeof(T) + sizeof(float)));
  bench::label<P>(s);
}
BENCHMARK_TEMPLATE(BM_embedding, bench::Scalar, bf16)->Arg(1)->Arg(512);
BENCHMARK_TEMPLATE(BM_embedding, bench::Simd, bf16)->Arg(1)->Arg(512);
BENCHMARK_TEMPLATE(BM_embedding, bench::Simd, float)->Arg(512);
BENCHMARK_MAIN();
