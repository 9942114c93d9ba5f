// Architectures as types: what the layers of a decoder-only family are. The forward pass is the same for all of
// them (pre-norm RMSNorm, RoPE half-split, grouped-query attention, SwiGLU); a family fixes the compile-time
// choices (q/k norm) and the Hugging Face names; bias flags and sliding windows come from config.json.
#pragma once
#include <concepts>
#include <string_view>

namespace tfx {

namespace arch {
struct Llama {  // Llama 1-3.x (incl. llama3 rope scaling, attention_bias / mlp_bias flags)
  static constexpr std::string_view model_type = "llama";
  static constexpr bool qk_norm = false;
};
struct Qwen2 {  // q/k/v bias, o_proj without
  static constexpr std::string_view model_type = "qwen2";
  static constexpr bool qk_norm = false;
};
struct Qwen3 {  // per-head q/k RMSNorm before RoPE; head_dim independent of hidden / heads
  static constexpr std::string_view model_type = "qwen3";
  static constexpr bool qk_norm = true;
};
struct Mistral {  // sliding-window attention
  static constexpr std::string_view model_type = "mistral";
  static constexpr bool qk_norm = false;
};
}  // namespace arch

template <class A>
concept Architecture = requires {
  { A::model_type } -> std::convertible_to<std::string_view>;
  { A::qk_norm } -> std::convertible_to<bool>;
};

}  // namespace tfx
