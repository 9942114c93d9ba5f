// Hugging Face adapter: qwen3_moe (Qwen3MoeConfig). Qwen3 attention (q/k norm; head_dim defaults to
// hidden / heads here); layer l is a mixture of experts iff l is not in mlp_only_layers and
// (l + 1) % decoder_sparse_step == 0, else a dense SwiGLU of intermediate_size. Experts are read per expert
//   model.layers.{l}.mlp.experts.{e}.{gate,up,down}_proj.weight   [I, H], [I, H], [H, I]   (published checkpoints)
// or fused, as transformers 5 holds them
//   model.layers.{l}.mlp.experts.gate_up_proj [E, 2I, H] (gate rows first), mlp.experts.down_proj [E, H, I]
// and used in place either way; the router is mlp.gate.weight [E, H].
#pragma once
#include <algorithm>

#include "tfx/io/hf/llama_like.hpp"
#include "tfx/model/family.hpp"

namespace tfx::io::hf {

template <>
struct Adapter<family::Qwen3Moe> {
  using family = family::Qwen3Moe;

  static void parse(HfConfig& c, const detail::FieldReader& r) {
    c.parse_llama_like(r, {.max_position_embeddings = 32768, .sliding_window = 4096, .max_window_layers = 28});
    c.has_qkv_bias = c.has_o_bias = c.attention_bias;
    c.window = c.use_sliding_window ? c.sliding_window : std::nullopt;  // every layer, as Qwen3MoeAttention does
    c.window_on_every_layer = true;
    c.layer_types.clear();
    const std::string_view w = r.where;
    constexpr std::int64_t big = std::numeric_limits<std::int32_t>::max();
    const char* pos = "a positive integer";
    // transformers maps num_experts to num_local_experts (attribute_map): accept either spelling.
    const char* experts_key = r.get("num_experts") || !r.get("num_local_experts") ? "num_experts" : "num_local_experts";
    c.num_experts = r.optional_int(experts_key, 1, big, pos).value_or(128);
    c.num_experts_per_tok = r.optional_int("num_experts_per_tok", -big, big, "an integer").value_or(8);
    if (c.num_experts_per_tok < 1 || c.num_experts_per_tok > c.num_experts)
      fail(w, ": field num_experts_per_tok: ", c.num_experts_per_tok, " must be between 1 and num_experts (",
           c.num_experts, ")");
    c.moe_intermediate_size = r.optional_int("moe_intermediate_size", 1, big, pos).value_or(768);
    c.decoder_sparse_step = r.optional_int("decoder_sparse_step", 1, big, pos).value_or(1);
    c.norm_topk_prob = r.optional_bool("norm_topk_prob", false);
    if (const nlohmann::json* m = r.get("mlp_only_layers")) {
      if (!m->is_array()) fail(w, ": field mlp_only_layers: expected a list of layer indices, found ", detail::json_found(*m));
      for (std::size_t i = 0; i < m->size(); ++i)
        c.mlp_only_layers.push_back(detail::json_int((*m)[i], w, "mlp_only_layers[" + std::to_string(i) + "]", 0,
                                                     c.num_hidden_layers - 1, "a layer index in [0, num_hidden_layers)"));
    }
  }

  static ModelSpec spec(const HfConfig& c) {
    ModelSpec s = llama_like_spec<family>(c);
    s.experts = c.num_experts, s.experts_per_tok = c.num_experts_per_tok, s.moe_intermediate = c.moe_intermediate_size;
    s.sparse_layers.resize(static_cast<std::size_t>(s.layers));
    for (std::int64_t l = 0; l < s.layers; ++l) {
      const bool mlp_only = std::find(c.mlp_only_layers.begin(), c.mlp_only_layers.end(), l) != c.mlp_only_layers.end();
      s.sparse_layers[static_cast<std::size_t>(l)] = !mlp_only && (l + 1) % c.decoder_sparse_step == 0;
    }
    return s;
  }

  template <class M, StorageType T, class Sp>
  static typename M::Layers build(Loader<T, Sp>& ld, const HfConfig& c, const ModelSpec& d) {
    using L = Linear<typename M::Weight, typename M::policy>;
    using Dense = SwiGLU<typename M::Weight, typename M::policy>;
    using Moe = SparseMoE<typename M::Weight, typename M::policy>;
    return build_llama_like<M>(ld, c, d, [&](Loader<T, Sp>& l, const std::string& p, std::int64_t layer) -> typename M::Mlp {
      if (!d.sparse(layer)) return swiglu<Dense, L>(l, p, d.hidden, d.intermediate, d.mlp_bias);
      const std::int64_t E = d.experts, I = d.moe_intermediate, H = d.hidden;
      const auto as_l = [&](Rows<const T, Sp> w) {
        return L(l.template weight<typename L::format>(tfx::Dense<T, weight_layout::out_in, Sp>(w)));
      };
      using Router = typename Moe::Router;  // dense: the experts' format; quantized experts: f32
      const Router router = [&] {
        if constexpr (std::is_same_v<Router, L>) return as_l(l.matrix(p + ".gate.weight", E, H));
        else return Router(l.matrix_f32(p + ".gate.weight", E, H));
      }();
      std::vector<Dense> experts;
      experts.reserve(static_cast<std::size_t>(E));
      if (l.has(p + ".experts.gate_up_proj") || l.has(p + ".experts.down_proj")) {
        const Rows<const T, Sp> gu = l.matrix(p + ".experts.gate_up_proj", {E, 2 * I, H});  // [E * 2I, H]
        const Rows<const T, Sp> dn = l.matrix(p + ".experts.down_proj", {E, H, I});         // [E * H, I]
        for (std::int64_t e = 0; e < E; ++e)
          experts.emplace_back(as_l(gu.slice_rows(e * 2 * I, I)), as_l(gu.slice_rows(e * 2 * I + I, I)),
                               as_l(dn.slice_rows(e * H, H)));
      } else {
        for (std::int64_t e = 0; e < E; ++e)
          experts.push_back(swiglu<Dense, L>(l, p + ".experts." + std::to_string(e), H, I, false));
      }
      return Moe(router, std::move(experts), static_cast<int>(d.experts_per_tok), c.norm_topk_prob);
    });
  }
  static bool ignored(const std::string& name) { return llama_like_ignored(name); }
  static std::vector<std::pair<std::string, std::string>> describe(const HfConfig& c) {
    auto o = LlamaLikeAdapter<family>::describe(c);
    o.insert(o.end(), {{"experts", std::to_string(c.num_experts)},
                       {"experts_per_tok", std::to_string(c.num_experts_per_tok)},
                       {"norm_topk_prob", c.norm_topk_prob ? "true" : "false"}});
    return o;
  }
};

}  // namespace tfx::io::hf
