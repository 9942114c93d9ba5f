// tfx::Model<Family, Shape, Policy, T>: a decoder-only transformer composed from the layers its family names
// (model/family.hpp). The forward pass is the same for every family:
//
//   tokens -> embed -> positions -> [ block ] x L -> final norm -> lm_head -> logits
//
// A model is built from its layers (an adapter under io/ maps a checkpoint's tensors onto them; the model never
// sees files). Weights are views: whatever owns the memory they point into (a mapped checkpoint, converted
// buffers) is kept alive by the model. A Session owns the KV caches and the scratch memory, so one Model serves
// any number of independent sessions, from several threads at once.
#pragma once
#include <algorithm>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tfx/layers/kv_cache.hpp"
#include "tfx/model/family.hpp"
#include "tfx/model/shape.hpp"

namespace tfx {

/// What a model says about itself beyond its layers: where it came from and how it is meant to be run.
struct ModelInfo {
  std::string model_type;                  // config.json's model_type
  std::int64_t max_position_embeddings = 0;  // the trained context
  std::vector<std::int64_t> bos_token_id, eos_token_id;
  std::vector<std::pair<std::string, std::string>> options;  // family options for `tfx info` ("rope_theta", "1e+06")
};

/// The state of one generation: a KV cache per layer, the position reached, and the context the kernels run in
/// (threads and scratch memory on a CPU; a stream, a cuBLAS handle and device scratch on a GPU). The caches are
/// allocated through the context, in its memory space.
template <class Ctx>
class BasicSession {
 public:
  using context_type = Ctx;
  using space = typename Ctx::memory_space;
  /// kv_dtype: how the KV caches store keys and values (f32 exact; bf16 or f16 half the memory and bandwidth).
  BasicSession(const ModelSpec& d, Index capacity, Ctx context, dtype kv_dtype = dtype::f32)
      : ctx(std::move(context)), capacity_(capacity) {
    TFX_CHECK(capacity > 0, "Session: capacity must be positive, got ", capacity);
    caches_.reserve(static_cast<std::size_t>(d.layers));
    for (std::int64_t l = 0; l < d.layers; ++l)
      caches_.emplace_back(ctx, static_cast<int>(d.kv_heads), static_cast<int>(d.head_dim), capacity, kv_dtype);
  }
  BasicSession(const ModelSpec& d, Index capacity, int threads, dtype kv_dtype = dtype::f32)
      : BasicSession(d, capacity, make_context<Ctx>(threads), kv_dtype) {}
  dtype kv_dtype() const { return caches_.empty() ? dtype::f32 : caches_.front().type(); }
  Index position() const { return position_; }
  Index capacity() const { return capacity_; }
  void reset() {
    position_ = 0;
    for (auto& c : caches_) c.clear();
  }

  Ctx ctx;

 private:
  template <Family, ShapeType, ExecutionPolicy, StorageType, WeightScheme>
  friend class Model;
  Index capacity_ = 0, position_ = 0;
  std::vector<BasicKvCache<space>> caches_;
};
using Session = BasicSession<cpu::Context>;

template <Family F, ShapeType S = DynamicShape, ExecutionPolicy P = cpu::simd<>, StorageType T = float,
          WeightScheme Q = dense_weights>
class Model {
 public:
  using family = F;
  using shape = S;
  using policy = P;
  using storage_type = T;
  using weight_scheme = Q;
  using space = space_t<P>;
  using session_type = BasicSession<context_t<P>>;
  using Parts = DecoderParts<F, T, P, Q>;
  using Weight = typename Parts::Weight;
  using Embed = typename Parts::Embed;
  using Positions = typename Parts::Positions;
  using Norm = typename Parts::Norm;
  using Attn = typename Parts::Attn;
  using Mlp = typename Parts::Mlp;
  using Block = typename Parts::Block;
  using Head = typename Parts::Head;

  /// The layers, in forward order.
  struct Layers {
    Embed embed{Rows<const T, space>(nullptr, 1, 1)};
    Positions positions{};
    std::vector<Block> blocks;
    Norm final_norm{};
    Head lm_head{};
  };

  /// Parameters, active parameters, FLOPs and KV bytes per token of a model of this type described by `s`,
  /// summed from its layers' own counts (no weights needed).
  static constexpr Counts counts(const ModelSpec& s) {
    Counts c = Embed::counts(s);
    c += Positions::counts(s);
    for (std::int64_t l = 0; l < s.layers; ++l) c += Block::counts(s, l);
    c += Norm::counts(s);
    Counts head = Counts::dense(s.vocab * s.hidden);
    if (s.tied) head.parameters = head.active = 0;  // the embedding, counted once
    c += head;
    return c;
  }
  /// For a static shape: the counts, at compile time.
  static constexpr Counts static_counts()
    requires(S::is_static)
  {
    return counts(spec_of(S::dims, F::qk_norm));
  }

  /// `storage` keeps alive whatever the layers' weights point into.
  Model(ModelSpec spec, ModelInfo info, Layers layers, std::shared_ptr<const void> storage, std::size_t weight_bytes)
      : spec_(std::move(spec)), info_(std::move(info)), layers_(std::move(layers)), storage_(std::move(storage)),
        weight_bytes_(weight_bytes) {
    TFX_CHECK(static_cast<std::int64_t>(layers_.blocks.size()) == spec_.layers, "Model: ", layers_.blocks.size(),
              " blocks for ", spec_.layers, " layers");
    if constexpr (S::is_static) check_static_shape();
  }
  Model(Model&&) noexcept = default;
  Model& operator=(Model&&) noexcept = default;

  const ModelSpec& dims() const { return spec_; }
  const ModelInfo& info() const { return info_; }
  const Layers& layers() const { return layers_; }
  Counts counts() const { return counts(spec_); }
  /// Bytes of weights this model reads (mapped or converted).
  std::size_t weight_bytes() const { return weight_bytes_; }
  /// The longest sequence the model can run: its position table, if it has one.
  Index max_positions() const { return layers_.positions.max_positions(); }

  /// A new session holding up to `capacity` positions; 0 means min(max_position_embeddings, 4096), since the
  /// f32 KV cache is allocated up front (a 40k-token context of a 0.6B model would take gigabytes).
  /// kv_dtype: the caches' storage type (f32 by default; bf16 or f16 halve the cache and its read bandwidth).
  session_type new_session(Index capacity = 0, int threads = 1, dtype kv_dtype = dtype::f32) const {
    constexpr Index default_capacity = 4096;
    return session_type(spec_, capacity > 0 ? capacity : std::min<Index>(info_.max_position_embeddings, default_capacity),
                        make_context<context_t<P>, P>(threads), kv_dtype);
  }

  /// Runs `tokens` at the session's next positions and writes logits: all positions ([T, vocab]) or only the
  /// last one ([1, vocab]), as `logits` is shaped. Tokens are host memory; logits are in the policy's memory.
  void forward(session_type& s, std::span<const std::int32_t> tokens, Rows<float, space> logits) const {
    const Index n = static_cast<Index>(tokens.size());
    TFX_CHECK(n > 0, "Model: no tokens to run");
    TFX_CHECK(s.position_ + n <= s.capacity_, "Model: ", n, " tokens at position ", s.position_,
              " exceed the session's context of ", s.capacity_, " positions");
    TFX_CHECK(s.position_ + n <= max_positions(), "Model: ", n, " tokens at position ", s.position_,
              " exceed the model's ", max_positions(), " positions (n_positions)");
    TFX_CHECK(static_cast<Index>(s.caches_.size()) == spec_.layers, "Model: session has ", s.caches_.size(),
              " layers, model has ", spec_.layers);
    TFX_CHECK(logits.cols == spec_.vocab && (logits.rows == n || logits.rows == 1), "Model: logits are [", logits.rows,
              ", ", logits.cols, "], expected [", n, " or 1, ", spec_.vocab, "]");
    context_t<P>& ctx = s.ctx;
    ScratchScope scratch(ctx.scratch);
    Rows<float, space> x = scratch.rows(n, spec_.hidden);
    layers_.embed.forward(ctx, tokens, x);
    layers_.positions.forward(ctx, x, s.position_);
    BasicStep<space> step{s.position_};
    BasicRopeTable<space> rope;  // the rotary cos / sin of these positions, computed once for all layers
    if (const auto* r = layers_.positions.rotary()) {
      rope = r->table(ctx, scratch, s.position_, n);
      step.rope = &rope;
    }
    for (std::size_t l = 0; l < layers_.blocks.size(); ++l) {
      // Only the last position's logits: the last layer runs attention and its MLP for that row alone.
      if (l + 1 == layers_.blocks.size() && logits.rows == 1) step.keep = 1;
      layers_.blocks[l].forward(ctx, x, step, s.caches_[l]);
    }
    const Rows<float, space> rows = logits.rows == n ? x : x.slice_rows(n - 1, 1);
    layers_.final_norm.forward(ctx, rows, rows);
    layers_.lm_head.forward(ctx, rows, logits);
    s.position_ += n;
  }

  /// The same with logits in host memory, whatever the policy's memory: a device model copies them back (the one
  /// synchronisation of a forward pass).
  void forward_to_host(session_type& s, std::span<const std::int32_t> tokens, Rows<float> logits) const {
    if constexpr (std::is_same_v<space, host_space>) {
      forward(s, tokens, logits);
    } else {
      ScratchScope scratch(s.ctx.scratch);
      Rows<float, space> device_logits = scratch.rows(logits.rows, logits.cols);
      forward(s, tokens, device_logits);
      kernels::copy_to_host(P{}, s.ctx, Rows<const float, space>(device_logits), logits);
    }
  }

 private:
  void check_static_shape() const {
    auto same = [&](const char* field, std::int64_t found, std::int64_t want) {
      TFX_CHECK(found == want, info_.model_type, ": ", field, " is ", found, " but the model's static shape has ", want);
    };
    same("vocab_size", spec_.vocab, S::dims.vocab);
    same("hidden_size", spec_.hidden, S::dims.hidden);
    same("num_hidden_layers", spec_.layers, S::dims.layers);
    same("num_attention_heads", spec_.heads, S::dims.heads);
    same("num_key_value_heads", spec_.kv_heads, S::dims.kv_heads);
    same("head_dim", spec_.head_dim, S::dims.head_dim);
    same("intermediate_size", spec_.intermediate, S::dims.intermediate);
  }

  ModelSpec spec_;
  ModelInfo info_;
  Layers layers_;
  std::shared_ptr<const void> storage_;
  std::size_t weight_bytes_ = 0;
};

}  // namespace tfx
