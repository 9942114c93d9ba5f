// A new model family from existing layers: GPT-style (LayerNorm, learned positions) with a SwiGLU MLP.
#include <cstdio>
#include <random>
#include <tfx/model.hpp>

struct GptSwiGLU {  // a family is a type naming its parts
  static constexpr std::string_view model_type = "gpt_swiglu";
  template <class P> using norm = tfx::LayerNorm<float, P>;
  template <class T, class P> using positions = tfx::LearnedPositions<T, P>;
  template <class T> using weight = tfx::Dense<T>;  // [out, in], as nn.Linear
  template <class W, class P> using mlp = tfx::SwiGLU<W, P>;
  static constexpr tfx::norm_placement placement = tfx::norm_placement::pre;
  static constexpr bool qk_norm = false;
};
using M = tfx::Model<GptSwiGLU>;  // dynamic shape, cpu::simd<>, f32 weights

constexpr tfx::ModelSpec spec{.vocab = 96, .hidden = 32, .layers = 2, .heads = 4, .kv_heads = 4, .head_dim = 8,
                              .intermediate = 64, .tied = true, .norm_bias = true, .position_table = 64};
constexpr tfx::Counts counts = M::counts(spec);  // summed from the layers, at compile time
static_assert(counts.parameters == 96 * 32 + 64 * 32 + 2 * (4 * 32 + 4 * 32 * 32 + 3 * 32 * 64) + 2 * 32);

int main() {
  std::mt19937 gen(0);
  std::normal_distribution<float> normal(0.f, 0.2f);
  std::vector<std::vector<float>> store;  // the weights' memory (a mapped checkpoint, in real use)
  auto take = [&](tfx::Index n, bool random = true) {
    auto& v = store.emplace_back(static_cast<std::size_t>(n), 1.f);
    if (random) for (auto& x : v) x = normal(gen);
    return std::span<const float>(v);
  };
  auto mat = [&](tfx::Index r, tfx::Index c) { return tfx::Rows<const float>(take(r * c).data(), r, c); };
  auto norm = [&] { return M::Norm(take(spec.hidden, false), take(spec.hidden), 1e-5f); };
  auto lin = [&](tfx::Index out, tfx::Index in) { return tfx::Linear<tfx::Dense<float>>(mat(out, in)); };
  store.reserve(64);

  M::Layers layers;
  layers.embed = M::Embed(mat(spec.vocab, spec.hidden));
  layers.positions = M::Positions(mat(spec.position_table, spec.hidden));
  for (int l = 0; l < spec.layers; ++l) {
    const tfx::AttentionConfig ac{32, 4, 4, 8};
    const M::Attn attn(ac, {lin(32, 32), lin(32, 32), lin(32, 32), lin(32, 32)}, layers.positions.rotary());
    layers.blocks.emplace_back(norm(), attn, norm(), M::Mlp(lin(64, 32), lin(64, 32), lin(32, 64)));
  }
  layers.final_norm = norm();
  layers.lm_head = M::Head(layers.embed.table());
  tfx::ModelInfo info{.model_type = "gpt_swiglu", .max_position_embeddings = 64, .bos_token_id = {}, .eos_token_id = {}, .options = {}};
  const M model(spec, std::move(info), std::move(layers), /*storage=*/nullptr, /*weight_bytes=*/0);

  auto session = model.new_session();
  const std::vector<std::int32_t> prompt{3, 14, 15, 92, 65};
  tfx::Matrix<float> logits(1, spec.vocab);
  model.forward(session, prompt, logits.view());
  std::printf("%s: %lld parameters (constexpr), %lld FLOPs per token; logits[0..3] = %.4f %.4f %.4f\n",
              std::string(GptSwiGLU::model_type).c_str(), static_cast<long long>(counts.parameters),
              static_cast<long long>(counts.flops_per_token()), logits(0, 0), logits(0, 1), logits(0, 2));
}
