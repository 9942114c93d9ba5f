// Hugging Face adapter: bert (BertConfig). Fields vocab_size, hidden_size, num_hidden_layers, num_attention_heads,
// intermediate_size, hidden_act (default gelu, the erf form), max_position_embeddings (512), type_vocab_size (2),
// layer_norm_eps (1e-12), pad_token_id (0); absent fields take BertConfig's defaults. Only absolute positions
// (position_embedding_type "absolute", the only kind transformers 5 has) and the encoder (is_decoder false, no
// cross-attention) are supported. Tensor names of BertModel, with or without the `bert.` prefix of the task models
// (BertForMaskedLM, ...); the pooler, task heads and the position_ids / token_type_ids buffers are ignored.
#pragma once
#include <string>

#include "tfx/io/hf/config.hpp"
#include "tfx/io/hf/llama_like.hpp"
#include "tfx/io/hf/loader.hpp"
#include "tfx/model/encoder.hpp"

namespace tfx::io::hf {

template <>
struct Adapter<family::Bert> {
  using family = family::Bert;

  static void parse(HfConfig& c, const detail::FieldReader& r) {
    const std::string_view w = r.where;
    c.read_architectures(r);
    constexpr std::int64_t big = std::numeric_limits<std::int32_t>::max();
    const char* pos = "a positive integer";
    c.vocab_size = r.optional_int("vocab_size", 1, big, pos).value_or(30522);
    c.hidden_size = r.optional_int("hidden_size", 1, big, pos).value_or(768);
    c.num_hidden_layers = r.optional_int("num_hidden_layers", 1, HfConfig::max_layers, pos).value_or(12);
    c.num_attention_heads = r.optional_int("num_attention_heads", 1, big, pos).value_or(12);
    c.intermediate_size = r.optional_int("intermediate_size", 1, big, pos).value_or(3072);
    c.max_position_embeddings = r.optional_int("max_position_embeddings", 1, big, pos).value_or(512);
    c.type_vocab_size = r.optional_int("type_vocab_size", 1, big, pos).value_or(2);
    if (c.hidden_size % c.num_attention_heads != 0)
      fail(w, ": hidden_size ", c.hidden_size, " is not divisible by num_attention_heads ", c.num_attention_heads);
    c.num_key_value_heads = c.num_attention_heads;
    c.head_dim = c.hidden_size / c.num_attention_heads;
    c.read_activation(r, "hidden_act", "gelu");
    c.layer_norm_epsilon = r.optional_number("layer_norm_eps", std::nullopt, true).value_or(1e-12);
    c.pad_token_id = r.optional_int("pad_token_id", 0, c.vocab_size - 1, "a token id below vocab_size");
    if (!r.obj.contains("pad_token_id")) c.pad_token_id = 0;
    if (const auto pe = r.optional_string("position_embedding_type"); pe && *pe != "absolute")
      fail(w, ": field position_embedding_type: '", *pe, "' is not supported (only \"absolute\")");
    if (r.optional_bool("is_decoder", false))
      fail(w, ": field is_decoder: BERT as a causal decoder is not supported (tfx runs BERT as an encoder)");
    if (r.optional_bool("add_cross_attention", false))
      fail(w, ": field add_cross_attention: BERT with cross-attention is not supported");
    c.read_token_ids_and_dtype(r);
    c.has_qkv_bias = c.has_o_bias = c.mlp_bias = true;
  }

  static ModelSpec spec(const HfConfig& c) {
    ModelSpec s;
    s.vocab = c.vocab_size, s.hidden = c.hidden_size, s.layers = c.num_hidden_layers;
    s.heads = s.kv_heads = c.num_attention_heads, s.head_dim = c.head_dim, s.intermediate = c.intermediate_size;
    s.qkv_bias = s.o_bias = s.mlp_bias = s.norm_bias = true;
    s.position_table = c.max_position_embeddings;
    s.type_vocab = c.type_vocab_size;
    return s;
  }

  template <class M, StorageType T, class Sp>
  static typename M::Layers build(Loader<T, Sp>& ld, const HfConfig& c, const ModelSpec& d) {
    using L = Linear<typename M::Weight, typename M::policy>;
    using Norm = typename M::Norm;
    const std::string pre = ld.has("bert.embeddings.word_embeddings.weight") ? "bert." : "";
    const std::int64_t H = d.hidden, I = d.intermediate;
    const float eps = static_cast<float>(c.layer_norm_epsilon);
    auto norm = [&](const std::string& p) { return Norm(ld.vector(p + ".weight", H), ld.vector(p + ".bias", H), eps); };
    typename M::Layers layers;
    const std::string e = pre + "embeddings.";
    layers.embed = typename M::Embed(ld.matrix(e + "word_embeddings.weight", d.vocab, H));
    layers.positions = typename M::Positions(ld.matrix(e + "position_embeddings.weight", d.position_table, H));
    layers.token_types = typename M::Embed(ld.matrix(e + "token_type_embeddings.weight", d.type_vocab, H));
    layers.embed_norm = norm(e + "LayerNorm");
    layers.blocks.reserve(static_cast<std::size_t>(d.layers));
    for (std::int64_t l = 0; l < d.layers; ++l) {
      const std::string p = pre + "encoder.layer." + std::to_string(l);
      AttentionConfig ac{static_cast<int>(H), static_cast<int>(d.heads), static_cast<int>(d.kv_heads),
                         static_cast<int>(d.head_dim), 0.f, 0, {}, /*causal=*/false};
      typename M::Attn attn(ac,
                            {linear<L>(ld, p + ".attention.self.query", H, H, true),
                             linear<L>(ld, p + ".attention.self.key", H, H, true),
                             linear<L>(ld, p + ".attention.self.value", H, H, true),
                             linear<L>(ld, p + ".attention.output.dense", H, H, true)},
                            nullptr);
      const Norm n1 = norm(p + ".attention.output.LayerNorm");
      typename M::Mlp mlp(linear<L>(ld, p + ".intermediate.dense", I, H, true), linear<L>(ld, p + ".output.dense", H, I, true),
                          c.act);
      layers.blocks.emplace_back(n1, attn, norm(p + ".output.LayerNorm"), mlp);
    }
    return layers;
  }

  static std::vector<std::pair<std::string, std::string>> describe(const HfConfig& c) {
    return {{"activation", c.hidden_act}, {"layer_norm_eps", HfConfig::show(c.layer_norm_epsilon)},
            {"type_vocab_size", std::to_string(c.type_vocab_size)},
            {"max_position_embeddings", std::to_string(c.max_position_embeddings)}};
  }

  /// The pooler, task heads (masked LM, classification) and buffers: not part of the encoder.
  static bool ignored(const std::string& name) {
    auto starts = [&](std::string_view s) { return name.rfind(s, 0) == 0; };
    auto ends = [&](std::string_view s) { return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0; };
    return starts("pooler.") || starts("bert.pooler.") || starts("cls.") || starts("classifier.") ||
           starts("qa_outputs.") || ends("embeddings.position_ids") || ends("embeddings.token_type_ids");
  }
};

}  // namespace tfx::io::hf
