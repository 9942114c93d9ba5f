// Hugging Face adapter: qwen3 (Qwen3Config). Per-head q/k RMSNorm; head_dim defaults to 128 (not hidden / heads);
// biases follow attention_bias; sliding window as qwen2.
#pragma once
#include "tfx/io/hf/llama_like.hpp"
#include "tfx/model/family.hpp"

namespace tfx::io::hf {

template <>
struct Adapter<family::Qwen3> : LlamaLikeAdapter<family::Qwen3> {
  static void parse(HfConfig& c, const detail::FieldReader& r) {
    c.parse_llama_like(r, {.max_position_embeddings = 32768, .head_dim = 128, .max_window_layers = 28});
    c.has_qkv_bias = c.has_o_bias = c.attention_bias;
    c.window = c.use_sliding_window ? c.sliding_window : std::nullopt;
  }
};

}  // namespace tfx::io::hf
