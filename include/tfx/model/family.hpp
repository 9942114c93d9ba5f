// Model families as types. A family names its parts through alias templates (the way CUTLASS policies carry
// configuration); tfx::Model composes them into one decoder whose forward pass is the same for every family:
//
//   embed -> positions -> [ block: norm, attention (q/k norm, RoPE or not), norm, MLP (dense or MoE) ] x L
//         -> final norm -> lm_head
//
// Weights are `weight<T>` (a tfx::WeightFormat: dense T in the family's stored layout); everything 1-D is f32.
// Dimensions, bias flags, sliding windows and expert counts are values read from the configuration (ModelSpec);
// a family's Hugging Face names and config spellings live in its adapter, io/hf/<family>.hpp.
#pragma once
#include <concepts>
#include <string_view>

#include "tfx/core/weights.hpp"
#include "tfx/layers/attention.hpp"
#include "tfx/layers/embedding.hpp"
#include "tfx/layers/layer_norm.hpp"
#include "tfx/layers/mlp.hpp"
#include "tfx/layers/moe.hpp"
#include "tfx/layers/positional.hpp"
#include "tfx/layers/rms_norm.hpp"
#include "tfx/layers/transformer_block.hpp"

namespace tfx {

namespace family {

/// The Llama layout most decoders share: RMSNorm, RoPE half-split, pre-norm, SwiGLU, [out, in] weights.
struct LlamaLike {
  template <ExecutionPolicy P>
  using norm = RMSNorm<float, P>;
  template <StorageType T, ExecutionPolicy P>
  using positions = RotaryPositions<rope::half_split, P>;
  template <StorageType T>
  using weight = Dense<T, weight_layout::out_in>;
  template <class W, ExecutionPolicy P>
  using mlp = SwiGLU<W, P>;
  static constexpr norm_placement placement = norm_placement::pre;
  static constexpr bool qk_norm = false;
};

struct Llama : LlamaLike {  // Llama 1-3.x: attention_bias / mlp_bias flags, llama3 rope scaling
  static constexpr std::string_view model_type = "llama";
};
struct Qwen2 : LlamaLike {  // q/k/v biases, o_proj without
  static constexpr std::string_view model_type = "qwen2";
};
struct Mistral : LlamaLike {  // sliding-window attention
  static constexpr std::string_view model_type = "mistral";
};
struct Qwen3 : LlamaLike {  // per-head q/k RMSNorm before RoPE; head_dim independent of hidden / heads
  static constexpr std::string_view model_type = "qwen3";
  static constexpr bool qk_norm = true;
};
struct Qwen3Moe : Qwen3 {  // Qwen3 attention; a mixture of SwiGLU experts in the sparse layers, SwiGLU elsewhere
  static constexpr std::string_view model_type = "qwen3_moe";
  static constexpr bool host_only = true;  // expert routing runs on the host
  template <class W, ExecutionPolicy P>
  using mlp = MixedMlp<SwiGLU<W, P>, SparseMoE<W, P>>;
};
struct Gpt2 {  // learned absolute positions, LayerNorm with bias, GELU MLP, Conv1D [in, out] weights
  static constexpr std::string_view model_type = "gpt2";
  template <ExecutionPolicy P>
  using norm = LayerNorm<float, P>;
  template <StorageType T, ExecutionPolicy P>
  using positions = LearnedPositions<T, P>;
  template <StorageType T>
  using weight = Dense<T, weight_layout::in_out>;
  template <class W, ExecutionPolicy P>
  using mlp = FeedForward<activation::gelu_tanh, W, P>;  // the activation is read from config.json
  static constexpr norm_placement placement = norm_placement::pre;
  static constexpr bool qk_norm = false;
};

}  // namespace family

/// What a family type must name.
template <class F>
concept Family = requires {
  { F::model_type } -> std::convertible_to<std::string_view>;
  { F::placement } -> std::convertible_to<norm_placement>;
  { F::qk_norm } -> std::convertible_to<bool>;
  typename F::template norm<cpu::scalar>;
  typename F::template positions<float, cpu::scalar>;
  typename F::template weight<float>;
  typename F::template mlp<typename F::template weight<float>, cpu::scalar>;
};

/// Whether family F runs under policy P: a family that says host_only (its layers loop over host memory) runs
/// under policies whose memory is the host.
template <class F, class P>
constexpr bool runs_on() {
  if constexpr (requires { F::host_only; }) return !F::host_only || std::is_same_v<space_t<P>, host_space>;
  else return true;
}

/// The layer types of family F at storage type T under policy P.
template <Family F, StorageType T, ExecutionPolicy P, WeightScheme Q = dense_weights>
struct DecoderParts {
  using StoredWeight = typename F::template weight<T>;  // a block matrix as the checkpoint stores it
  using Weight = typename Q::template format<StoredWeight>;  // ... and as the layers use it
  using Embed = Embedding<T, P>;
  using Positions = typename F::template positions<T, P>;
  using Norm = typename F::template norm<P>;
  using Attn = Attention<Weight, P, typename Positions::layout>;
  using Mlp = typename F::template mlp<Weight, P>;
  using Block = TransformerBlock<Norm, Attn, Mlp, F::placement, P>;
  using Head = Linear<typename Q::template format<Dense<T>>, P>;  // [vocab, hidden]: the embedding matrix when tied
};

}  // namespace tfx
