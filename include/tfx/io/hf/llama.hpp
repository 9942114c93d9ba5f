// Hugging Face adapter: llama (LlamaConfig). Biases follow attention_bias (q, k, v and o) and mlp_bias.
#pragma once
#include "tfx/io/hf/llama_like.hpp"
#include "tfx/model/family.hpp"

namespace tfx::io::hf {

template <>
struct Adapter<family::Llama> : LlamaLikeAdapter<family::Llama> {
  static void parse(HfConfig& c, const detail::FieldReader& r) {
    c.parse_llama_like(r, {.max_position_embeddings = 2048});
    c.has_qkv_bias = c.has_o_bias = c.attention_bias;
  }
};

}  // namespace tfx::io::hf
