// Shapes: the dimensions of a model, static (a preset type, checked at compile time and against config.json)
// or dynamic (read from config.json). constexpr accounting: parameters, FLOPs per token, KV-cache bytes.
#pragma once
#include <concepts>
#include <cstdint>

#include "tfx/core/spec.hpp"

namespace tfx {

struct ModelDims {
  std::int64_t vocab = 0, hidden = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, intermediate = 0;
  bool tied = false;          // lm_head shares the embedding matrix
  bool qk_norm = false;       // Qwen3 per-head q/k norm weights
  bool qkv_bias = false;      // q/k/v projection biases
  bool o_bias = false;        // o_proj bias
  bool mlp_bias = false;      // gate/up/down biases

  /// Every weight counted once (a tied lm_head is the embedding), as transformers' num_parameters() does.
  constexpr std::int64_t parameter_count() const {
    const std::int64_t q = heads * head_dim, kv = kv_heads * head_dim;
    std::int64_t layer = hidden * q + 2 * hidden * kv + q * hidden  // q, k, v, o
                         + 3 * hidden * intermediate                // gate, up, down
                         + 2 * hidden;                              // input and post-attention norms
    if (qk_norm) layer += 2 * head_dim;
    if (qkv_bias) layer += q + 2 * kv;
    if (o_bias) layer += hidden;
    if (mlp_bias) layer += 2 * intermediate + hidden;
    return vocab * hidden + layers * layer + hidden + (tied ? 0 : vocab * hidden);
  }
  /// Weights that take part in matrix products for one token (all but the embedding lookup and norms).
  constexpr std::int64_t matmul_parameters() const {
    const std::int64_t q = heads * head_dim, kv = kv_heads * head_dim;
    return layers * (hidden * q + 2 * hidden * kv + q * hidden + 3 * hidden * intermediate) + vocab * hidden;
  }
  /// Forward FLOPs for one token attending `context` earlier positions: 2 per multiply-add.
  constexpr std::int64_t flops_per_token(std::int64_t context = 0) const {
    return 2 * matmul_parameters() + 4 * layers * heads * head_dim * (context + 1);
  }
  /// Bytes of K and V kept per position (f32 cache).
  constexpr std::int64_t kv_cache_bytes_per_token() const { return 2 * layers * kv_heads * head_dim * 4; }
};

/// The ModelSpec of a Llama-like decoder with these dimensions.
constexpr ModelSpec spec_of(const ModelDims& d, bool qk_norm = false) {
  ModelSpec s;
  s.vocab = d.vocab, s.hidden = d.hidden, s.layers = d.layers, s.heads = d.heads, s.kv_heads = d.kv_heads;
  s.head_dim = d.head_dim, s.intermediate = d.intermediate, s.tied = d.tied, s.qk_norm = d.qk_norm || qk_norm;
  s.qkv_bias = d.qkv_bias, s.o_bias = d.o_bias, s.mlp_bias = d.mlp_bias;
  return s;
}

/// A static shape. Heads must divide into kv groups and head_dim must be even for RoPE: checked here, at compile time.
template <std::int64_t Vocab, std::int64_t Hidden, std::int64_t Layers, std::int64_t Heads, std::int64_t KvHeads,
          std::int64_t HeadDim, std::int64_t Intermediate, bool Tied = false, bool QkNorm = false>
struct Shape {
  static_assert(Vocab > 0 && Hidden > 0 && Layers > 0 && Heads > 0 && KvHeads > 0 && HeadDim > 0 && Intermediate > 0,
                "tfx::Shape: every dimension must be positive");
  static_assert(Heads % KvHeads == 0, "tfx::Shape: heads must be a multiple of kv_heads (grouped-query attention)");
  static_assert(HeadDim % 2 == 0, "tfx::Shape: head_dim must be even for rotary embeddings");
  static constexpr bool is_static = true;
  static constexpr ModelDims dims{Vocab, Hidden, Layers, Heads, KvHeads, HeadDim, Intermediate, Tied, QkNorm};
  static constexpr std::int64_t parameter_count = dims.parameter_count();
  static constexpr std::int64_t kv_cache_bytes_per_token = dims.kv_cache_bytes_per_token();
  static constexpr std::int64_t flops_per_token = dims.flops_per_token();
};

/// Dimensions read from config.json at load time.
struct DynamicShape {
  static constexpr bool is_static = false;
};

template <class S>
concept ShapeType = requires { { S::is_static } -> std::convertible_to<bool>; };

namespace shapes {
// Published configurations (config.json of each checkpoint).
using Qwen3_0_6B = Shape<151936, 1024, 28, 16, 8, 128, 3072, /*tied*/ true, /*qk_norm*/ true>;
using Qwen3_8B = Shape<151936, 4096, 36, 32, 8, 128, 12288, /*tied*/ false, /*qk_norm*/ true>;
using Llama3_8B = Shape<128256, 4096, 32, 32, 8, 128, 14336>;
}  // namespace shapes

}  // namespace tfx
