// Hugging Face config.json: the fields tfx uses, the reader that validates them, and the parsing shared by the
// Llama-like families. Each family's spellings and defaults are applied by its adapter (io/hf/<family>.hpp);
// tfx/io/hf_config.hpp ties them together. Every field is type- and range-checked; a defect is a tfx::error naming
// the file, the field, what was expected and what was found. RoPE settings are read from any of the key layouts
// real configs use (see docs/io.md).
#pragma once
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "tfx/core/dtype.hpp"
#include "tfx/core/error.hpp"
#include "tfx/io/json_util.hpp"
#include "tfx/kernels/types.hpp"
#include "tfx/layers/rope_config.hpp"

namespace tfx::io {

namespace detail {

/// Reads fields of one JSON object; `prefix` ("rope_scaling.") qualifies field names in messages.
/// A field that is absent or null counts as not given.
struct FieldReader {
  const nlohmann::json& obj;
  std::string_view where;
  std::string prefix;

  std::string field(std::string_view key) const { return prefix + std::string(key); }

  const nlohmann::json* get(std::string_view key) const {
    auto it = obj.find(std::string(key));
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
  }

  std::int64_t required_int(std::string_view key, std::int64_t lo, std::int64_t hi, std::string_view expected) const {
    const nlohmann::json* v = get(key);
    if (v == nullptr) fail(where, ": missing required field '", field(key), "' (", expected, ")");
    return json_int(*v, where, field(key), lo, hi, expected);
  }
  std::optional<std::int64_t> optional_int(std::string_view key, std::int64_t lo, std::int64_t hi,
                                           std::string_view expected) const {
    const nlohmann::json* v = get(key);
    if (v == nullptr) return std::nullopt;
    return json_int(*v, where, field(key), lo, hi, expected);
  }
  /// A finite number; `positive` additionally requires > 0, `at_least` >= that bound.
  std::optional<double> optional_number(std::string_view key, std::optional<double> at_least = std::nullopt,
                                        bool positive = false) const {
    const nlohmann::json* v = get(key);
    if (v == nullptr) return std::nullopt;
    std::string expected = "a number";
    if (positive) expected = "a positive number";
    if (at_least) expected = "a number >= " + json_brief(nlohmann::json(*at_least));
    const double d = json_number(*v, where, field(key), expected);
    if ((positive && !(d > 0)) || (at_least && !(d >= *at_least)))
      fail(where, ": field ", field(key), ": expected ", expected, ", found ", json_found(*v));
    return d;
  }
  bool optional_bool(std::string_view key, bool dflt) const {
    const nlohmann::json* v = get(key);
    if (v == nullptr) return dflt;
    if (!v->is_boolean()) fail(where, ": field ", field(key), ": expected true or false, found ", json_found(*v));
    return v->get<bool>();
  }
  std::optional<std::string> optional_string(std::string_view key) const {
    const nlohmann::json* v = get(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) fail(where, ": field ", field(key), ": expected a string, found ", json_found(*v));
    return v->get<std::string>();
  }
  /// An int or a list of ints (token ids); empty if absent.
  std::vector<std::int64_t> int_or_list(std::string_view key) const {
    const nlohmann::json* v = get(key);
    std::vector<std::int64_t> out;
    if (v == nullptr) return out;
    constexpr std::int64_t big = std::numeric_limits<std::int32_t>::max();
    if (v->is_array()) {
      for (std::size_t i = 0; i < v->size(); ++i)
        out.push_back(json_int((*v)[i], where, field(key) + "[" + std::to_string(i) + "]", 0, big,
                               "a non-negative integer token id"));
    } else {
      out.push_back(json_int(*v, where, field(key), 0, big, "a non-negative integer token id or a list of them"));
    }
    return out;
  }
};

}  // namespace detail

/// The fields of a Hugging Face config.json that tfx uses, validated, with the family's defaults applied. Names
/// follow the Llama spelling; a family that spells a field differently (GPT-2's n_embd) is read into the same one.
struct HfConfig {
  std::string where;  // the file (or the `where` given to from_json), for messages

  std::string model_type;  // one of the supported families (see tfx/io/hf_config.hpp)
  std::vector<std::string> architectures;
  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t num_hidden_layers = 0;
  std::int64_t num_attention_heads = 0;
  std::int64_t num_key_value_heads = 0;  // missing/null: num_attention_heads
  std::int64_t head_dim = 0;             // missing/null: the family's default (qwen3: 128), else hidden / heads
  double rms_norm_eps = 1e-6;
  std::int64_t max_position_embeddings = 2048;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // raw field; see qkv_bias() / o_proj_bias() for what the model really has
  bool mlp_bias = false;
  std::string hidden_act = "silu";           // as written
  // silu, swish: silu; gelu: gelu_erf; gelu_new, gelu_pytorch_tanh, gelu_fast: gelu_tanh; relu: relu.
  tfx::activation act = tfx::activation::silu;
  std::optional<std::int64_t> sliding_window;
  bool use_sliding_window = false;
  std::int64_t max_window_layers = 0;   // missing/null: num_hidden_layers
  std::vector<std::string> layer_types;  // empty when not given; else one of full_attention/sliding_attention per layer
  std::vector<std::int64_t> bos_token_id;  // empty when not given
  std::vector<std::int64_t> eos_token_id;  // empty when not given
  std::optional<std::string> torch_dtype;  // `dtype` (transformers v5) or `torch_dtype`
  double partial_rotary_factor = 1.0;
  RopeConfig rope;
  // Resolved by the family's adapter.
  bool has_qkv_bias = false, has_o_bias = false;  // see qkv_bias() / o_proj_bias()
  std::optional<std::int64_t> window;             // the effective sliding window, if any
  bool window_on_every_layer = false;             // without layer_types: every layer slides (else >= max_window_layers)
  // GPT-2
  double layer_norm_epsilon = 1e-5;
  bool scale_attn_weights = true;
  bool scale_attn_by_inverse_layer_idx = false;
  // BERT
  std::int64_t type_vocab_size = 0;
  std::optional<std::int64_t> pad_token_id;
  // Encoder-decoders (Marian): num_hidden_layers is the encoder's
  std::int64_t decoder_layers = 0;
  std::optional<std::int64_t> decoder_start_token_id;
  bool scale_embedding = false;
  // Mixture of experts (Qwen3-MoE)
  std::int64_t num_experts = 0, num_experts_per_tok = 0, moe_intermediate_size = 0, decoder_sparse_step = 1;
  bool norm_topk_prob = false;
  std::vector<std::int64_t> mlp_only_layers;

  /// Largest accepted config file.
  static constexpr std::uintmax_t max_file_size = 64u << 20;
  /// Largest accepted num_hidden_layers (guards allocations sized by it).
  static constexpr std::int64_t max_layers = 1 << 16;

  /// Reads `path`: a config.json file, or a model folder containing one (defined in tfx/io/hf_config.hpp, which
  /// knows the families).
  static HfConfig from_file(const std::filesystem::path& path);
  /// Parses config.json text; `where` names it in messages.
  static HfConfig from_json(std::string_view text, std::string_view where);

  /// Which layers use sliding-window attention, following transformers (the adapter sets the rule):
  ///  - the effective window (`window`) is `sliding_window` for mistral; for qwen2/qwen3 it is `sliding_window`
  ///    only when `use_sliding_window` is true; llama and gpt2 have none;
  ///  - with `layer_types`, layer i slides iff it is "sliding_attention" and there is an effective window;
  ///  - otherwise mistral: every layer; qwen2/qwen3: i >= max_window_layers.
  std::vector<bool> sliding_layers() const {
    const auto n = static_cast<std::size_t>(num_hidden_layers);
    std::vector<bool> out(n, false);
    if (!window) return out;
    for (std::size_t i = 0; i < n; ++i) {
      if (!layer_types.empty()) out[i] = layer_types[i] == "sliding_attention";
      else if (window_on_every_layer) out[i] = true;
      else out[i] = static_cast<std::int64_t>(i) >= max_window_layers;
    }
    return out;
  }

  /// The window of sliding layers, if the model uses one (see sliding_layers()).
  std::optional<std::int64_t> effective_sliding_window() const { return window; }

  /// Whether q/k/v projections have a bias: always for qwen2 and gpt2, never for mistral, `attention_bias` for
  /// llama, qwen3 and qwen3_moe.
  bool qkv_bias() const { return has_qkv_bias; }
  /// Whether the output projection has a bias: `attention_bias` for llama and qwen3, always for gpt2.
  bool o_proj_bias() const { return has_o_bias; }

  /// A number as `tfx info` shows it.
  static std::string show(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
  }

  /// Defaults of a Llama-like family's config class in transformers, for fields config.json may omit.
  struct Defaults {
    std::int64_t max_position_embeddings = 2048;
    std::optional<std::int64_t> head_dim{};        // absent: hidden_size / num_attention_heads
    std::optional<std::int64_t> sliding_window{};  // absent (not null) sliding_window
    std::int64_t max_window_layers = -1;           // -1: num_hidden_layers
  };

  /// Reads the fields every Llama-like family has, with `d` for absent ones. The adapter then resolves biases and
  /// the sliding window.
  void parse_llama_like(const detail::FieldReader& r, const Defaults& d) {
    const std::string_view w = r.where;
    read_architectures(r);
    constexpr std::int64_t big = std::numeric_limits<std::int32_t>::max();
    const char* pos = "a positive integer";
    vocab_size = r.required_int("vocab_size", 1, big, pos);
    hidden_size = r.required_int("hidden_size", 1, big, pos);
    intermediate_size = r.required_int("intermediate_size", 1, big, pos);
    num_hidden_layers = r.required_int("num_hidden_layers", 1, max_layers, "a positive integer <= 65536");
    num_attention_heads = r.required_int("num_attention_heads", 1, big, pos);
    num_key_value_heads = r.optional_int("num_key_value_heads", 1, big, pos).value_or(num_attention_heads);
    if (num_attention_heads % num_key_value_heads != 0)
      fail(w, ": num_attention_heads ", num_attention_heads, " is not divisible by num_key_value_heads ",
           num_key_value_heads);
    if (const auto hd = r.optional_int("head_dim", 1, big, pos)) {
      head_dim = *hd;
    } else if (d.head_dim) {
      head_dim = *d.head_dim;
    } else {
      if (hidden_size % num_attention_heads != 0)
        fail(w, ": hidden_size ", hidden_size, " is not divisible by num_attention_heads ", num_attention_heads,
             " (and no head_dim is given)");
      head_dim = hidden_size / num_attention_heads;
    }

    rms_norm_eps = r.optional_number("rms_norm_eps", std::nullopt, true).value_or(1e-6);
    max_position_embeddings =
        r.optional_int("max_position_embeddings", 1, big, pos).value_or(d.max_position_embeddings);
    tie_word_embeddings = r.optional_bool("tie_word_embeddings", false);
    attention_bias = r.optional_bool("attention_bias", false);
    mlp_bias = r.optional_bool("mlp_bias", false);
    read_activation(r, "hidden_act", "silu");

    sliding_window = r.optional_int("sliding_window", 1, big, "a positive integer or null");
    if (!r.obj.contains("sliding_window")) sliding_window = d.sliding_window;  // absent; null is none
    use_sliding_window = r.optional_bool("use_sliding_window", false);
    max_window_layers = r.optional_int("max_window_layers", 0, big, "a non-negative integer")
                            .value_or(d.max_window_layers < 0 ? num_hidden_layers : d.max_window_layers);
    if (const nlohmann::json* lt = r.get("layer_types")) {
      if (!lt->is_array())
        fail(w, ": field layer_types: expected a list of \"full_attention\"/\"sliding_attention\", found ",
             detail::json_found(*lt));
      if (static_cast<std::int64_t>(lt->size()) != num_hidden_layers)
        fail(w, ": field layer_types: expected ", num_hidden_layers, " entries (num_hidden_layers), found ", lt->size());
      for (std::size_t i = 0; i < lt->size(); ++i) {
        const auto& e = (*lt)[i];
        if (!e.is_string() || (e.get<std::string>() != "full_attention" && e.get<std::string>() != "sliding_attention"))
          fail(w, ": field layer_types[", i, "]: expected \"full_attention\" or \"sliding_attention\", found ",
               detail::json_found(e));
        layer_types.push_back(e.get<std::string>());
      }
    }
    read_token_ids_and_dtype(r);
    partial_rotary_factor = r.optional_number("partial_rotary_factor", std::nullopt, true).value_or(1.0);
    parse_rope(r);
  }

  void read_architectures(const detail::FieldReader& r) {
    if (const nlohmann::json* a = r.get("architectures")) {
      if (!a->is_array())
        fail(r.where, ": field architectures: expected a list of strings, found ", detail::json_found(*a));
      for (const auto& s : *a) {
        if (!s.is_string())
          fail(r.where, ": field architectures: expected a list of strings, found ", detail::json_found(*a));
        architectures.push_back(s.get<std::string>());
      }
    }
  }

  /// An activation name as transformers' ACT2FN spells it, into `hidden_act` (as written) and `act`.
  void read_activation(const detail::FieldReader& r, std::string_view key, std::string_view dflt) {
    hidden_act = r.optional_string(key).value_or(std::string(dflt));
    if (hidden_act == "silu" || hidden_act == "swish") act = tfx::activation::silu;
    else if (hidden_act == "gelu") act = tfx::activation::gelu_erf;
    else if (hidden_act == "gelu_new" || hidden_act == "gelu_pytorch_tanh" || hidden_act == "gelu_fast")
      act = tfx::activation::gelu_tanh;
    else if (hidden_act == "relu") act = tfx::activation::relu;
    else
      fail(r.where, ": field ", key, ": unsupported activation '", hidden_act,
           "' (supported: silu, swish, gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu)");
  }

  void read_token_ids_and_dtype(const detail::FieldReader& r) {
    bos_token_id = r.int_or_list("bos_token_id");
    eos_token_id = r.int_or_list("eos_token_id");
    torch_dtype = r.optional_string("dtype");
    if (!torch_dtype) torch_dtype = r.optional_string("torch_dtype");
  }

  /// The storage dtype named by torch_dtype/dtype ("float32", "bfloat16", "float16"), else nullopt.
  std::optional<tfx::dtype> storage_dtype() const {
    if (!torch_dtype) return std::nullopt;
    if (*torch_dtype == "float32") return tfx::dtype::f32;
    if (*torch_dtype == "bfloat16") return tfx::dtype::bf16;
    if (*torch_dtype == "float16") return tfx::dtype::f16;
    return std::nullopt;
  }

  void parse_rope(const detail::FieldReader& r) {
    const std::string_view w = r.where;
    rope.rope_theta = r.optional_number("rope_theta", std::nullopt, true).value_or(10000.0);
    if (const nlohmann::json* p = r.get("rope_parameters")) {
      // transformers v5: {"rope_type": ..., "rope_theta": ..., "factor": ...}. rope_scaling, if also present, is
      // the legacy spelling of the same thing and is ignored.
      if (!p->is_object()) fail(w, ": field rope_parameters: expected an object, found ", detail::json_found(*p));
      if (p->contains("full_attention") || p->contains("sliding_attention"))
        fail(w, ": field rope_parameters: per-layer-type RoPE parameters (keyed by full_attention/sliding_attention) "
                "are not supported");
      const detail::FieldReader pr{*p, w, "rope_parameters."};
      rope.rope_theta = pr.optional_number("rope_theta", std::nullopt, true).value_or(rope.rope_theta);
      partial_rotary_factor = pr.optional_number("partial_rotary_factor", std::nullopt, true).value_or(partial_rotary_factor);
      parse_scaling(pr, /*type_required=*/false);
    } else if (const nlohmann::json* s = r.get("rope_scaling")) {
      if (!s->is_object()) fail(w, ": field rope_scaling: expected an object or null, found ", detail::json_found(*s));
      parse_scaling(detail::FieldReader{*s, w, "rope_scaling."}, /*type_required=*/true);
    }
    if (!(partial_rotary_factor > 0 && partial_rotary_factor <= 1))
      fail(w, ": field partial_rotary_factor: expected a number in (0, 1], found ", partial_rotary_factor);
    const auto rotary_dim = static_cast<std::int64_t>(static_cast<double>(head_dim) * partial_rotary_factor);
    if (rotary_dim < 2 || rotary_dim % 2 != 0)
      fail(w, ": rotary dimension int(head_dim ", head_dim, " * partial_rotary_factor ", partial_rotary_factor,
           ") = ", rotary_dim, " must be even and at least 2");
    rope.head_dim = static_cast<int>(head_dim);
    rope.partial_rotary_factor = partial_rotary_factor;
    rope.max_position_embeddings = static_cast<int>(max_position_embeddings);
  }

  void parse_scaling(const detail::FieldReader& s, bool type_required) {
    const std::string_view w = s.where;
    const std::optional<std::string> rt = s.optional_string("rope_type");
    const std::optional<std::string> t = s.optional_string("type");
    if (rt && t && *rt != *t)
      fail(w, ": field ", s.prefix, "rope_type is '", *rt, "' but ", s.prefix, "type is '", *t, "'");
    if (!rt && !t && type_required) fail(w, ": field ", s.prefix, "rope_type: missing (neither 'rope_type' nor 'type' given)");
    const std::string name = rt ? *rt : t ? *t : "default";
    const std::string key = s.prefix + (rt ? "rope_type" : t ? "type" : "rope_type");
    RopeScaling& sc = rope.scaling;
    if (name == "default") sc.type = rope_type::default_;
    else if (name == "linear") sc.type = rope_type::linear;
    else if (name == "dynamic") sc.type = rope_type::dynamic;
    else if (name == "yarn") sc.type = rope_type::yarn;
    else if (name == "llama3") sc.type = rope_type::llama3;
    else
      fail("unsupported rope type '", name, "' in ", w, " field ", key, " (supported: default, linear, dynamic, yarn, llama3)");
    if (sc.type == rope_type::default_) return;

    const auto factor = s.optional_number("factor", 1.0);
    if (!factor) fail(w, ": missing required field '", s.prefix, "factor' (a number >= 1) for rope type '", name, "'");
    sc.factor = *factor;
    // transformers only warns when this is not an int, so 8192.0 is accepted (8192.5 is not).
    if (const nlohmann::json* om = s.get("original_max_position_embeddings")) {
      const std::string f = s.field("original_max_position_embeddings");
      const double v = detail::json_number(*om, w, f, "a positive integer");
      if (!(v >= 1 && v <= std::numeric_limits<std::int32_t>::max() && v == std::floor(v)))
        fail(w, ": field ", f, ": expected a positive integer, found ", detail::json_found(*om));
      sc.original_max_position_embeddings = v;
    } else {
      sc.original_max_position_embeddings = 0;
    }
    if (sc.type == rope_type::llama3) {
      if (sc.original_max_position_embeddings == 0)
        fail(w, ": missing required field '", s.prefix, "original_max_position_embeddings' for rope type 'llama3'");
      const auto lo = s.optional_number("low_freq_factor", std::nullopt, true);
      const auto hi = s.optional_number("high_freq_factor", std::nullopt, true);
      if (!lo) fail(w, ": missing required field '", s.prefix, "low_freq_factor' for rope type 'llama3'");
      if (!hi) fail(w, ": missing required field '", s.prefix, "high_freq_factor' for rope type 'llama3'");
      if (!(*hi > *lo))
        fail(w, ": field ", s.prefix, "high_freq_factor ", *hi, " must be greater than low_freq_factor ", *lo);
      sc.low_freq_factor = *lo;
      sc.high_freq_factor = *hi;
    }
    if (sc.type == rope_type::yarn) {
      sc.beta_fast = s.optional_number("beta_fast", std::nullopt, true).value_or(32.0);
      sc.beta_slow = s.optional_number("beta_slow", std::nullopt, true).value_or(1.0);
      if (sc.beta_fast < sc.beta_slow)
        fail(w, ": field ", s.prefix, "beta_fast ", sc.beta_fast, " must be >= beta_slow ", sc.beta_slow);
      sc.mscale = s.optional_number("mscale", 0.0).value_or(0.0);
      sc.mscale_all_dim = s.optional_number("mscale_all_dim", 0.0).value_or(0.0);
      sc.attention_factor = s.optional_number("attention_factor", std::nullopt, true).value_or(0.0);
      sc.truncate = s.optional_bool("truncate", true);
    }
  }
};

namespace hf {
/// The Hugging Face adapter of family F (io/hf/<family>.hpp), a struct of static functions:
///   parse(HfConfig&, const detail::FieldReader&)   config spellings and the family config class's defaults
///   spec(const HfConfig&) -> ModelSpec              dimensions and options, for the layers' accounting
///   build<Model>(Loader<T>&, config, spec)          tensor names and layouts -> Model::Layers
///   ignored(name) -> bool                           tensors the checkpoint may carry that the model does not use
///   describe(const HfConfig&) -> options            what `tfx info` shows
template <class F>
struct Adapter;
}  // namespace hf

}  // namespace tfx::io
