// tfx::Seq2Seq<Family, Shape, Policy, T>: an encoder-decoder transformer (the original Transformer, Hugging Face's
// marian family) composed from the same layers as the decoders and the encoders:
//
//   source ids -> embed x scale + sinusoidal positions -> [ encoder block (post-norm) ] x L_enc -> memory
//   memory -> per decoder layer: cross-attention keys and values, projected once per source
//   target ids -> embed x scale + positions -> [ decoder block: self-attention (cache), cross-attention, MLP ] x L_dec
//              -> lm_head (the shared embedding) + final_logits_bias -> logits
//
// encode() runs once per source; decode() runs the decoder over the next target positions of one hypothesis
// (its State: self-attention caches and position), so greedy search and beam search (generate/seq2seq.hpp) are
// built from these two calls. Host-memory policies (the CPU backends).
#pragma once
#include <cmath>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "tfx/layers/cross_attention.hpp"
#include "tfx/layers/decoder_block.hpp"
#include "tfx/layers/embedding.hpp"
#include "tfx/layers/layer_norm.hpp"
#include "tfx/layers/mlp.hpp"
#include "tfx/layers/positional.hpp"
#include "tfx/layers/transformer_block.hpp"
#include "tfx/model/model.hpp"

namespace tfx {

namespace family {
/// Marian (the original Transformer as Hugging Face runs it): shared embeddings scaled by sqrt(d_model) when
/// scale_embedding, fixed sinusoidal positions with the sines in the first half, post-norm blocks with biases
/// everywhere, an MLP whose activation is read from config.json, a tied head plus final_logits_bias.
struct Marian {
  static constexpr std::string_view model_type = "marian";
  template <ExecutionPolicy P>
  using norm = LayerNorm<float, P>;
  template <StorageType T>
  using weight = Dense<T, weight_layout::out_in>;
  template <class W, ExecutionPolicy P>
  using mlp = FeedForward<activation::silu, W, P>;
  static constexpr norm_placement placement = norm_placement::post;
  static constexpr sinusoidal_layout positions = sinusoidal_layout::half_split;
};
}  // namespace family

template <class F>
concept Seq2SeqFamily = requires {
  { F::model_type } -> std::convertible_to<std::string_view>;
  { F::placement } -> std::convertible_to<norm_placement>;
  { F::positions } -> std::convertible_to<sinusoidal_layout>;
  typename F::template norm<cpu::scalar>;
  typename F::template weight<float>;
};

/// The layer types of encoder-decoder family F at storage type T under policy P.
template <Seq2SeqFamily F, StorageType T, ExecutionPolicy P, WeightScheme Q = dense_weights>
struct Seq2SeqParts {
  using Weight = typename Q::template format<typename F::template weight<T>>;
  using Embed = Embedding<T, P>;
  using Positions = SinusoidalPositionEncoding<P>;
  using Norm = typename F::template norm<P>;
  using Attn = Attention<Weight, P, rope::half_split>;
  using Cross = CrossAttention<Weight, P>;
  using Mlp = typename F::template mlp<Weight, P>;
  using EncoderBlock = TransformerBlock<Norm, Attn, Mlp, F::placement, P>;
  using DecoderBlock = tfx::DecoderBlock<Norm, Attn, Cross, Mlp, F::placement, P>;
  using Head = Linear<typename Q::template format<Dense<T>>, P>;
};

/// A static encoder-decoder shape: the dimensions as a type, checked against the weights when a model is made and
/// giving the counts at compile time (Seq2Seq::static_counts()). Encoder and decoder share heads and FFN width.
template <std::int64_t Vocab, std::int64_t Hidden, std::int64_t EncoderLayers, std::int64_t DecoderLayers,
          std::int64_t Heads, std::int64_t Ffn, bool Tied = true>
struct Seq2SeqShape {
  static_assert(Vocab > 0 && Hidden > 0 && EncoderLayers > 0 && DecoderLayers > 0 && Heads > 0 && Ffn > 0,
                "tfx::Seq2SeqShape: every dimension must be positive");
  static_assert(Hidden % Heads == 0, "tfx::Seq2SeqShape: the heads must divide the model width");
  static_assert(Hidden % 2 == 0, "tfx::Seq2SeqShape: sinusoidal positions need an even model width");
  static constexpr bool is_static = true;
  static constexpr ModelSpec spec() {
    ModelSpec s;
    s.vocab = Vocab, s.hidden = Hidden, s.layers = EncoderLayers, s.decoder_layers = DecoderLayers;
    s.heads = s.kv_heads = Heads, s.head_dim = Hidden / Heads, s.intermediate = Ffn, s.tied = Tied;
    s.qkv_bias = s.o_bias = s.mlp_bias = s.norm_bias = true;
    return s;
  }
};

/// What an encoder-decoder needs beyond a decoder's ModelInfo to generate: the token the decoder starts from.
struct Seq2SeqInfo {
  std::int32_t decoder_start_token_id = 0;
  std::int32_t eos_token_id = 0;
  std::int32_t pad_token_id = 0;
};

template <Seq2SeqFamily F, ShapeType S = DynamicShape, ExecutionPolicy P = cpu::simd<>, StorageType T = float,
          WeightScheme Q = dense_weights>
class Seq2Seq {
  static_assert(std::is_same_v<space_t<P>, host_space>, "Seq2Seq runs under host-memory policies");

 public:
  using family = F;
  using shape = S;
  using policy = P;
  using storage_type = T;
  using weight_scheme = Q;
  using space = host_space;
  using Parts = Seq2SeqParts<F, T, P, Q>;
  using Weight = typename Parts::Weight;
  using Embed = typename Parts::Embed;
  using Positions = typename Parts::Positions;
  using Norm = typename Parts::Norm;
  using Attn = typename Parts::Attn;
  using Cross = typename Parts::Cross;
  using Mlp = typename Parts::Mlp;
  using EncoderBlock = typename Parts::EncoderBlock;
  using DecoderBlock = typename Parts::DecoderBlock;
  using Head = typename Parts::Head;

  /// The layers, in forward order. The position table is shared by the encoder and the decoder.
  struct Layers {
    Embed embed{Rows<const T>(nullptr, 1, 1)};
    float embed_scale = 1.f;
    std::shared_ptr<const Positions> positions;
    std::vector<EncoderBlock> encoder;
    std::vector<DecoderBlock> decoder;
    Head lm_head{};  // [vocab, hidden] (the shared embedding) with final_logits_bias as its bias
  };

  /// The encoder's output for one source sequence, as each decoder layer's cross-attention reads it: keys and
  /// values [source_len, kv_heads * head_dim] per layer, computed once.
  struct Memory {
    Index length = 0;
    std::vector<Matrix<float>> k, v;
  };

  /// One hypothesis of the decoder: a self-attention cache per layer and the position reached. Copyable (beam
  /// search copies the states of the beams it keeps).
  struct State {
    std::vector<KvCache> caches;
    Index position = 0;
  };

  /// Parameters and FLOPs per token from the layers' counts (spec.layers encoder and spec.decoder_layers decoder
  /// blocks; the sinusoidal table and final_logits_bias are not parameters).
  static constexpr Counts counts(const ModelSpec& s) {
    Counts c = Embed::counts(s);
    for (std::int64_t l = 0; l < s.layers; ++l) {
      Counts e = EncoderBlock::counts(s, l);
      e.kv_values = 0;  // the encoder keeps no cache; the decoder's self-attention does
      c += e;
    }
    for (std::int64_t l = 0; l < s.decoder_layers; ++l) c += DecoderBlock::counts(s, l);
    Counts head = Counts::dense(s.vocab * s.hidden);
    if (s.tied) head.parameters = head.active = 0;
    c += head;
    return c;
  }

  /// For a static shape: the counts, at compile time.
  static constexpr Counts static_counts()
    requires(S::is_static)
  {
    return counts(S::spec());
  }

  Seq2Seq(ModelSpec spec, ModelInfo info, Seq2SeqInfo s2s, Layers layers, std::shared_ptr<const void> storage,
          std::size_t weight_bytes)
      : spec_(std::move(spec)), info_(std::move(info)), s2s_(s2s), layers_(std::move(layers)),
        storage_(std::move(storage)), weight_bytes_(weight_bytes) {
    TFX_CHECK(static_cast<std::int64_t>(layers_.encoder.size()) == spec_.layers &&
                  static_cast<std::int64_t>(layers_.decoder.size()) == spec_.decoder_layers,
              "Seq2Seq: ", layers_.encoder.size(), " + ", layers_.decoder.size(), " blocks for ", spec_.layers, " + ",
              spec_.decoder_layers, " layers");
    TFX_CHECK(layers_.positions != nullptr, "Seq2Seq: no position table");
    if constexpr (S::is_static) {
      const ModelSpec want = S::spec();
      TFX_CHECK(spec_.vocab == want.vocab && spec_.hidden == want.hidden && spec_.layers == want.layers &&
                    spec_.decoder_layers == want.decoder_layers && spec_.heads == want.heads &&
                    spec_.intermediate == want.intermediate,
                info_.model_type, ": the dimensions differ from the model's static shape");
    }
  }
  Seq2Seq(Seq2Seq&&) noexcept = default;
  Seq2Seq& operator=(Seq2Seq&&) noexcept = default;

  const ModelSpec& dims() const { return spec_; }
  const ModelInfo& info() const { return info_; }
  const Seq2SeqInfo& seq2seq_info() const { return s2s_; }
  const Layers& layers() const { return layers_; }
  Counts counts() const { return counts(spec_); }
  std::size_t weight_bytes() const { return weight_bytes_; }
  /// The longest source and the longest target (max_position_embeddings).
  Index max_positions() const { return layers_.positions->max_positions(); }
  context_t<P> new_context(int threads = 1) const { return make_context<context_t<P>, P>(threads); }

  /// Runs the encoder over `source` and projects its output for every decoder layer's cross-attention.
  Memory encode(context_t<P>& ctx, std::span<const std::int32_t> source) const {
    const Index n = static_cast<Index>(source.size());
    TFX_CHECK(n > 0, info_.model_type, ": empty source");
    TFX_CHECK(n <= max_positions(), info_.model_type, ": a source of ", n, " tokens exceeds the model's ",
              max_positions(), " positions (max_position_embeddings)");
    Matrix<float> x(n, spec_.hidden);
    embed(ctx, source, 0, x.view());
    const BasicBatch<space> batch{n};
    for (const EncoderBlock& b : layers_.encoder) b.forward(ctx, x.view(), batch);
    Memory m;
    m.length = n;
    const Index kw = spec_.kv_heads * spec_.head_dim;
    for (const DecoderBlock& b : layers_.decoder) {
      m.k.emplace_back(n, kw);
      m.v.emplace_back(n, kw);
      b.cross_attention().project_memory(ctx, x.view(), m.k.back().view(), m.v.back().view());
    }
    return m;
  }

  /// A fresh hypothesis holding up to `capacity` target positions (0: max_position_embeddings).
  State new_state(Index capacity = 0) const {
    State s;
    const Index cap = capacity > 0 ? capacity : max_positions();
    for (std::int64_t l = 0; l < spec_.decoder_layers; ++l)
      s.caches.emplace_back(static_cast<int>(spec_.kv_heads), static_cast<int>(spec_.head_dim), cap);
    return s;
  }

  /// Runs target `tokens` at the state's next positions; logits: all of them ([T, vocab]) or the last ([1, vocab]).
  void decode(context_t<P>& ctx, const Memory& m, State& s, std::span<const std::int32_t> tokens,
              Rows<float> logits) const {
    const Index n = static_cast<Index>(tokens.size());
    TFX_CHECK(n > 0, info_.model_type, ": no target tokens to run");
    TFX_CHECK(static_cast<std::int64_t>(m.k.size()) == spec_.decoder_layers &&
                  static_cast<std::int64_t>(s.caches.size()) == spec_.decoder_layers,
              info_.model_type, ": memory or state from another model");
    TFX_CHECK(s.position + n <= max_positions() && s.position + n <= s.caches.front().capacity(), info_.model_type, ": ",
              n, " target tokens at position ", s.position, " exceed the model's ", max_positions(),
              " positions or the state's capacity of ", s.caches.front().capacity());
    TFX_CHECK(logits.cols == spec_.vocab && (logits.rows == n || logits.rows == 1), info_.model_type, ": logits are [",
              logits.rows, ", ", logits.cols, "], expected [", n, " or 1, ", spec_.vocab, "]");
    ScratchScope scratch(ctx.scratch);
    Rows<float> x = scratch.rows(n, spec_.hidden);
    embed(ctx, tokens, s.position, x);
    const BasicStep<space> step{s.position};
    for (std::size_t l = 0; l < layers_.decoder.size(); ++l)
      layers_.decoder[l].forward(ctx, x, step, s.caches[l], {m.k[l].view(), m.v[l].view()});
    const Rows<float> rows = logits.rows == n ? x : x.slice_rows(n - 1, 1);
    layers_.lm_head.forward(ctx, rows, logits);
    s.position += n;
  }

 private:
  /// x = embed(ids) * embed_scale + positions [first, first + n).
  void embed(context_t<P>& ctx, std::span<const std::int32_t> ids, Index first, Rows<float> x) const {
    layers_.embed.forward(ctx, ids, x);
    if (layers_.embed_scale != 1.f) kernels::scale(P{}, ctx, x, layers_.embed_scale);
    layers_.positions->forward(ctx, x, first);
  }

  ModelSpec spec_;
  ModelInfo info_;
  Seq2SeqInfo s2s_;
  Layers layers_;
  std::shared_ptr<const void> storage_;
  std::size_t weight_bytes_ = 0;
};

}  // namespace tfx
