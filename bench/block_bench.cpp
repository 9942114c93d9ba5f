// A Qwen3-0.6B-sized decoder block (hidden 1024, 16/8 heads of 128, q/k norm, SwiGLU 3072, bf16 weights):
// one decode step against a cache of 512 positions, and a 128-token prefill. Reported as tokens/s and GB/s of
// weights streamed per token.
#include "bench_common.hpp"
#include "tfx/layers/mlp.hpp"
#include "tfx/layers/transformer_block.hpp"

using namespace tfx;

namespace {
constexpr int hidden = 1024, heads = 16, kv_heads = 8, head_dim = 128, inter = 3072;
using P = bench::Simd;
using T = bf16;
using Attn = Attention<T, P>;
using Block = TransformerBlock<RMSNorm<float, P>, Attn, SwiGLU<T, P>, norm_placement::pre, P>;

struct Weights {
  std::vector<T> q = bench::random_vector<T>(heads * head_dim * hidden, 1, 0.03f),
                 k = bench::random_vector<T>(kv_heads * head_dim * hidden, 2, 0.03f),
                 v = bench::random_vector<T>(kv_heads * head_dim * hidden, 3, 0.03f),
                 o = bench::random_vector<T>(hidden * heads * head_dim, 4, 0.03f),
                 gate = bench::random_vector<T>(inter * hidden, 5, 0.03f), up = bench::random_vector<T>(inter * hidden, 6, 0.03f),
                 down = bench::random_vector<T>(hidden * inter, 7, 0.03f);
  std::vector<float> norm_f32 = std::vector<float>(hidden, 1.f), qk_norm = std::vector<float>(head_dim, 1.f);
  double bytes() const { return static_cast<double>(q.size() + k.size() + v.size() + o.size() + 3 * gate.size()) * sizeof(T); }
};

Block make_block(const Weights& w, const RotaryEmbedding<rope::half_split, P>& rope) {
  auto lin = [](const std::vector<T>& m, Index rows, Index cols) { return Linear<T, P>(Rows<const T>(m.data(), rows, cols)); };
  typename Attn::Weights aw{lin(w.q, heads * head_dim, hidden), lin(w.k, kv_heads * head_dim, hidden),
                            lin(w.v, kv_heads * head_dim, hidden), lin(w.o, hidden, heads * head_dim), w.qk_norm, w.qk_norm};
  return Block(RMSNorm<float, P>(w.norm_f32, 1e-6f), Attn(AttentionConfig{hidden, heads, kv_heads, head_dim}, aw, &rope),
               RMSNorm<float, P>(w.norm_f32, 1e-6f),
               SwiGLU<T, P>(lin(w.gate, inter, hidden), lin(w.up, inter, hidden), lin(w.down, hidden, inter)));
}
}  // namespace

static void BM_block_decode(benchmark::State& s) {
  const Index context = s.range(0);
  const Weights w;
  RopeConfig rc;
  rc.head_dim = head_dim;
  rc.rope_theta = 1e6;
  const RotaryEmbedding<rope::half_split, P> rope(rc);
  const Block block = make_block(w, rope);
  cpu::Context ctx(bench::threads());
  KvCache cache(kv_heads, head_dim, context + 1);
  auto prompt = bench::random_vector(static_cast<std::size_t>(context * hidden), 8);
  block.forward(ctx, Rows<float>(prompt.data(), context, hidden), 0, cache);
  auto x = bench::random_vector(hidden, 9);
  for (auto _ : s) {
    s.PauseTiming();
    KvCache step = cache;  // every iteration decodes position `context` from the same cache state
    s.ResumeTiming();
    block.forward(ctx, Rows<float>(x.data(), 1, hidden), context, step);
    benchmark::DoNotOptimize(x.data());
  }
  s.counters["tokens/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
  bench::set_bytes_rate(s, w.bytes());
  bench::label<P>(s);
}
BENCHMARK(BM_block_decode)->Arg(512)->Unit(benchmark::kMicrosecond);

static void BM_block_prefill(benchmark::State& s) {
  const Index n = s.range(0);
  const Weights w;
  RopeConfig rc;
  rc.head_dim = head_dim;
  const RotaryEmbedding<rope::half_split, P> rope(rc);
  const Block block = make_block(w, rope);
  cpu::Context ctx(bench::threads());
  const auto src = bench::random_vector(static_cast<std::size_t>(n * hidden), 8);
  auto x = src;
  for (auto _ : s) {
    KvCache cache(kv_heads, head_dim, n);
    std::copy(src.begin(), src.end(), x.begin());
    block.forward(ctx, Rows<float>(x.data(), n, hidden), 0, cache);
    benchmark::DoNotOptimize(x.data());
  }
  s.counters["tokens/s"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
  bench::set_flops_rate(s, 2.0 * w.bytes() / sizeof(T) * static_cast<double>(n));
  bench::label<P>(s);
}
BENCHMARK(BM_block_prefill)->Arg(128)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
