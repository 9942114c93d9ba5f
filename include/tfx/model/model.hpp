// tfx::Model<Arch, Shape, Policy, T>: a decoder-only transformer composed from tfx layers.
//
//   tokens -> embed_tokens -> [ x += attn(norm1(x)); x += mlp(norm2(x)) ] x L -> norm -> lm_head -> logits
//
// Weights are views into the memory-mapped safetensors files (used in place when the file's dtype is T; another
// float dtype is converted once at load). A Session owns the KV caches and the scratch memory, so one loaded
// Model serves any number of independent sessions, from several threads at once.
#pragma once
#include <algorithm>
#include <filesystem>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "tfx/io/hf_config.hpp"
#include "tfx/io/safetensors.hpp"
#include "tfx/layers/attention.hpp"
#include "tfx/layers/embedding.hpp"
#include "tfx/layers/mlp.hpp"
#include "tfx/layers/rms_norm.hpp"
#include "tfx/layers/transformer_block.hpp"
#include "tfx/model/architecture.hpp"
#include "tfx/model/shape.hpp"

namespace tfx {

/// The state of one generation: a KV cache per layer, the position reached, threads and scratch memory.
class Session {
 public:
  Session(const ModelDims& d, Index capacity, int threads) : ctx(threads), capacity_(capacity) {
    TFX_CHECK(capacity > 0, "Session: capacity must be positive, got ", capacity);
    caches_.reserve(static_cast<std::size_t>(d.layers));
    for (std::int64_t l = 0; l < d.layers; ++l)
      caches_.emplace_back(static_cast<int>(d.kv_heads), static_cast<int>(d.head_dim), capacity);
  }
  Index position() const { return position_; }
  Index capacity() const { return capacity_; }
  void reset() {
    position_ = 0;
    for (auto& c : caches_) c.clear();
  }

  cpu::Context ctx;

 private:
  template <Architecture, ShapeType, ExecutionPolicy, StorageType>
  friend class Model;
  Index capacity_ = 0, position_ = 0;
  std::vector<KvCache> caches_;
};

template <Architecture Arch, ShapeType S = DynamicShape, ExecutionPolicy P = cpu::simd<>, StorageType T = float>
class Model {
 public:
  using architecture = Arch;
  using shape = S;
  using policy = P;
  using storage_type = T;
  using Norm = RMSNorm<T, P>;
  using Attn = Attention<T, P, rope::half_split>;
  using Mlp = SwiGLU<T, P>;
  using Block = TransformerBlock<Norm, Attn, Mlp, norm_placement::pre, P>;

  /// Loads a Hugging Face model folder (config.json + model.safetensors or a sharded index).
  static Model load(const std::filesystem::path& dir) {
    return Model(io::HfConfig::from_file(dir / "config.json"), io::Checkpoint::open(dir));
  }

  Model(io::HfConfig config, io::Checkpoint checkpoint) : config_(std::move(config)), ckpt_(std::move(checkpoint)) {
    check_config();
    build();
  }
  Model(Model&&) noexcept = default;
  Model& operator=(Model&&) noexcept = default;

  const io::HfConfig& config() const { return config_; }
  const ModelDims& dims() const { return dims_; }
  /// Bytes of weights this model reads per token (mapped or converted).
  std::size_t weight_bytes() const { return weight_bytes_; }

  /// A new session holding up to `capacity` positions; 0 means min(max_position_embeddings, 4096), since the
  /// f32 KV cache is allocated up front (a 40k-token context of a 0.6B model would take gigabytes).
  Session new_session(Index capacity = 0, int threads = 1) const {
    constexpr Index default_capacity = 4096;
    return Session(dims_, capacity > 0 ? capacity : std::min<Index>(config_.max_position_embeddings, default_capacity),
                   threads);
  }

  /// Runs `tokens` at the session's next positions and writes logits: all positions ([T, vocab]) or only the
  /// last one ([1, vocab]), as `logits` is shaped.
  void forward(Session& s, std::span<const std::int32_t> tokens, Rows<float> logits) const {
    const Index n = static_cast<Index>(tokens.size());
    TFX_CHECK(n > 0, "Model: no tokens to run");
    TFX_CHECK(s.position_ + n <= s.capacity_, "Model: ", n, " tokens at position ", s.position_,
              " exceed the session's context of ", s.capacity_, " positions");
    TFX_CHECK(static_cast<Index>(s.caches_.size()) == dims_.layers, "Model: session has ", s.caches_.size(),
              " layers, model has ", dims_.layers);
    TFX_CHECK(logits.cols == dims_.vocab && (logits.rows == n || logits.rows == 1), "Model: logits are [", logits.rows,
              ", ", logits.cols, "], expected [", n, " or 1, ", dims_.vocab, "]");
    cpu::Context& ctx = s.ctx;
    cpu::ScratchScope scratch(ctx.scratch);
    Rows<float> x(scratch.floats(static_cast<std::size_t>(n * dims_.hidden)).data(), n, dims_.hidden);
    embed_.forward(ctx, tokens, x);
    for (std::size_t l = 0; l < blocks_.size(); ++l) blocks_[l].forward(ctx, x, s.position_, s.caches_[l]);
    const Rows<float> rows = logits.rows == n ? x : x.slice_rows(n - 1, 1);
    final_norm_.forward(ctx, rows, rows);
    lm_head_.forward(ctx, rows, logits);
    s.position_ += n;
  }

 private:
  void check_config() {
    const auto& c = config_;
    TFX_CHECK(c.model_type == Arch::model_type, c.where, ": model_type is '", c.model_type, "' but the model type is ",
              Arch::model_type);
    TFX_CHECK(c.act == activation::silu, c.where, ": field hidden_act: ", Arch::model_type,
              " models are supported with 'silu' (SwiGLU), found '", c.hidden_act, "'");
    dims_ = ModelDims{c.vocab_size, c.hidden_size, c.num_hidden_layers, c.num_attention_heads, c.num_key_value_heads,
                      c.head_dim, c.intermediate_size, c.tie_word_embeddings, Arch::qk_norm, c.qkv_bias(),
                      c.o_proj_bias(), c.mlp_bias};
    if constexpr (S::is_static) {
      auto same = [&](const char* field, std::int64_t found, std::int64_t want) {
        TFX_CHECK(found == want, c.where, ": field ", field, " is ", found, " but the model's static shape has ", want);
      };
      same("vocab_size", dims_.vocab, S::dims.vocab);
      same("hidden_size", dims_.hidden, S::dims.hidden);
      same("num_hidden_layers", dims_.layers, S::dims.layers);
      same("num_attention_heads", dims_.heads, S::dims.heads);
      same("num_key_value_heads", dims_.kv_heads, S::dims.kv_heads);
      same("head_dim", dims_.head_dim, S::dims.head_dim);
      same("intermediate_size", dims_.intermediate, S::dims.intermediate);
    }
    TFX_CHECK(dims_.heads % dims_.kv_heads == 0, c.where, ": num_attention_heads (", dims_.heads,
              ") must be a multiple of num_key_value_heads (", dims_.kv_heads, ")");
  }

  /// The tensor `name` (shape checked against `shape`) as T: in place when the file's dtype is T, else converted once.
  const T* tensor(const std::string& name, std::initializer_list<std::int64_t> shape) {
    const io::TensorInfo& t = ckpt_.at(name);
    used_.insert(name);
    io::check_shape(t, shape);
    TFX_CHECK(t.dtype.has_value(), "tensor '", name, "' in ", t.file, ": dtype ", t.dtype_str,
              " is not a float dtype (F32, F16, BF16)");
    weight_bytes_ += t.bytes.size();
    if (*t.dtype == dtype_of<T>()) return io::matrix<T>(t).data;
    const Index n = t.numel();
    auto& buf = owned_.emplace_back(static_cast<std::size_t>(n));
    auto convert = [&]<class U>(U) {
      const U* src = io::matrix<U>(t).data;
      for (Index i = 0; i < n; ++i) buf[static_cast<std::size_t>(i)] = from_float<T>(to_float(src[i]));
    };
    if (*t.dtype == dtype::f32) convert(float{});
    else if (*t.dtype == dtype::bf16) convert(bf16{});
    else convert(f16{});
    return buf.data();
  }
  Rows<const T> weight(const std::string& name, std::int64_t rows, std::int64_t cols) {
    return Rows<const T>(tensor(name, {rows, cols}), rows, cols);
  }
  std::span<const T> vector(const std::string& name, std::int64_t n) {
    return {tensor(name, {n}), static_cast<std::size_t>(n)};
  }
  Linear<T, P> linear(const std::string& prefix, std::int64_t out, std::int64_t in, bool bias) {
    const auto w = weight(prefix + ".weight", out, in);
    return bias ? Linear<T, P>(w, vector(prefix + ".bias", out)) : Linear<T, P>(w);
  }

  void build() {
    const auto& d = dims_;
    const auto& c = config_;
    embed_ = Embedding<T, P>(weight("model.embed_tokens.weight", d.vocab, d.hidden));
    RopeConfig rc = c.rope;
    rc.head_dim = static_cast<int>(d.head_dim);
    rope_ = std::make_unique<RotaryEmbedding<rope::half_split, P>>(rc);
    const auto sliding = c.sliding_layers();
    const auto window = c.sliding_window.value_or(0);
    const float eps = static_cast<float>(c.rms_norm_eps);
    blocks_.reserve(static_cast<std::size_t>(d.layers));
    for (std::int64_t l = 0; l < d.layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l);
      AttentionConfig ac{static_cast<int>(d.hidden), static_cast<int>(d.heads), static_cast<int>(d.kv_heads),
                         static_cast<int>(d.head_dim), eps, sliding[static_cast<std::size_t>(l)] ? window : 0, {}};
      typename Attn::Weights aw{linear(p + ".self_attn.q_proj", d.heads * d.head_dim, d.hidden, d.qkv_bias),
                                linear(p + ".self_attn.k_proj", d.kv_heads * d.head_dim, d.hidden, d.qkv_bias),
                                linear(p + ".self_attn.v_proj", d.kv_heads * d.head_dim, d.hidden, d.qkv_bias),
                                linear(p + ".self_attn.o_proj", d.hidden, d.heads * d.head_dim, d.o_bias)};
      if constexpr (Arch::qk_norm) {
        aw.q_norm = vector(p + ".self_attn.q_norm.weight", d.head_dim);
        aw.k_norm = vector(p + ".self_attn.k_norm.weight", d.head_dim);
      }
      // Braces: gate, up, down are read (and checked) in this order, so the first bad one is the one reported.
      Mlp mlp{linear(p + ".mlp.gate_proj", d.intermediate, d.hidden, d.mlp_bias),
              linear(p + ".mlp.up_proj", d.intermediate, d.hidden, d.mlp_bias),
              linear(p + ".mlp.down_proj", d.hidden, d.intermediate, d.mlp_bias)};
      blocks_.emplace_back(Norm(vector(p + ".input_layernorm.weight", d.hidden), eps), Attn(ac, aw, rope_.get()),
                           Norm(vector(p + ".post_attention_layernorm.weight", d.hidden), eps), mlp);
    }
    final_norm_ = Norm(vector("model.norm.weight", d.hidden), eps);
    if (d.tied) {
      lm_head_ = Linear<T, P>(embed_.table());
      used_.insert("lm_head.weight");  // some tied checkpoints still carry a copy; the embedding is what is used
    } else {
      lm_head_ = Linear<T, P>(weight("lm_head.weight", d.vocab, d.hidden));
    }
    for (const auto& name : ckpt_.names()) {
      // Older Llama checkpoints store RoPE frequencies as buffers; they are recomputed from config.json.
      if (used_.count(name) || name.find("rotary_emb.inv_freq") != std::string::npos) continue;
      fail("checkpoint ", ckpt_.dir().string(), ": unexpected tensor '", name, "' for a ", Arch::model_type,
           " model with this config.json (wrong model_type, or bias / q-k-norm flags that disagree with the weights?)");
    }
  }

  io::HfConfig config_;
  io::Checkpoint ckpt_;
  ModelDims dims_{};
  std::vector<std::vector<T>> owned_;
  std::set<std::string, std::less<>> used_;
  std::size_t weight_bytes_ = 0;
  std::unique_ptr<RotaryEmbedding<rope::half_split, P>> rope_;
  Embedding<T, P> embed_{Rows<const T>(nullptr, 1, 1)};
  std::vector<Block> blocks_;
  Norm final_norm_{};
  Linear<T, P> lm_head_{};
};

}  // namespace tfx
