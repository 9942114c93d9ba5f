// Composing a Llama-style decoder block from typed layers and running a prompt and one decode step through it.
#include <cstdio>
#include <random>
#include <tfx/model.hpp>

int main() {
  using P = tfx::cpu::simd<>;
  constexpr int hidden = 64, heads = 4, kv_heads = 2, head_dim = 16, inter = 128;
  std::mt19937 gen(0);
  std::normal_distribution<float> normal(0.f, 0.1f);
  auto weights = [&](int rows, int cols) {
    tfx::Matrix<float> m(rows, cols);
    for (auto& v : m.storage()) v = normal(gen);
    return m;
  };
  const auto wq = weights(heads * head_dim, hidden), wk = weights(kv_heads * head_dim, hidden),
             wv = weights(kv_heads * head_dim, hidden), wo = weights(hidden, heads * head_dim);
  const auto wg = weights(inter, hidden), wu = weights(inter, hidden), wd = weights(hidden, inter);
  const std::vector<float> ones(hidden, 1.f);

  tfx::RopeConfig rope_config;
  rope_config.head_dim = head_dim;
  rope_config.rope_theta = 10000;
  const tfx::RotaryEmbedding<tfx::rope::half_split, P> rope(rope_config);
  using Lin = tfx::Linear<float, P>;
  const tfx::Attention<float, P> attention(tfx::AttentionConfig{hidden, heads, kv_heads, head_dim},
                                           {Lin(wq.view()), Lin(wk.view()), Lin(wv.view()), Lin(wo.view())}, &rope);
  using Norm = tfx::RMSNorm<float, P>;
  using Block = tfx::TransformerBlock<Norm, tfx::Attention<float, P>, tfx::SwiGLU<float, P>, tfx::norm_placement::pre, P>;
  const Block block(Norm(ones, 1e-6f), attention, Norm(ones, 1e-6f),
                    tfx::SwiGLU<float, P>(Lin(wg.view()), Lin(wu.view()), Lin(wd.view())));

  tfx::cpu::Context ctx(2);
  tfx::KvCache cache(kv_heads, head_dim, /*capacity=*/16);
  auto x = weights(5, hidden);  // a 5-token "prompt" of activations
  block.forward(ctx, x.view(), /*start_pos=*/0, cache);
  auto next = weights(1, hidden);  // one more position, attending the cached five
  block.forward(ctx, next.view(), /*start_pos=*/5, cache);
  std::printf("block output[5][0..3] = %.5f %.5f %.5f %.5f; cache holds %lld positions\n", next(0, 0), next(0, 1),
              next(0, 2), next(0, 3), static_cast<long long>(cache.size()));
  return cache.size() == 6 ? 0 : 1;
}
