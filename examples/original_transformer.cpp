// The original Transformer ("Attention Is All You Need", base model) composed from tfx's layers as a static-shape
// type: d_model 512, 8 heads, 6 encoder + 6 decoder layers, FFN 2048 with ReLU, a shared 37,000-token vocabulary
// (source and target embeddings and the pre-softmax projection are one matrix, scaled by sqrt(d_model) at the
// input), sinusoidal positions (sin and cos interleaved, as in the paper), post-norm residual blocks. It prints
// the parameter count, computed at compile time from the layers, and runs one translation step on random weights.
//
// The count, 63,082,496:
//   shared embedding                     37,000 x 512                                   = 18,944,000
//   encoder layer  self-attention        4 x (512 x 512 + 512)                          =  1,050,624
//                  feed-forward          512 x 2048 + 2048 + 2048 x 512 + 512           =  2,099,712
//                  2 LayerNorms          2 x (512 + 512)                                =      2,048
//                                                                           x 6 layers = 18,914,304
//   decoder layer  self- and cross-attention, feed-forward, 3 LayerNorms = 4,204,032  x 6 = 25,224,192
// The paper's Table 3 gives "65" million for the base model without listing what it counts; the layers here hold
// 63.1 M (the sinusoidal table is computed, not learned). Hugging Face's num_parameters() for the same shape as a
// MarianMTModel reports 2 x 512 x max_position_embeddings more: it counts the frozen sinusoidal tables.
#include <cstdio>
#include <memory>
#include <random>
#include <tfx/model.hpp>
#include <tfx/generate/seq2seq.hpp>

struct OriginalTransformer : tfx::family::Marian {  // the paper's choices where Marian's differ
  static constexpr std::string_view model_type = "transformer";
  template <class W, class P> using mlp = tfx::ReluMLP<W, P>;
  static constexpr tfx::sinusoidal_layout positions = tfx::sinusoidal_layout::interleaved;
};
using Base = tfx::Seq2SeqShape</*vocab*/ 37000, /*d_model*/ 512, /*encoder layers*/ 6, /*decoder layers*/ 6,
                               /*heads*/ 8, /*FFN*/ 2048>;
using M = tfx::Seq2Seq<OriginalTransformer, Base>;

constexpr tfx::Counts counts = M::static_counts();
static_assert(counts.parameters == 63'082'496, "the base model's parameters, summed from its layers");

int main() {
  constexpr tfx::ModelSpec d = Base::spec();
  std::printf("original Transformer (base): %lld parameters (%.2f M, computed at compile time)\n",
              static_cast<long long>(counts.parameters), counts.parameters / 1e6);

  // Random weights (normal, std 1/sqrt(fan-in); LayerNorms at 1 and 0), owned here as a checkpoint would be.
  std::mt19937 gen(1);
  std::vector<std::vector<float>> store;
  auto take = [&](tfx::Index n, float std_dev, float mean = 0.f) {
    auto& v = store.emplace_back(static_cast<std::size_t>(n));
    std::normal_distribution<float> normal(mean, std_dev);
    if (std_dev > 0) for (auto& x : v) x = normal(gen);
    else std::fill(v.begin(), v.end(), mean);
    return std::span<const float>(v);
  };
  auto lin = [&](tfx::Index out, tfx::Index in) {
    const auto w = take(out * in, 1.f / std::sqrt(static_cast<float>(in)));
    return tfx::Linear<tfx::Dense<float>>(tfx::Rows<const float>(w.data(), out, in), take(out, 0.02f));
  };
  auto norm = [&] { return M::Norm(take(d.hidden, 0.f, 1.f), take(d.hidden, 0.f, 0.f), 1e-6f); };
  auto attn_weights = [&] { return M::Attn::Weights{lin(512, 512), lin(512, 512), lin(512, 512), lin(512, 512)}; };
  auto cfg = [&](bool causal) { return tfx::AttentionConfig{512, 8, 8, 64, 0.f, 0, {}, causal}; };
  store.reserve(512);

  M::Layers layers;
  const auto embedding = take(d.vocab * d.hidden, 1.f / std::sqrt(512.f));
  layers.embed = M::Embed(tfx::Rows<const float>(embedding.data(), d.vocab, d.hidden));
  layers.embed_scale = std::sqrt(512.f);
  layers.positions = std::make_shared<const M::Positions>(256, 512, 10000.0, OriginalTransformer::positions);
  for (int l = 0; l < 6; ++l) {
    const M::Attn self(cfg(false), attn_weights(), nullptr);
    const auto n1 = norm();
    layers.encoder.emplace_back(n1, self, norm(), M::Mlp(lin(2048, 512), lin(512, 2048)));
  }
  for (int l = 0; l < 6; ++l) {
    const M::Attn self(cfg(true), attn_weights(), nullptr);
    const auto n1 = norm();
    const auto cw = attn_weights();
    const M::Cross cross(cfg(false), {cw.q_proj, cw.k_proj, cw.v_proj, cw.o_proj});
    const auto n2 = norm();
    layers.decoder.emplace_back(n1, self, n2, cross, norm(), M::Mlp(lin(2048, 512), lin(512, 2048)));
  }
  layers.lm_head = M::Head(tfx::Dense<float>(layers.embed.table()));  // the shared matrix, as the paper ties it
  const M model(d, tfx::ModelInfo{.model_type = "transformer", .max_position_embeddings = 256, .bos_token_id = {},
                                  .eos_token_id = {2}, .options = {}},
                tfx::Seq2SeqInfo{.decoder_start_token_id = 0, .eos_token_id = 2, .pad_token_id = 0}, std::move(layers),
                nullptr, 0);

  // One source sentence, then four target tokens by beam search (4 beams).
  auto ctx = model.new_context(2);
  const std::vector<std::int32_t> source{17, 512, 9041, 33, 2};
  tfx::SearchOptions search;
  search.num_beams = 4;
  search.max_new_tokens(4);
  const auto target = tfx::generate_seq2seq(model, ctx, source, search);
  std::printf("source ids:");
  for (auto t : source) std::printf(" %d", t);
  std::printf("\ntarget ids (decoder start first, 4 beams):");
  for (auto t : target) std::printf(" %d", t);
  std::printf("\n");
  return target.size() >= 2 ? 0 : 1;
}
