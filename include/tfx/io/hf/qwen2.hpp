// Hugging Face adapter: qwen2 (Qwen2Config). q/k/v always have a bias, o_proj never (hard-wired in transformers);
// sliding window only with use_sliding_window, on layers >= max_window_layers (or as layer_types says).
#pragma once
#include "tfx/io/hf/llama_like.hpp"
#include "tfx/model/family.hpp"

namespace tfx::io::hf {

template <>
struct Adapter<family::Qwen2> : LlamaLikeAdapter<family::Qwen2> {
  static void parse(HfConfig& c, const detail::FieldReader& r) {
    c.parse_llama_like(r, {.max_position_embeddings = 32768, .max_window_layers = 28});
    c.has_qkv_bias = true;
    c.has_o_bias = false;
    c.window = c.use_sliding_window ? c.sliding_window : std::nullopt;
  }
};

}  // namespace tfx::io::hf
