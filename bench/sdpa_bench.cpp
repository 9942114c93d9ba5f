// Attention over a KV cache: decode (1 query against a long cache) and prefill (causal), 16 heads of head_dim 128
// over 8 kv heads (the third argument: fewer kv heads, e.g. 1 for MQA, where decode splits the cache over threads).
// GFLOP/s counts q.k and p.v multiply-adds of the keys each query may see. A bf16 cache's prefill runs on AMX
// tiles where the CPU has AMX-BF16; the <..., bf16, false> cases run the AVX-512 kernel on any CPU.
#include "bench_common.hpp"
#include "tfx/layers/scaled_dot_product_attention.hpp"

using namespace tfx;

template <class P, class KT = float, bool Amx = true>
static void BM_sdpa(benchmark::State& s) {
  const Index q_len = s.range(0), kv_len = s.range(1);
  const int heads = 16, kv_heads = static_cast<int>(s.range(2)), d = 128;
  const auto q = bench::random_vector(static_cast<std::size_t>(q_len * heads * d), 1);
  const auto k32 = bench::random_vector(static_cast<std::size_t>(kv_heads * kv_len * d), 2);
  const auto v32 = bench::random_vector(static_cast<std::size_t>(kv_heads * kv_len * d), 3);
  std::vector<KT> k(k32.size()), v(v32.size());  // a KV cache of type KT (bf16: the attention of --kv-dtype bf16)
  const auto store = [](float x) {
    if constexpr (std::is_same_v<KT, float>) return x;
    else return to_bf16(x);
  };
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = store(k32[i]), v[i] = store(v32[i]);
  std::vector<float> out(q.size());
  cpu::Context ctx(bench::threads_for<P>());
  ctx.amx = Amx;
  const ScaledDotProductAttention<P> sdpa(SdpaOptions{heads, kv_heads, d});
  const KvView kv{k.data(), v.data(), kv_len, kv_len * d, kv_heads, d, dtype_of<KT>()};
  for (auto _ : s) {
    sdpa.forward(ctx, Rows<const float>(q.data(), q_len, heads * d), kv, Rows<float>(out.data(), q_len, heads * d));
    benchmark::DoNotOptimize(out.data());
  }
  double visible = 0;  // keys seen per query (causal, bottom-right aligned)
  for (Index i = 0; i < q_len; ++i) visible += static_cast<double>(kv_len - q_len + i + 1);
  bench::set_flops_rate(s, 4.0 * heads * d * visible);
  bench::set_bytes_rate(s, 2.0 * static_cast<double>(k.size() * sizeof(KT)));
  bench::label<P>(s);
}
BENCHMARK_TEMPLATE(BM_sdpa, bench::Scalar)->Args({1, 1024, 8})->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_sdpa, bench::Simd)->Args({1, 1024, 8})->Args({1, 4096, 8})->Args({128, 128, 8})->Args({512, 512, 8})->Args({2048, 2048, 8})->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_sdpa, bench::Simd, bf16)->Args({1, 4096, 8})->Args({1, 32768, 8})->Args({512, 512, 8})->Args({2048, 2048, 8})->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_sdpa, bench::Simd, bf16)->Args({1, 4096, 1})->Args({1, 4096, 2})->Args({1, 32768, 1})->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_sdpa, bench::Simd, bf16, false)->Args({512, 512, 8})->Args({2048, 2048, 8})->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
