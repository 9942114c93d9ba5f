// tfx::Encoder<Family, Shape, Policy, T>: a bidirectional encoder (BERT) composed from the same layers as the
// decoders. Its forward pass runs a padded batch of texts at once, without a KV cache:
//
//   ids, token types -> word + token-type + learned position embeddings -> LayerNorm
//                    -> [ block: attention (bidirectional, padding masked), add & norm, MLP, add & norm ] x L
//                    -> last hidden states [batch * length, hidden]  (-> pool: sentence embeddings)
//
// Every matrix product, the attention kernel and the norms are those of the decoders; only the composition
// differs. The embeddings of padding rows are computed and meaningless, as in Hugging Face.
#pragma once
#include <cmath>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tfx/core/weights.hpp"
#include "tfx/layers/attention.hpp"
#include "tfx/layers/embedding.hpp"
#include "tfx/layers/layer_norm.hpp"
#include "tfx/layers/mlp.hpp"
#include "tfx/layers/positional.hpp"
#include "tfx/layers/transformer_block.hpp"
#include "tfx/model/model.hpp"

namespace tfx {

namespace family {
/// BERT: word + position + token-type embeddings, LayerNorm; post-norm blocks with biases everywhere; a GELU MLP
/// (the activation is read from config.json); bidirectional attention.
struct Bert {
  static constexpr std::string_view model_type = "bert";
  template <ExecutionPolicy P>
  using norm = LayerNorm<float, P>;
  template <StorageType T>
  using weight = Dense<T, weight_layout::out_in>;
  template <class W, ExecutionPolicy P>
  using mlp = FeedForward<activation::gelu_erf, W, P>;
  static constexpr norm_placement placement = norm_placement::post;
};
}  // namespace family

template <class F>
concept EncoderFamily = requires {
  { F::model_type } -> std::convertible_to<std::string_view>;
  { F::placement } -> std::convertible_to<norm_placement>;
  typename F::template norm<cpu::scalar>;
  typename F::template weight<float>;
  typename F::template mlp<typename F::template weight<float>, cpu::scalar>;
};

/// A padded batch of token sequences for an encoder: `batch` rows of `length` ids, row-major. Sequences shorter
/// than `length` are padded at the end with `pad_id`, marked in `padding`.
struct EncoderBatch {
  Index batch = 0, length = 0;
  std::vector<std::int32_t> ids;       // [batch * length]
  std::vector<std::int32_t> type_ids;  // [batch * length] token types (segments); empty: all 0
  std::vector<std::uint8_t> padding;   // [batch * length], 1 = padding
  std::vector<Index> lengths;          // [batch] real tokens of each sequence

  /// Pads `sequences` (each non-empty) to the longest; `types`, if given, has one list per sequence of the same
  /// length as it.
  static EncoderBatch pad(const std::vector<std::vector<std::int32_t>>& sequences,
                          const std::vector<std::vector<std::int32_t>>& types = {}, std::int32_t pad_id = 0) {
    TFX_CHECK(!sequences.empty(), "EncoderBatch: no sequences");
    TFX_CHECK(types.empty() || types.size() == sequences.size(), "EncoderBatch: ", types.size(),
              " token-type lists for ", sequences.size(), " sequences");
    EncoderBatch b;
    b.batch = static_cast<Index>(sequences.size());
    for (std::size_t i = 0; i < sequences.size(); ++i) {
      TFX_CHECK(!sequences[i].empty(), "EncoderBatch: sequence ", i, " is empty");
      TFX_CHECK(types.empty() || types[i].size() == sequences[i].size(), "EncoderBatch: sequence ", i, " has ",
                sequences[i].size(), " tokens but ", types[i].size(), " token types");
      b.length = std::max<Index>(b.length, static_cast<Index>(sequences[i].size()));
    }
    const auto n = static_cast<std::size_t>(b.batch * b.length);
    b.ids.assign(n, pad_id);
    b.padding.assign(n, 1);
    if (!types.empty()) b.type_ids.assign(n, 0);
    for (std::size_t i = 0; i < sequences.size(); ++i) {
      const std::size_t at = i * static_cast<std::size_t>(b.length);
      std::copy(sequences[i].begin(), sequences[i].end(), b.ids.begin() + static_cast<std::ptrdiff_t>(at));
      std::fill_n(b.padding.begin() + static_cast<std::ptrdiff_t>(at), sequences[i].size(), std::uint8_t{0});
      if (!types.empty()) std::copy(types[i].begin(), types[i].end(), b.type_ids.begin() + static_cast<std::ptrdiff_t>(at));
      b.lengths.push_back(static_cast<Index>(sequences[i].size()));
    }
    return b;
  }
};

/// How a sentence embedding is made from the last hidden states (sentence-transformers' Pooling module).
enum class pooling {
  mean,  // average of the real tokens (pooling_mode_mean_tokens)
  cls,   // the first token's state (pooling_mode_cls_token)
  max,   // element-wise maximum over the real tokens (pooling_mode_max_tokens)
};
inline std::string_view pooling_name(pooling p) {
  return p == pooling::mean ? "mean" : p == pooling::cls ? "cls" : "max";
}

/// One embedding per sequence of `batch` from its hidden states ([batch * length, hidden], host memory); with
/// `normalize`, each is divided by its L2 norm (at least 1e-12, as torch.nn.functional.normalize).
inline Matrix<float> pool(Rows<const float> hidden, const EncoderBatch& batch, pooling mode, bool normalize) {
  TFX_CHECK(hidden.rows == batch.batch * batch.length && static_cast<Index>(batch.lengths.size()) == batch.batch,
            "pool: hidden states have ", hidden.rows, " rows for a batch of ", batch.batch, " x ", batch.length);
  const Index H = hidden.cols;
  Matrix<float> out(batch.batch, H);
  std::vector<double> acc(static_cast<std::size_t>(H));
  for (Index b = 0; b < batch.batch; ++b) {
    const Index first = b * batch.length, n = batch.lengths[static_cast<std::size_t>(b)];
    TFX_CHECK(n >= 1 && n <= batch.length, "pool: sequence ", b, " has ", n, " tokens, expected 1 to ", batch.length);
    float* o = out.data() + b * H;
    if (mode == pooling::cls) {
      std::copy(hidden.row(first), hidden.row(first) + H, o);
    } else if (mode == pooling::max) {
      std::copy(hidden.row(first), hidden.row(first) + H, o);
      for (Index t = 1; t < n; ++t)
        for (Index e = 0; e < H; ++e) o[e] = std::max(o[e], hidden(first + t, e));
    } else {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (Index t = 0; t < n; ++t)
        for (Index e = 0; e < H; ++e) acc[static_cast<std::size_t>(e)] += hidden(first + t, e);
      for (Index e = 0; e < H; ++e) o[e] = static_cast<float>(acc[static_cast<std::size_t>(e)] / static_cast<double>(n));
    }
    if (normalize) {
      double ss = 0;
      for (Index e = 0; e < H; ++e) ss += static_cast<double>(o[e]) * o[e];
      const double inv = 1.0 / std::max(std::sqrt(ss), 1e-12);
      for (Index e = 0; e < H; ++e) o[e] = static_cast<float>(o[e] * inv);
    }
  }
  return out;
}

/// Cosine similarity of two vectors of equal length.
inline double cosine_similarity(std::span<const float> a, std::span<const float> b) {
  TFX_CHECK(a.size() == b.size(), "cosine_similarity: lengths ", a.size(), " and ", b.size(), " differ");
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) ab += double(a[i]) * b[i], aa += double(a[i]) * a[i], bb += double(b[i]) * b[i];
  return ab / std::max(std::sqrt(aa) * std::sqrt(bb), 1e-12);
}

/// The layer types of encoder family F at storage type T under policy P.
template <EncoderFamily F, StorageType T, ExecutionPolicy P, WeightScheme Q = dense_weights>
struct EncoderParts {
  using Weight = typename Q::template format<typename F::template weight<T>>;
  using Embed = Embedding<T, P>;
  using Positions = LearnedPositions<T, P>;
  using Norm = typename F::template norm<P>;
  using Attn = Attention<Weight, P, rope::half_split>;
  using Mlp = typename F::template mlp<Weight, P>;
  using Block = TransformerBlock<Norm, Attn, Mlp, F::placement, P>;
};

template <EncoderFamily F, ShapeType S = DynamicShape, ExecutionPolicy P = cpu::simd<>, StorageType T = float,
          WeightScheme Q = dense_weights>
class Encoder {
 public:
  using family = F;
  using shape = S;
  using policy = P;
  using storage_type = T;
  using weight_scheme = Q;
  using space = space_t<P>;
  using Parts = EncoderParts<F, T, P, Q>;
  using Weight = typename Parts::Weight;
  using Embed = typename Parts::Embed;
  using Positions = typename Parts::Positions;
  using Norm = typename Parts::Norm;
  using Attn = typename Parts::Attn;
  using Mlp = typename Parts::Mlp;
  using Block = typename Parts::Block;

  /// The layers, in forward order.
  struct Layers {
    Embed embed{Rows<const T, space>(nullptr, 1, 1)};
    Embed token_types{Rows<const T, space>(nullptr, 1, 1)};
    Positions positions{};
    Norm embed_norm{};
    std::vector<Block> blocks;
  };

  /// Parameters and FLOPs per token (the attention's context-dependent part aside), from the layers' counts.
  static constexpr Counts counts(const ModelSpec& s) {
    Counts c = Embed::counts(s);
    c += Counts::elementwise(s.type_vocab * s.hidden);
    c += Positions::counts(s);
    c += Norm::counts(s);
    for (std::int64_t l = 0; l < s.layers; ++l) c += Block::counts(s, l);
    c.kv_values = 0;  // no cache
    return c;
  }

  Encoder(ModelSpec spec, ModelInfo info, Layers layers, std::shared_ptr<const void> storage, std::size_t weight_bytes)
      : spec_(std::move(spec)), info_(std::move(info)), layers_(std::move(layers)), storage_(std::move(storage)),
        weight_bytes_(weight_bytes) {
    TFX_CHECK(static_cast<std::int64_t>(layers_.blocks.size()) == spec_.layers, "Encoder: ", layers_.blocks.size(),
              " blocks for ", spec_.layers, " layers");
  }
  Encoder(Encoder&&) noexcept = default;
  Encoder& operator=(Encoder&&) noexcept = default;

  const ModelSpec& dims() const { return spec_; }
  const ModelInfo& info() const { return info_; }
  const Layers& layers() const { return layers_; }
  Counts counts() const { return counts(spec_); }
  std::size_t weight_bytes() const { return weight_bytes_; }
  Index hidden() const { return spec_.hidden; }
  /// The longest sequence the model can run (max_position_embeddings).
  Index max_positions() const { return layers_.positions.max_positions(); }
  /// A context to run the encoder in (threads and scratch memory on a CPU).
  context_t<P> new_context(int threads = 1) const { return make_context<context_t<P>, P>(threads); }

  /// Runs a padded batch: hidden: [batch * length, hidden], the last hidden states of every row.
  void forward(context_t<P>& ctx, const EncoderBatch& in, Rows<float, space> hidden) const {
    const Index n = in.batch * in.length;
    TFX_CHECK(in.batch > 0 && in.length > 0 && static_cast<Index>(in.ids.size()) == n &&
                  (in.padding.empty() || static_cast<Index>(in.padding.size()) == n) &&
                  (in.type_ids.empty() || static_cast<Index>(in.type_ids.size()) == n),
              "Encoder: a batch of ", in.batch, " x ", in.length, " has ", in.ids.size(), " ids, ", in.padding.size(),
              " padding flags and ", in.type_ids.size(), " token types");
    TFX_CHECK(in.length <= max_positions(), info_.model_type, ": sequences of ", in.length,
              " tokens exceed the model's ", max_positions(), " positions (max_position_embeddings)");
    TFX_CHECK(hidden.rows == n && hidden.cols == spec_.hidden, "Encoder: output is [", hidden.rows, ", ", hidden.cols,
              "], expected [", n, ", ", spec_.hidden, "]");
    for (std::size_t i = 0; i < in.type_ids.size(); ++i)
      TFX_CHECK(in.type_ids[i] >= 0 && in.type_ids[i] < spec_.type_vocab, info_.model_type, ": token type ",
                in.type_ids[i], " at index ", i, " is out of range (type_vocab_size ", spec_.type_vocab, ")");
    ScratchScope scratch(ctx.scratch);
    layers_.embed.forward(ctx, in.ids, hidden);
    Rows<float, space> types = scratch.rows(n, spec_.hidden);
    if (in.type_ids.empty()) {
      const std::vector<std::int32_t> zeros(static_cast<std::size_t>(n), 0);
      layers_.token_types.forward(ctx, zeros, types);
    } else {
      layers_.token_types.forward(ctx, in.type_ids, types);
    }
    kernels::add(P{}, ctx, hidden, Rows<const float, space>(types));  // word + type, then + position (HF's order)
    for (Index b = 0; b < in.batch; ++b) layers_.positions.forward(ctx, hidden.slice_rows(b * in.length, in.length), 0);
    layers_.embed_norm.forward(ctx, hidden, hidden);
    const BasicBatch<space> batch{in.length, in.padding};
    for (const Block& block : layers_.blocks) block.forward(ctx, hidden, batch);
  }

  /// Sentence embeddings of a padded batch ([batch, hidden], host memory).
  Matrix<float> embed(context_t<P>& ctx, const EncoderBatch& in, pooling mode, bool normalize) const
    requires std::is_same_v<space, host_space>
  {
    Matrix<float> hidden(in.batch * in.length, spec_.hidden);
    forward(ctx, in, hidden.view());
    return pool(hidden.view(), in, mode, normalize);
  }

 private:
  ModelSpec spec_;
  ModelInfo info_;
  Layers layers_;
  std::shared_ptr<const void> storage_;
  std::size_t weight_bytes_ = 0;
};

}  // namespace tfx
