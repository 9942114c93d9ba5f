// The Hugging Face layout the Llama-like families share (llama, qwen2, qwen3, mistral, qwen3_moe):
//   model.embed_tokens.weight, model.layers.{l}.{input_layernorm, self_attn.{q,k,v,o}_proj, self_attn.{q,k}_norm,
//   post_attention_layernorm, mlp.*}, model.norm.weight, lm_head.weight (absent or ignored when tied).
// A family's adapter supplies its config defaults and, where it differs, how a layer's MLP is read.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "tfx/core/spec.hpp"
#include "tfx/io/hf/config.hpp"
#include "tfx/io/hf/loader.hpp"
#include "tfx/layers/attention.hpp"

namespace tfx::io::hf {

/// An [out, in] Linear `prefix`.weight (+ `prefix`.bias) of the loader's storage type, in L's weight format.
template <class L, StorageType T, class Sp>
L linear(Loader<T, Sp>& ld, const std::string& prefix, std::int64_t out, std::int64_t in, bool bias) {
  const auto w = ld.template weight<typename L::format>(prefix + ".weight", out, in);
  return bias ? L(w, ld.vector(prefix + ".bias", out)) : L(w);
}

/// The ModelSpec of a Llama-like config.
template <class F>
ModelSpec llama_like_spec(const HfConfig& c) {
  TFX_CHECK(c.act == activation::silu, c.where, ": field hidden_act: ", F::model_type,
            " models are supported with 'silu' (SwiGLU), found '", c.hidden_act, "'");
  ModelSpec s;
  s.vocab = c.vocab_size, s.hidden = c.hidden_size, s.layers = c.num_hidden_layers;
  s.heads = c.num_attention_heads, s.kv_heads = c.num_key_value_heads, s.head_dim = c.head_dim;
  s.intermediate = c.intermediate_size, s.tied = c.tie_word_embeddings, s.qk_norm = F::qk_norm;
  s.qkv_bias = c.qkv_bias(), s.o_bias = c.o_proj_bias(), s.mlp_bias = c.mlp_bias;
  return s;
}

/// A SwiGLU MLP `prefix`.{gate,up,down}_proj of width `inter`.
template <class Mlp, class L, StorageType T, class Sp>
Mlp swiglu(Loader<T, Sp>& ld, const std::string& prefix, std::int64_t hidden, std::int64_t inter, bool bias) {
  // Braces: gate, up, down are read (and checked) in this order, so the first bad one is the one reported.
  return Mlp{linear<L>(ld, prefix + ".gate_proj", inter, hidden, bias), linear<L>(ld, prefix + ".up_proj", inter, hidden, bias),
             linear<L>(ld, prefix + ".down_proj", hidden, inter, bias)};
}

/// The layers of a Llama-like model M; make_mlp(loader, "model.layers.{l}.mlp", l) reads one layer's MLP.
template <class M, StorageType T, class Sp, class MakeMlp>
typename M::Layers build_llama_like(Loader<T, Sp>& ld, const HfConfig& c, const ModelSpec& d, MakeMlp&& make_mlp) {
  using Attn = typename M::Attn;
  using Norm = typename M::Norm;
  using L = Linear<typename M::Weight, typename M::policy>;
  typename M::Layers layers;
  layers.embed = typename M::Embed(ld.matrix("model.embed_tokens.weight", d.vocab, d.hidden));
  RopeConfig rc = c.rope;
  rc.head_dim = static_cast<int>(d.head_dim);
  layers.positions = typename M::Positions(rc);
  const auto sliding = c.sliding_layers();
  const auto window = c.effective_sliding_window().value_or(0);
  const float eps = static_cast<float>(c.rms_norm_eps);
  layers.blocks.reserve(static_cast<std::size_t>(d.layers));
  for (std::int64_t l = 0; l < d.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l);
    AttentionConfig ac{static_cast<int>(d.hidden), static_cast<int>(d.heads), static_cast<int>(d.kv_heads),
                       static_cast<int>(d.head_dim), eps, sliding[static_cast<std::size_t>(l)] ? window : 0, {}};
    typename Attn::Weights aw{linear<L>(ld, p + ".self_attn.q_proj", d.heads * d.head_dim, d.hidden, d.qkv_bias),
                              linear<L>(ld, p + ".self_attn.k_proj", d.kv_heads * d.head_dim, d.hidden, d.qkv_bias),
                              linear<L>(ld, p + ".self_attn.v_proj", d.kv_heads * d.head_dim, d.hidden, d.qkv_bias),
                              linear<L>(ld, p + ".self_attn.o_proj", d.hidden, d.heads * d.head_dim, d.o_bias)};
    if (d.qk_norm) {
      aw.q_norm = ld.vector(p + ".self_attn.q_norm.weight", d.head_dim);
      aw.k_norm = ld.vector(p + ".self_attn.k_norm.weight", d.head_dim);
    }
    Norm n1(ld.vector(p + ".input_layernorm.weight", d.hidden), eps);
    Attn attn(ac, aw, layers.positions.rotary());
    Norm n2(ld.vector(p + ".post_attention_layernorm.weight", d.hidden), eps);
    layers.blocks.emplace_back(n1, attn, n2, make_mlp(ld, p + ".mlp", l));
  }
  layers.final_norm = Norm(ld.vector("model.norm.weight", d.hidden), eps);
  layers.lm_head = lm_head<typename M::Head>(ld, layers.embed.table(), d.tied);
  return layers;
}

/// Older Llama checkpoints store RoPE frequencies as buffers; they are recomputed from config.json.
inline bool llama_like_ignored(const std::string& name) { return name.find("rotary_emb.inv_freq") != std::string::npos; }

/// The adapter of a Llama-like family whose MLP is SwiGLU in every layer; `Defaults` and `resolve` are its own.
template <class F>
struct LlamaLikeAdapter {
  using family = F;
  static ModelSpec spec(const HfConfig& c) { return llama_like_spec<F>(c); }
  template <class M, StorageType T, class Sp>
  static typename M::Layers build(Loader<T, Sp>& ld, const HfConfig& c, const ModelSpec& d) {
    return build_llama_like<M>(ld, c, d, [&](Loader<T, Sp>& l, const std::string& prefix, std::int64_t) {
      return swiglu<typename M::Mlp, Linear<typename M::Weight, typename M::policy>>(l, prefix, d.hidden,
                                                                                    d.intermediate, d.mlp_bias);
    });
  }
  static bool ignored(const std::string& name) { return llama_like_ignored(name); }
  /// The options `tfx info` shows.
  static std::vector<std::pair<std::string, std::string>> describe(const HfConfig& c) {
    std::vector<std::pair<std::string, std::string>> o{{"rope_theta", HfConfig::show(c.rope.rope_theta)},
                                                       {"rms_norm_eps", HfConfig::show(c.rms_norm_eps)}};
    if (c.window) o.emplace_back("sliding_window", std::to_string(*c.window));
    return o;
  }
};

}  // namespace tfx::io::hf
