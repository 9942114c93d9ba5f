// Hugging Face adapter: gpt2 (GPT2Config). Spellings n_embd, n_layer, n_head, n_positions, n_inner (null:
// 4 * n_embd), activation_function (default gelu_new), layer_norm_epsilon; absent fields take GPT2Config's
// defaults. Weights are Conv1D, [in, out], used in place; c_attn holds q, k and v side by side and is read as three
// column slices. Names with or without the `transformer.` prefix (GPT2LMHeadModel vs GPT2Model checkpoints); the
// attn.bias / attn.masked_bias buffers of older checkpoints are ignored. Attention scores are scaled by
// 1/sqrt(head_dim) if scale_attn_weights, and further by 1/(layer + 1) if scale_attn_by_inverse_layer_idx.
#pragma once
#include <cmath>
#include <string>

#include "tfx/io/hf/config.hpp"
#include "tfx/io/hf/loader.hpp"
#include "tfx/model/family.hpp"

namespace tfx::io::hf {

template <>
struct Adapter<family::Gpt2> {
  using family = family::Gpt2;

  static void parse(HfConfig& c, const detail::FieldReader& r) {
    const std::string_view w = r.where;
    c.read_architectures(r);
    static constexpr std::int64_t big = std::numeric_limits<std::int32_t>::max();
    const char* pos = "a positive integer";
    // GPT2Config's attribute_map: hidden_size -> n_embd and so on; config.json normally has the n_* spellings.
    auto dim = [&](const char* key, const char* alias, std::int64_t dflt, std::int64_t hi = std::numeric_limits<std::int32_t>::max()) {
      const char* k = r.get(key) || !r.get(alias) ? key : alias;
      return r.optional_int(k, 1, hi, pos).value_or(dflt);
    };
    c.vocab_size = dim("vocab_size", "vocab_size", 50257);
    c.hidden_size = dim("n_embd", "hidden_size", 768);
    c.num_hidden_layers = dim("n_layer", "num_hidden_layers", 12, HfConfig::max_layers);
    c.num_attention_heads = dim("n_head", "num_attention_heads", 12);
    c.max_position_embeddings = dim("n_positions", "max_position_embeddings", 1024);
    if (c.hidden_size % c.num_attention_heads != 0)
      fail(w, ": n_embd ", c.hidden_size, " is not divisible by n_head ", c.num_attention_heads);
    c.num_key_value_heads = c.num_attention_heads;
    c.head_dim = c.hidden_size / c.num_attention_heads;
    c.intermediate_size = r.optional_int("n_inner", 1, big, "a positive integer or null").value_or(4 * c.hidden_size);
    c.read_activation(r, "activation_function", "gelu_new");
    c.layer_norm_epsilon = r.optional_number("layer_norm_epsilon", std::nullopt, true).value_or(1e-5);
    c.scale_attn_weights = r.optional_bool("scale_attn_weights", true);
    c.scale_attn_by_inverse_layer_idx = r.optional_bool("scale_attn_by_inverse_layer_idx", false);
    if (r.optional_bool("add_cross_attention", false))
      fail(w, ": field add_cross_attention: GPT-2 with cross-attention (an encoder-decoder part) is not supported");
    c.tie_word_embeddings = r.optional_bool("tie_word_embeddings", true);
    c.read_token_ids_and_dtype(r);
    if (c.bos_token_id.empty() && !r.obj.contains("bos_token_id")) c.bos_token_id = {50256};
    if (c.eos_token_id.empty() && !r.obj.contains("eos_token_id")) c.eos_token_id = {50256};
    c.has_qkv_bias = c.has_o_bias = c.mlp_bias = true;
  }

  static ModelSpec spec(const HfConfig& c) {
    ModelSpec s;
    s.vocab = c.vocab_size, s.hidden = c.hidden_size, s.layers = c.num_hidden_layers;
    s.heads = s.kv_heads = c.num_attention_heads, s.head_dim = c.head_dim, s.intermediate = c.intermediate_size;
    s.tied = c.tie_word_embeddings, s.qkv_bias = s.o_bias = s.mlp_bias = s.norm_bias = true;
    s.position_table = c.max_position_embeddings;
    return s;
  }

  template <class M, StorageType T, class Sp>
  static typename M::Layers build(Loader<T, Sp>& ld, const HfConfig& c, const ModelSpec& d) {
    using L = Linear<typename M::Weight, typename M::policy>;
    using Norm = typename M::Norm;
    const std::string pre = ld.has("transformer.wte.weight") ? "transformer." : "";
    const std::int64_t H = d.hidden, I = d.intermediate;
    const float eps = static_cast<float>(c.layer_norm_epsilon);
    auto norm = [&](const std::string& p) { return Norm(ld.vector(p + ".weight", H), ld.vector(p + ".bias", H), eps); };
    using Conv1D = Dense<T, weight_layout::in_out, Sp>;  // as stored; L's format may be a quantized one
    auto conv1d = [&](const std::string& p, std::int64_t in, std::int64_t out) {
      const auto w = ld.template weight<typename L::format>(Conv1D(ld.matrix(p + ".weight", in, out)));
      return L(w, ld.vector(p + ".bias", out));
    };
    typename M::Layers layers;
    layers.embed = typename M::Embed(ld.matrix(pre + "wte.weight", d.vocab, H));
    layers.positions = typename M::Positions(ld.matrix(pre + "wpe.weight", d.position_table, H));
    layers.blocks.reserve(static_cast<std::size_t>(d.layers));
    for (std::int64_t l = 0; l < d.layers; ++l) {
      const std::string p = pre + "h." + std::to_string(l);
      const Norm ln1 = norm(p + ".ln_1");
      const Rows<const T, Sp> qkv = ld.matrix(p + ".attn.c_attn.weight", H, 3 * H);  // [in, q | k | v]
      const Vector<const float, Sp> qkv_bias = ld.vector(p + ".attn.c_attn.bias", 3 * H);
      auto slice = [&](std::int64_t i) {
        return L(ld.template weight<typename L::format>(Conv1D(qkv.slice_cols(i * H, H))),
                 qkv_bias.subspan(static_cast<std::size_t>(i * H), static_cast<std::size_t>(H)));
      };
      double scale = c.scale_attn_weights ? 1.0 / std::sqrt(static_cast<double>(d.head_dim)) : 1.0;
      if (c.scale_attn_by_inverse_layer_idx) scale /= static_cast<double>(l + 1);
      AttentionConfig ac{static_cast<int>(H), static_cast<int>(d.heads), static_cast<int>(d.kv_heads),
                         static_cast<int>(d.head_dim), 0.f, 0, static_cast<float>(scale)};
      typename M::Attn attn(ac, {slice(0), slice(1), slice(2), conv1d(p + ".attn.c_proj", H, H)},
                            layers.positions.rotary());
      const Norm ln2 = norm(p + ".ln_2");
      typename M::Mlp mlp(conv1d(p + ".mlp.c_fc", H, I), conv1d(p + ".mlp.c_proj", I, H), c.act);
      layers.blocks.emplace_back(ln1, attn, ln2, mlp);
    }
    layers.final_norm = norm(pre + "ln_f");
    layers.lm_head = lm_head<typename M::Head>(ld, layers.embed.table(), d.tied);
    return layers;
  }

  static std::vector<std::pair<std::string, std::string>> describe(const HfConfig& c) {
    return {{"activation", c.hidden_act}, {"layer_norm_epsilon", HfConfig::show(c.layer_norm_epsilon)},
            {"n_positions", std::to_string(c.max_position_embeddings)}};
  }

  /// The causal-mask buffers older checkpoints carry.
  static bool ignored(const std::string& name) {
    auto ends_with = [&](std::string_view s) { return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0; };
    return ends_with(".attn.bias") || ends_with(".attn.masked_bias");
  }
};

}  // namespace tfx::io::hf
