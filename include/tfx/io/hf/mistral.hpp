// Hugging Face adapter: mistral (MistralConfig). No biases; sliding_window (default 4096 when absent, none when
// null) on every layer.
#pragma once
#include "tfx/io/hf/llama_like.hpp"
#include "tfx/model/family.hpp"

namespace tfx::io::hf {

template <>
struct Adapter<family::Mistral> : LlamaLikeAdapter<family::Mistral> {
  static void parse(HfConfig& c, const detail::FieldReader& r) {
    c.parse_llama_like(r, {.max_position_embeddings = 4096 * 32, .sliding_window = 4096});
    c.has_qkv_bias = c.has_o_bias = false;
    c.window = c.sliding_window;
    c.window_on_every_layer = true;
  }
};

}  // namespace tfx::io::hf
