// Hugging Face adapter: marian (MarianConfig, MarianMTModel). Fields d_model, encoder_layers, decoder_layers,
// encoder_attention_heads / decoder_attention_heads and encoder_ffn_dim / decoder_ffn_dim (each pair must agree),
// activation_function (default gelu), max_position_embeddings (1024), vocab_size, scale_embedding (false),
// pad_token_id, eos_token_id and decoder_start_token_id, which must be given (transformers would fall back to
// 58100, the pad id of the OPUS-MT vocabularies). Shared encoder / decoder embeddings only
// (share_encoder_decoder_embeddings, no decoder_vocab_size of its own). Tensors: model.shared.weight (or the
// encoder / decoder embed_tokens copies), model.{encoder,decoder}.layers.{l}.*, final_logits_bias, lm_head.weight
// when not tied; the sinusoidal embed_positions tables are computed, not read.
#pragma once
#include <cmath>
#include <memory>
#include <string>

#include "tfx/io/hf/config.hpp"
#include "tfx/io/hf/llama_like.hpp"
#include "tfx/io/hf/loader.hpp"
#include "tfx/model/seq2seq.hpp"

namespace tfx::io::hf {

template <>
struct Adapter<family::Marian> {
  using family = family::Marian;

  static void parse(HfConfig& c, const detail::FieldReader& r) {
    const std::string_view w = r.where;
    c.read_architectures(r);
    constexpr std::int64_t big = std::numeric_limits<std::int32_t>::max();
    const char* pos = "a positive integer";
    c.vocab_size = r.optional_int("vocab_size", 1, big, pos).value_or(58101);
    c.hidden_size = r.optional_int("d_model", 1, big, pos).value_or(1024);
    c.num_hidden_layers = r.optional_int("encoder_layers", 1, HfConfig::max_layers, pos).value_or(12);
    c.decoder_layers = r.optional_int("decoder_layers", 1, HfConfig::max_layers, pos).value_or(12);
    c.num_attention_heads = r.optional_int("encoder_attention_heads", 1, big, pos).value_or(16);
    const auto dec_heads = r.optional_int("decoder_attention_heads", 1, big, pos).value_or(16);
    c.intermediate_size = r.optional_int("encoder_ffn_dim", 1, big, pos).value_or(4096);
    const auto dec_ffn = r.optional_int("decoder_ffn_dim", 1, big, pos).value_or(4096);
    if (dec_heads != c.num_attention_heads || dec_ffn != c.intermediate_size)
      fail(w, ": encoder and decoder differ in attention heads (", c.num_attention_heads, ", ", dec_heads,
           ") or FFN width (", c.intermediate_size, ", ", dec_ffn, "); only equal ones are supported");
    if (c.hidden_size % c.num_attention_heads != 0)
      fail(w, ": d_model ", c.hidden_size, " is not divisible by encoder_attention_heads ", c.num_attention_heads);
    if (c.hidden_size % 2 != 0) fail(w, ": d_model ", c.hidden_size, " must be even (sinusoidal positions)");
    c.num_key_value_heads = c.num_attention_heads;
    c.head_dim = c.hidden_size / c.num_attention_heads;
    c.max_position_embeddings = r.optional_int("max_position_embeddings", 1, big, pos).value_or(1024);
    c.read_activation(r, "activation_function", "gelu");
    c.scale_embedding = r.optional_bool("scale_embedding", false);
    const char* id = "a token id below vocab_size";
    c.pad_token_id = r.optional_int("pad_token_id", 0, c.vocab_size - 1, id);
    c.decoder_start_token_id = r.optional_int("decoder_start_token_id", 0, c.vocab_size - 1, id);
    if (!c.decoder_start_token_id)
      fail(w, ": missing field 'decoder_start_token_id' (the token the decoder starts from); an encoder-decoder "
              "config must name it");
    if (const auto dv = r.optional_int("decoder_vocab_size", 1, big, pos); dv && *dv != c.vocab_size)
      fail(w, ": field decoder_vocab_size: a target vocabulary of its own (", *dv, " != vocab_size ", c.vocab_size,
           ") is not supported");
    if (!r.optional_bool("share_encoder_decoder_embeddings", true))
      fail(w, ": field share_encoder_decoder_embeddings: separate encoder and decoder embeddings are not supported");
    c.tie_word_embeddings = r.optional_bool("tie_word_embeddings", true);
    c.read_token_ids_and_dtype(r);
    if (c.eos_token_id.empty() && !r.obj.contains("eos_token_id")) c.eos_token_id = {0};
    if (c.eos_token_id.size() != 1 || c.eos_token_id[0] < 0 || c.eos_token_id[0] >= c.vocab_size)
      fail(w, ": field eos_token_id: expected one token id below vocab_size");
    c.has_qkv_bias = c.has_o_bias = c.mlp_bias = true;
  }

  static ModelSpec spec(const HfConfig& c) {
    ModelSpec s;
    s.vocab = c.vocab_size, s.hidden = c.hidden_size, s.layers = c.num_hidden_layers, s.decoder_layers = c.decoder_layers;
    s.heads = s.kv_heads = c.num_attention_heads, s.head_dim = c.head_dim, s.intermediate = c.intermediate_size;
    s.tied = c.tie_word_embeddings, s.qkv_bias = s.o_bias = s.mlp_bias = s.norm_bias = true;
    return s;
  }

  static Seq2SeqInfo seq2seq_info(const HfConfig& c) {
    Seq2SeqInfo i;
    i.decoder_start_token_id = static_cast<std::int32_t>(*c.decoder_start_token_id);
    i.eos_token_id = static_cast<std::int32_t>(c.eos_token_id.at(0));
    i.pad_token_id = static_cast<std::int32_t>(c.pad_token_id.value_or(i.decoder_start_token_id));
    return i;
  }

  template <class M, StorageType T, class Sp>
  static typename M::Layers build(Loader<T, Sp>& ld, const HfConfig& c, const ModelSpec& d) {
    using L = Linear<typename M::Weight, typename M::policy>;
    using Norm = typename M::Norm;
    const std::int64_t H = d.hidden, I = d.intermediate;
    const float eps = 1e-5f;  // nn.LayerNorm's default: Marian's layer norms take no eps from the config
    auto norm = [&](const std::string& p) { return Norm(ld.vector(p + ".weight", H), ld.vector(p + ".bias", H), eps); };
    auto attn_weights = [&](const std::string& p) {
      // Braces: q, k, v, out are read (and checked) in this order.
      return typename M::Attn::Weights{linear<L>(ld, p + ".q_proj", H, H, true), linear<L>(ld, p + ".k_proj", H, H, true),
                                       linear<L>(ld, p + ".v_proj", H, H, true), linear<L>(ld, p + ".out_proj", H, H, true)};
    };
    auto mlp = [&](const std::string& p) {
      return typename M::Mlp(linear<L>(ld, p + ".fc1", I, H, true), linear<L>(ld, p + ".fc2", H, I, true), c.act);
    };
    const auto cfg = [&](bool causal) {
      return AttentionConfig{static_cast<int>(H), static_cast<int>(d.heads), static_cast<int>(d.kv_heads),
                             static_cast<int>(d.head_dim), 0.f, 0, {}, causal};
    };
    typename M::Layers layers;
    const std::string shared = ld.has("model.shared.weight") ? "model.shared.weight" : "model.encoder.embed_tokens.weight";
    layers.embed = typename M::Embed(ld.matrix(shared, d.vocab, H));
    for (const char* copy : {"model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight"})
      if (copy != shared && ld.has(copy) && (d.tied || std::string_view(copy) != "lm_head.weight"))
        (void)ld.matrix(copy, d.vocab, H);  // tied copies of the same table, when a checkpoint stores them
    layers.embed_scale = c.scale_embedding ? static_cast<float>(std::sqrt(static_cast<double>(H))) : 1.f;
    layers.positions = std::make_shared<const typename M::Positions>(c.max_position_embeddings, H, 10000.0,
                                                                     family::Marian::positions);
    for (std::int64_t l = 0; l < d.layers; ++l) {
      const std::string p = "model.encoder.layers." + std::to_string(l);
      typename M::Attn attn(cfg(false), attn_weights(p + ".self_attn"), nullptr);
      const Norm n1 = norm(p + ".self_attn_layer_norm");
      const typename M::Mlp m = mlp(p);
      layers.encoder.emplace_back(n1, attn, norm(p + ".final_layer_norm"), m);
    }
    for (std::int64_t l = 0; l < d.decoder_layers; ++l) {
      const std::string p = "model.decoder.layers." + std::to_string(l);
      typename M::Attn self(cfg(true), attn_weights(p + ".self_attn"), nullptr);
      const Norm n1 = norm(p + ".self_attn_layer_norm");
      const auto cw = attn_weights(p + ".encoder_attn");
      typename M::Cross cross(cfg(false), {cw.q_proj, cw.k_proj, cw.v_proj, cw.o_proj});
      const Norm n2 = norm(p + ".encoder_attn_layer_norm");
      const typename M::Mlp m = mlp(p);
      layers.decoder.emplace_back(n1, self, n2, cross, norm(p + ".final_layer_norm"), m);
    }
    using Head = typename M::Head;
    const Rows<const float, Sp> bias = ld.matrix_f32("final_logits_bias", 1, d.vocab);
    const Vector<const float, Sp> b(bias.data, static_cast<std::size_t>(d.vocab));
    using Format = typename Head::format;
    layers.lm_head = d.tied ? Head(ld.template weight<Format>(Dense<T, weight_layout::out_in, Sp>(layers.embed.table()),
                                                              /*replaces=*/false), b)
                            : Head(ld.template weight<Format>("lm_head.weight", d.vocab, H), b);
    return layers;
  }

  static std::vector<std::pair<std::string, std::string>> describe(const HfConfig& c) {
    return {{"activation", c.hidden_act},
            {"decoder_layers", std::to_string(c.decoder_layers)},
            {"scale_embedding", c.scale_embedding ? "true" : "false"},
            {"decoder_start_token_id", std::to_string(c.decoder_start_token_id.value_or(-1))}};
  }

  /// The sinusoidal tables (computed from the config), when a checkpoint carries them.
  static bool ignored(const std::string& name) {
    return name == "model.encoder.embed_positions.weight" || name == "model.decoder.embed_positions.weight";
  }
};

}  // namespace tfx::io::hf
