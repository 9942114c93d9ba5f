// RoPE on q [T, heads * head_dim] in place (the cos/sin of each position computed once per row): GB/s.
#include "bench_common.hpp"
#include "tfx/layers/rotary_embedding.hpp"

using namespace tfx;

template <class P, class Layout>
static void BM_rope(benchmark::State& s) {
  const Index T_ = s.range(0);
  const int heads = 16, head_dim = 128;
  RopeConfig rc;
  rc.head_dim = head_dim;
  rc.rope_theta = 1e6;
  const RotaryEmbedding<Layout, P> rope(rc);
  auto x = bench::random_vector(static_cast<std::size_t>(T_ * heads * head_dim), 1);
  std::vector<std::int64_t> pos(static_cast<std::size_t>(T_));
  for (Index t = 0; t < T_; ++t) pos[static_cast<std::size_t>(t)] = 100 + t;
  cpu::Context ctx(bench::threads_for<P>());
  for (auto _ : s) {
    rope.apply(ctx, Rows<float>(x.data(), T_, heads * head_dim), heads, pos);
    benchmark::DoNotOptimize(x.data());
  }
  bench::set_bytes_rate(s, 2.0 * static_cast<double>(x.size() * sizeof(float)));
  bench::label<P>(s);
}
BENCHMARK_TEMPLATE(BM_rope, bench::Scalar, rope::half_split)->Arg(1)->Arg(128);
BENCHMARK_TEMPLATE(BM_rope, bench::Simd, rope::half_split)->Arg(1)->Arg(128);
BENCHMARK_TEMPLATE(BM_rope, bench::Simd, rope::interleaved)->Arg(1)->Arg(128);
BENCHMARK_MAIN();
