// Tests of tfx/io/hf_config.hpp: real configs, every key variant, and one test per kind of bad input.
#include "tfx/io/hf_config.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "io_test_util.hpp"

using Catch::Contains;
using tfx::io::HfConfig;
using tfx_io_test::TempDir;
using json = nlohmann::json;

namespace {

// Transcribed from the Hugging Face hub (Qwen/Qwen3-0.6B).
constexpr const char* qwen3_0_6b = R"({
  "architectures": [
    "Qwen3ForCausalLM"
  ],
  "attention_bias": false,
  "attention_dropout": 0.0,
  "bos_token_id": 151643,
  "eos_token_id": 151645,
  "head_dim": 128,
  "hidden_act": "silu",
  "hidden_size": 1024,
  "initializer_range": 0.02,
  "intermediate_size": 3072,
  "max_position_embeddings": 40960,
  "max_window_layers": 28,
  "model_type": "qwen3",
  "num_attention_heads": 16,
  "num_hidden_layers": 28,
  "num_key_value_heads": 8,
  "rms_norm_eps": 1e-06,
  "rope_scaling": null,
  "rope_theta": 1000000,
  "sliding_window": null,
  "tie_word_embeddings": true,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.51.0",
  "use_cache": true,
  "use_sliding_window": false,
  "vocab_size": 151936
}
)";

// meta-llama/Llama-3.1-8B-Instruct.
constexpr const char* llama31_8b = R"({
  "architectures": [
    "LlamaForCausalLM"
  ],
  "attention_bias": false,
  "attention_dropout": 0.0,
  "bos_token_id": 128000,
  "eos_token_id": [
    128001,
    128008,
    128009
  ],
  "hidden_act": "silu",
  "hidden_size": 4096,
  "initializer_range": 0.02,
  "intermediate_size": 14336,
  "max_position_embeddings": 131072,
  "mlp_bias": false,
  "model_type": "llama",
  "num_attention_heads": 32,
  "num_hidden_layers": 32,
  "num_key_value_heads": 8,
  "pretraining_tp": 1,
  "rms_norm_eps": 1e-05,
  "rope_scaling": {
    "factor": 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 8192,
    "rope_type": "llama3"
  },
  "rope_theta": 500000.0,
  "tie_word_embeddings": false,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.43.0.dev0",
  "use_cache": true,
  "vocab_size": 128256
}
)";

// A Llama-2 fine-tune with the pre-4.36 `type` key for linear RoPE scaling (as in lmsys/longchat-7b-v1.5-32k).
constexpr const char* llama2_linear = R"({
  "_name_or_path": "longchat-7b-v1.5-32k",
  "architectures": ["LlamaForCausalLM"],
  "bos_token_id": 1,
  "eos_token_id": 2,
  "hidden_act": "silu",
  "hidden_size": 4096,
  "initializer_range": 0.02,
  "intermediate_size": 11008,
  "max_position_embeddings": 4096,
  "model_type": "llama",
  "num_attention_heads": 32,
  "num_hidden_layers": 32,
  "num_key_value_heads": 32,
  "pad_token_id": 0,
  "pretraining_tp": 1,
  "rms_norm_eps": 1e-05,
  "rope_scaling": {"type": "linear", "factor": 2.0},
  "tie_word_embeddings": false,
  "torch_dtype": "float16",
  "transformers_version": "4.31.0",
  "use_cache": true,
  "vocab_size": 32000
}
)";

// Qwen/Qwen2-7B-Instruct.
constexpr const char* qwen2_7b = R"({
  "architectures": [
    "Qwen2ForCausalLM"
  ],
  "attention_dropout": 0.0,
  "bos_token_id": 151643,
  "eos_token_id": 151645,
  "hidden_act": "silu",
  "hidden_size": 3584,
  "initializer_range": 0.02,
  "intermediate_size": 18944,
  "max_position_embeddings": 32768,
  "max_window_layers": 28,
  "model_type": "qwen2",
  "num_attention_heads": 28,
  "num_hidden_layers": 28,
  "num_key_value_heads": 4,
  "rms_norm_eps": 1e-06,
  "rope_theta": 1000000.0,
  "sliding_window": 131072,
  "tie_word_embeddings": false,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.41.2",
  "use_cache": true,
  "use_sliding_window": false,
  "vocab_size": 152064
}
)";

// A transformers v5 save: `dtype` and `rope_parameters` (with rope_theta inside), no top-level rope_theta.
constexpr const char* llama_v5 = R"({
  "architectures": ["LlamaForCausalLM"],
  "attention_bias": false,
  "bos_token_id": 128000,
  "dtype": "bfloat16",
  "eos_token_id": 128001,
  "head_dim": 64,
  "hidden_act": "silu",
  "hidden_size": 2048,
  "intermediate_size": 8192,
  "max_position_embeddings": 131072,
  "mlp_bias": false,
  "model_type": "llama",
  "num_attention_heads": 32,
  "num_hidden_layers": 16,
  "num_key_value_heads": 8,
  "rms_norm_eps": 1e-05,
  "rope_parameters": {
    "factor": 32.0,
    "high_freq_factor": 4.0,
    "low_freq_factor": 1.0,
    "original_max_position_embeddings": 8192,
    "rope_theta": 500000.0,
    "rope_type": "llama3"
  },
  "tie_word_embeddings": true,
  "transformers_version": "5.0.0",
  "use_cache": true,
  "vocab_size": 128256
}
)";

// mistralai/Mistral-7B-v0.1: a 4096 sliding window on every layer.
constexpr const char* mistral_7b_v01 = R"({
  "architectures": ["MistralForCausalLM"],
  "bos_token_id": 1,
  "eos_token_id": 2,
  "hidden_act": "silu",
  "hidden_size": 4096,
  "initializer_range": 0.02,
  "intermediate_size": 14336,
  "max_position_embeddings": 32768,
  "model_type": "mistral",
  "num_attention_heads": 32,
  "num_hidden_layers": 32,
  "num_key_value_heads": 8,
  "rms_norm_eps": 1e-05,
  "rope_theta": 10000.0,
  "sliding_window": 4096,
  "tie_word_embeddings": false,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.34.0.dev0",
  "use_cache": true,
  "vocab_size": 32000
}
)";

// A minimal llama config: no head_dim, no num_key_value_heads, nothing optional.
constexpr const char* minimal = R"({
  "model_type": "llama",
  "vocab_size": 1000,
  "hidden_size": 256,
  "intermediate_size": 688,
  "num_hidden_layers": 4,
  "num_attention_heads": 8
})";

HfConfig parse(std::string_view text) { return HfConfig::from_json(text, "test/config.json"); }
HfConfig parse(const char* text) { return parse(std::string_view(text)); }
HfConfig parse(const std::string& text) { return parse(std::string_view(text)); }
HfConfig parse(const json& j) { return parse(j.dump()); }

json base() { return json::parse(qwen3_0_6b); }

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Real configs

TEST_CASE("hf_config: Qwen3-0.6B", "[io][hf_config]") {
  const HfConfig c = parse(qwen3_0_6b);
  CHECK(c.where == "test/config.json");
  CHECK(c.model_type == "qwen3");
  CHECK(c.architectures == std::vector<std::string>{"Qwen3ForCausalLM"});
  CHECK(c.vocab_size == 151936);
  CHECK(c.hidden_size == 1024);
  CHECK(c.intermediate_size == 3072);
  CHECK(c.num_hidden_layers == 28);
  CHECK(c.num_attention_heads == 16);
  CHECK(c.num_key_value_heads == 8);
  CHECK(c.head_dim == 128);  // given: not hidden_size / heads (64)
  CHECK(c.rms_norm_eps == 1e-6);
  CHECK(c.max_position_embeddings == 40960);
  CHECK(c.tie_word_embeddings);
  CHECK_FALSE(c.attention_bias);
  CHECK_FALSE(c.mlp_bias);
  CHECK(c.hidden_act == "silu");
  CHECK(c.act == tfx::activation::silu);
  CHECK_FALSE(c.sliding_window.has_value());
  CHECK_FALSE(c.use_sliding_window);
  CHECK(c.max_window_layers == 28);
  CHECK(c.layer_types.empty());
  CHECK(c.bos_token_id == std::vector<std::int64_t>{151643});
  CHECK(c.eos_token_id == std::vector<std::int64_t>{151645});
  CHECK(c.torch_dtype == "bfloat16");
  CHECK(c.storage_dtype() == tfx::dtype::bf16);
  CHECK(c.partial_rotary_factor == 1.0);
  CHECK(c.rope.head_dim == 128);
  CHECK(c.rope.rope_theta == 1000000.0);
  CHECK(c.rope.max_position_embeddings == 40960);
  CHECK(c.rope.partial_rotary_factor == 1.0);
  CHECK(c.rope.scaling.type == tfx::rope_type::default_);
  CHECK(c.sliding_layers() == std::vector<bool>(28, false));
  CHECK_FALSE(c.qkv_bias());
  CHECK_FALSE(c.o_proj_bias());
}

TEST_CASE("hf_config: Llama-3.1-8B-Instruct (rope_scaling with rope_type llama3)", "[io][hf_config]") {
  const HfConfig c = parse(llama31_8b);
  CHECK(c.model_type == "llama");
  CHECK(c.vocab_size == 128256);
  CHECK(c.hidden_size == 4096);
  CHECK(c.intermediate_size == 14336);
  CHECK(c.num_hidden_layers == 32);
  CHECK(c.num_attention_heads == 32);
  CHECK(c.num_key_value_heads == 8);
  CHECK(c.head_dim == 128);
  CHECK(c.rms_norm_eps == 1e-5);
  CHECK(c.max_position_embeddings == 131072);
  CHECK_FALSE(c.tie_word_embeddings);
  CHECK(c.bos_token_id == std::vector<std::int64_t>{128000});
  CHECK(c.eos_token_id == std::vector<std::int64_t>{128001, 128008, 128009});
  const tfx::RopeConfig& r = c.rope;
  CHECK(r.head_dim == 128);
  CHECK(r.rope_theta == 500000.0);
  CHECK(r.max_position_embeddings == 131072);
  CHECK(r.scaling.type == tfx::rope_type::llama3);
  CHECK(r.scaling.factor == 8.0);
  CHECK(r.scaling.low_freq_factor == 1.0);
  CHECK(r.scaling.high_freq_factor == 4.0);
  CHECK(r.scaling.original_max_position_embeddings == 8192.0);
  CHECK(c.sliding_layers() == std::vector<bool>(32, false));
}

TEST_CASE("hf_config: Llama-2 with the old rope_scaling 'type' key", "[io][hf_config]") {
  const HfConfig c = parse(llama2_linear);
  CHECK(c.num_key_value_heads == 32);
  CHECK(c.head_dim == 128);
  CHECK(c.max_position_embeddings == 4096);
  CHECK(c.rope.rope_theta == 10000.0);  // Llama-2 configs have no rope_theta
  CHECK(c.rope.scaling.type == tfx::rope_type::linear);
  CHECK(c.rope.scaling.factor == 2.0);
  CHECK(c.rope.scaling.original_max_position_embeddings == 0);
  CHECK(c.torch_dtype == "float16");
  CHECK(c.storage_dtype() == tfx::dtype::f16);
}

TEST_CASE("hf_config: Qwen2-7B-Instruct", "[io][hf_config]") {
  const HfConfig c = parse(qwen2_7b);
  CHECK(c.model_type == "qwen2");
  CHECK(c.vocab_size == 152064);
  CHECK(c.hidden_size == 3584);
  CHECK(c.num_attention_heads == 28);
  CHECK(c.num_key_value_heads == 4);
  CHECK(c.head_dim == 128);
  CHECK(c.rope.rope_theta == 1000000.0);
  CHECK(c.sliding_window == 131072);
  CHECK_FALSE(c.use_sliding_window);
  CHECK_FALSE(c.effective_sliding_window().has_value());
  CHECK(c.sliding_layers() == std::vector<bool>(28, false));  // use_sliding_window is false
  CHECK_FALSE(c.attention_bias);
  CHECK(c.qkv_bias());  // Qwen2 always has q/k/v biases
  CHECK_FALSE(c.o_proj_bias());
}

TEST_CASE("hf_config: transformers v5 rope_parameters and dtype", "[io][hf_config]") {
  const HfConfig c = parse(llama_v5);
  CHECK(c.head_dim == 64);
  CHECK(c.torch_dtype == "bfloat16");
  CHECK(c.rope.rope_theta == 500000.0);
  CHECK(c.rope.scaling.type == tfx::rope_type::llama3);
  CHECK(c.rope.scaling.factor == 32.0);
  CHECK(c.rope.scaling.original_max_position_embeddings == 8192.0);

  // The plain default form.
  json j = base();
  j.erase("rope_theta");
  j.erase("rope_scaling");
  j["rope_parameters"] = {{"rope_theta", 5000000.0}, {"rope_type", "default"}};
  const HfConfig d = parse(j);
  CHECK(d.rope.rope_theta == 5000000.0);
  CHECK(d.rope.scaling.type == tfx::rope_type::default_);
  // rope_type may be left out; rope_theta inside wins over a top-level one; partial_rotary_factor inside is read.
  j["rope_theta"] = 7.0;
  j["rope_parameters"] = {{"rope_theta", 20000.0}, {"partial_rotary_factor", 0.5}};
  const HfConfig e = parse(j);
  CHECK(e.rope.rope_theta == 20000.0);
  CHECK(e.rope.scaling.type == tfx::rope_type::default_);
  CHECK(e.partial_rotary_factor == 0.5);
  CHECK(e.rope.partial_rotary_factor == 0.5);
  // Without rope_theta inside, the top-level one is used.
  j["rope_parameters"] = {{"rope_type", "default"}};
  CHECK(parse(j).rope.rope_theta == 7.0);
  // With both spellings present, rope_parameters is the one read.
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 4.0}};
  j["rope_parameters"] = {{"rope_type", "dynamic"}, {"factor", 2.0}};
  CHECK(parse(j).rope.scaling.type == tfx::rope_type::dynamic);
  CHECK(parse(j).rope.scaling.factor == 2.0);
}

TEST_CASE("hf_config: no head_dim and no num_key_value_heads", "[io][hf_config]") {
  const HfConfig c = parse(minimal);
  CHECK(c.num_key_value_heads == 8);
  CHECK(c.head_dim == 32);
  CHECK(c.rope.head_dim == 32);
  // Defaults.
  CHECK(c.rms_norm_eps == 1e-6);
  CHECK(c.max_position_embeddings == 2048);
  CHECK(c.rope.max_position_embeddings == 2048);
  CHECK(c.rope.rope_theta == 10000.0);
  CHECK(c.rope.scaling.type == tfx::rope_type::default_);
  CHECK_FALSE(c.tie_word_embeddings);
  CHECK_FALSE(c.attention_bias);
  CHECK_FALSE(c.mlp_bias);
  CHECK(c.hidden_act == "silu");
  CHECK(c.act == tfx::activation::silu);
  CHECK_FALSE(c.sliding_window.has_value());
  CHECK_FALSE(c.use_sliding_window);
  CHECK(c.max_window_layers == 4);
  CHECK(c.architectures.empty());
  CHECK(c.bos_token_id.empty());
  CHECK(c.eos_token_id.empty());
  CHECK_FALSE(c.torch_dtype.has_value());
  CHECK_FALSE(c.storage_dtype().has_value());
  CHECK(c.partial_rotary_factor == 1.0);
  // null means "not given" too.
  json j = json::parse(minimal);
  j["num_key_value_heads"] = nullptr;
  j["head_dim"] = nullptr;
  j["rope_scaling"] = nullptr;
  j["bos_token_id"] = nullptr;
  const HfConfig d = parse(j);
  CHECK(d.num_key_value_heads == 8);
  CHECK(d.head_dim == 32);
  CHECK(d.bos_token_id.empty());
}

TEST_CASE("hf_config: Mistral sliding windows", "[io][hf_config]") {
  const HfConfig c = parse(mistral_7b_v01);
  CHECK(c.model_type == "mistral");
  CHECK(c.sliding_window == 4096);
  CHECK(c.effective_sliding_window() == 4096);
  CHECK(c.sliding_layers() == std::vector<bool>(32, true));
  CHECK_FALSE(c.qkv_bias());
  json j = json::parse(mistral_7b_v01);
  j["sliding_window"] = nullptr;  // v0.2 and later
  CHECK(parse(j).sliding_layers() == std::vector<bool>(32, false));
}

TEST_CASE("hf_config: Qwen sliding layers from max_window_layers and from layer_types", "[io][hf_config]") {
  json j = base();
  j["num_hidden_layers"] = 6;
  j["sliding_window"] = 4096;
  j["use_sliding_window"] = true;
  j["max_window_layers"] = 4;
  CHECK(parse(j).sliding_layers() == std::vector<bool>{false, false, false, false, true, true});
  j["max_window_layers"] = 0;
  CHECK(parse(j).sliding_layers() == std::vector<bool>(6, true));
  j.erase("max_window_layers");  // default: 28 as in transformers' Qwen configs, so none of 6 layers slides
  CHECK(parse(j).max_window_layers == 28);
  CHECK(parse(j).sliding_layers() == std::vector<bool>(6, false));
  j["use_sliding_window"] = false;
  j["max_window_layers"] = 0;
  CHECK(parse(j).sliding_layers() == std::vector<bool>(6, false));

  // layer_types overrides max_window_layers.
  j["use_sliding_window"] = true;
  j["layer_types"] = {"sliding_attention", "full_attention", "sliding_attention",
                      "full_attention",    "full_attention", "sliding_attention"};
  const HfConfig c = parse(j);
  CHECK(c.layer_types.size() == 6);
  CHECK(c.sliding_layers() == std::vector<bool>{true, false, true, false, false, true});
  // ...but as in transformers, a Qwen model without an effective window does not slide.
  j["use_sliding_window"] = false;
  CHECK(parse(j).sliding_layers() == std::vector<bool>(6, false));
  // Llama never slides.
  j["model_type"] = "llama";
  j["use_sliding_window"] = true;
  CHECK(parse(j).sliding_layers() == std::vector<bool>(6, false));
}

TEST_CASE("hf_config: rope scaling variants", "[io][hf_config]") {
  json j = base();
  SECTION("yarn with everything") {
    j["rope_scaling"] = {{"type", "yarn"},           {"factor", 4.0},     {"original_max_position_embeddings", 32768},
                         {"beta_fast", 16},          {"beta_slow", 2.0},  {"mscale", 0.707},
                         {"mscale_all_dim", 1.0},    {"attention_factor", 1.2}, {"truncate", false}};
    const auto s = parse(j).rope.scaling;
    CHECK(s.type == tfx::rope_type::yarn);
    CHECK(s.factor == 4.0);
    CHECK(s.original_max_position_embeddings == 32768.0);
    CHECK(s.beta_fast == 16.0);
    CHECK(s.beta_slow == 2.0);
    CHECK(s.mscale == 0.707);
    CHECK(s.mscale_all_dim == 1.0);
    CHECK(s.attention_factor == 1.2);
    CHECK_FALSE(s.truncate);
  }
  SECTION("yarn with defaults (Qwen2.5 long-context)") {
    j["rope_scaling"] = {{"factor", 4.0}, {"original_max_position_embeddings", 32768}, {"type", "yarn"}};
    const auto s = parse(j).rope.scaling;
    CHECK(s.type == tfx::rope_type::yarn);
    CHECK(s.beta_fast == 32.0);
    CHECK(s.beta_slow == 1.0);
    CHECK(s.mscale == 0.0);
    CHECK(s.attention_factor == 0.0);
    CHECK(s.truncate);
  }
  SECTION("dynamic") {
    j["rope_scaling"] = {{"rope_type", "dynamic"}, {"factor", 2}};
    const auto s = parse(j).rope.scaling;
    CHECK(s.type == tfx::rope_type::dynamic);
    CHECK(s.factor == 2.0);
  }
  SECTION("default spelled out, extra keys ignored") {
    j["rope_scaling"] = {{"rope_type", "default"}, {"factor", 0.1}, {"whatever", "x"}};
    CHECK(parse(j).rope.scaling.type == tfx::rope_type::default_);
  }
  SECTION("both keys, agreeing") {
    j["rope_scaling"] = {{"rope_type", "linear"}, {"type", "linear"}, {"factor", 3}};
    CHECK(parse(j).rope.scaling.factor == 3.0);
  }
  SECTION("partial rotary factor") {
    j["partial_rotary_factor"] = 0.25;
    const auto c = parse(j);
    CHECK(c.rope.partial_rotary_factor == 0.25);
  }
}

TEST_CASE("hf_config: activations", "[io][hf_config]") {
  json j = base();
  const std::pair<const char*, tfx::activation> ok[] = {{"silu", tfx::activation::silu},
                                                            {"swish", tfx::activation::silu},
                                                            {"gelu", tfx::activation::gelu_erf},
                                                            {"gelu_new", tfx::activation::gelu_tanh},
                                                            {"gelu_pytorch_tanh", tfx::activation::gelu_tanh},
                                                            {"relu", tfx::activation::relu}};
  for (const auto& [name, act] : ok) {
    j["hidden_act"] = name;
    const auto c = parse(j);
    CHECK(c.hidden_act == name);
    CHECK(c.act == act);
  }
  j["hidden_act"] = "quick_gelu";
  REQUIRE_THROWS_WITH(parse(j), Contains("test/config.json") && Contains("field hidden_act") &&
                                    Contains("unsupported activation 'quick_gelu'"));
  j["hidden_act"] = 3;
  REQUIRE_THROWS_WITH(parse(j), Contains("field hidden_act: expected a string, found number 3"));
}

TEST_CASE("hf_config: from_file with a file or a folder", "[io][hf_config]") {
  TempDir dir;
  tfx_io_test::write_text(dir / "config.json", llama31_8b);
  const HfConfig a = HfConfig::from_file(dir / "config.json");
  CHECK(a.where == (dir / "config.json").string());
  CHECK(a.rope.scaling.type == tfx::rope_type::llama3);
  const HfConfig b = HfConfig::from_file(dir.path());
  CHECK(b.hidden_size == 4096);
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

TEST_CASE("hf_config: missing files and folders", "[io][hf_config][errors]") {
  TempDir dir;
  REQUIRE_THROWS_WITH(HfConfig::from_file(dir / "nowhere"), Contains("nowhere") && Contains("does not exist"));
  REQUIRE_THROWS_WITH(HfConfig::from_file(dir / "config.json"), Contains("config.json") && Contains("does not exist"));
  REQUIRE_THROWS_WITH(HfConfig::from_file(dir.path()), Contains("no config.json in model folder " + dir.path().string()));
}

TEST_CASE("hf_config: malformed and truncated JSON name the file and the byte", "[io][hf_config][errors]") {
  TempDir dir;
  const std::string text = qwen3_0_6b;
  for (std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{17}, text.size() / 2, text.size() - 3}) {
    CAPTURE(cut);
    tfx_io_test::write_text(dir / "config.json", text.substr(0, cut));
    REQUIRE_THROWS_WITH(HfConfig::from_file(dir / "config.json"),
                        Contains((dir / "config.json").string()) && Contains("malformed JSON in config at byte"));
  }
  REQUIRE_THROWS_WITH(parse(R"({"model_type": "llama",})"), Contains("test/config.json: malformed JSON in config at byte 24"));
  REQUIRE_THROWS_WITH(parse(R"({"model_type": 'llama'})"), Contains("malformed JSON"));
  REQUIRE_THROWS_WITH(parse(R"({"rope_theta": Infinity})"), Contains("malformed JSON"));
  REQUIRE_THROWS_WITH(parse(R"({"rope_theta": 1e999})"), Contains("test/config.json"));
  REQUIRE_THROWS_WITH(parse(std::string(100, '[') + std::string(100, ']')), Contains("nests deeper than 64"));
  REQUIRE_THROWS_WITH(parse("[]"), Contains("config must be a JSON object, found array"));
  REQUIRE_THROWS_WITH(parse("null"), Contains("config must be a JSON object, found null"));
}

TEST_CASE("hf_config: missing required fields", "[io][hf_config][errors]") {
  for (const char* field : {"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads"}) {
    CAPTURE(field);
    json j = base();
    j.erase(field);
    REQUIRE_THROWS_WITH(parse(j), Contains("test/config.json") &&
                                      Contains(std::string("missing required field '") + field + "'"));
    j[field] = nullptr;
    REQUIRE_THROWS_WITH(parse(j), Contains(std::string("missing required field '") + field + "'"));
  }
  json j = base();
  j.erase("model_type");
  REQUIRE_THROWS_WITH(parse(j), Contains("missing required field 'model_type'"));
}

TEST_CASE("hf_config: wrong types name the field", "[io][hf_config][errors]") {
  auto with = [](const char* field, json value) {
    json j = base();
    j[field] = std::move(value);
    return j;
  };
  REQUIRE_THROWS_WITH(parse(with("hidden_size", "1024")),
                      Contains("test/config.json: field hidden_size: expected a positive integer, found string \"1024\""));
  REQUIRE_THROWS_WITH(parse(with("vocab_size", 151936.5)), Contains("field vocab_size") && Contains("found number"));
  REQUIRE_THROWS_WITH(parse(with("num_hidden_layers", true)), Contains("field num_hidden_layers") && Contains("boolean"));
  REQUIRE_THROWS_WITH(parse(with("num_key_value_heads", json::array({8}))), Contains("field num_key_value_heads"));
  REQUIRE_THROWS_WITH(parse(with("head_dim", "128")), Contains("field head_dim"));
  REQUIRE_THROWS_WITH(parse(with("model_type", 3)), Contains("field model_type: expected a string"));
  REQUIRE_THROWS_WITH(parse(with("rms_norm_eps", "1e-6")), Contains("field rms_norm_eps"));
  REQUIRE_THROWS_WITH(parse(with("max_position_embeddings", 40960.0)), Contains("field max_position_embeddings"));
  REQUIRE_THROWS_WITH(parse(with("tie_word_embeddings", 1)),
                      Contains("field tie_word_embeddings: expected true or false, found number 1"));
  REQUIRE_THROWS_WITH(parse(with("attention_bias", "false")), Contains("field attention_bias"));
  REQUIRE_THROWS_WITH(parse(with("mlp_bias", json::object())), Contains("field mlp_bias"));
  REQUIRE_THROWS_WITH(parse(with("use_sliding_window", "yes")), Contains("field use_sliding_window"));
  REQUIRE_THROWS_WITH(parse(with("sliding_window", "4096")), Contains("field sliding_window"));
  REQUIRE_THROWS_WITH(parse(with("sliding_window", 0)), Contains("field sliding_window: expected a positive integer or null"));
  REQUIRE_THROWS_WITH(parse(with("max_window_layers", -1)), Contains("field max_window_layers"));
  REQUIRE_THROWS_WITH(parse(with("architectures", "Qwen3ForCausalLM")), Contains("field architectures"));
  REQUIRE_THROWS_WITH(parse(with("architectures", json::array({1}))), Contains("field architectures"));
  REQUIRE_THROWS_WITH(parse(with("eos_token_id", "2")), Contains("field eos_token_id"));
  REQUIRE_THROWS_WITH(parse(with("eos_token_id", json::array({1, "2"}))), Contains("field eos_token_id[1]"));
  REQUIRE_THROWS_WITH(parse(with("bos_token_id", -1)), Contains("field bos_token_id"));
  REQUIRE_THROWS_WITH(parse(with("torch_dtype", 16)), Contains("field torch_dtype"));
  REQUIRE_THROWS_WITH(parse(with("rope_theta", "1e6")), Contains("field rope_theta"));
  REQUIRE_THROWS_WITH(parse(with("rope_scaling", "linear")), Contains("field rope_scaling: expected an object or null"));
  REQUIRE_THROWS_WITH(parse(with("rope_parameters", json::array())), Contains("field rope_parameters: expected an object"));
  REQUIRE_THROWS_WITH(parse(with("layer_types", "full_attention")), Contains("field layer_types"));
  REQUIRE_THROWS_WITH(parse(with("partial_rotary_factor", "1")), Contains("field partial_rotary_factor"));
}

TEST_CASE("hf_config: out-of-range values", "[io][hf_config][errors]") {
  auto with = [](const char* field, json value) {
    json j = base();
    j[field] = std::move(value);
    return j;
  };
  for (const char* f : {"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                        "num_key_value_heads", "head_dim", "max_position_embeddings"}) {
    CAPTURE(f);
    REQUIRE_THROWS_WITH(parse(with(f, 0)), Contains(std::string("field ") + f) && Contains("positive integer") &&
                                               Contains("found number 0"));
    REQUIRE_THROWS_WITH(parse(with(f, -4)), Contains(std::string("field ") + f));
    REQUIRE_THROWS_WITH(parse(with(f, 4294967296ll)), Contains(std::string("field ") + f));
  }
  REQUIRE_THROWS_WITH(parse(with("num_hidden_layers", 100000)), Contains("field num_hidden_layers") && Contains("65536"));
  REQUIRE_THROWS_WITH(parse(with("rms_norm_eps", 0)), Contains("field rms_norm_eps: expected a positive number"));
  REQUIRE_THROWS_WITH(parse(with("rms_norm_eps", -1e-6)), Contains("field rms_norm_eps"));
  REQUIRE_THROWS_WITH(parse(with("rope_theta", 0)), Contains("field rope_theta"));
  REQUIRE_THROWS_WITH(parse(with("partial_rotary_factor", 1.5)), Contains("field partial_rotary_factor: expected a number in (0, 1]"));
  REQUIRE_THROWS_WITH(parse(with("partial_rotary_factor", 0)), Contains("field partial_rotary_factor"));
  REQUIRE_THROWS_WITH(parse(with("partial_rotary_factor", 0.01)), Contains("rotary dimension") && Contains("= 1"));
  REQUIRE_THROWS_WITH(parse(with("head_dim", 7)), Contains("rotary dimension") && Contains("must be even"));
}

TEST_CASE("hf_config: head counts must divide", "[io][hf_config][errors]") {
  json j = base();
  j["num_key_value_heads"] = 5;
  REQUIRE_THROWS_WITH(parse(j), Contains("test/config.json") &&
                                    Contains("num_attention_heads 16 is not divisible by num_key_value_heads 5"));
  j["num_key_value_heads"] = 32;  // more kv heads than heads
  REQUIRE_THROWS_WITH(parse(j), Contains("not divisible by num_key_value_heads 32"));
  json m = json::parse(minimal);
  m["num_attention_heads"] = 7;
  REQUIRE_THROWS_WITH(parse(m), Contains("hidden_size 256 is not divisible by num_attention_heads 7") &&
                                    Contains("no head_dim"));
  m["head_dim"] = 32;  // fine with an explicit head_dim
  CHECK(parse(m).head_dim == 32);
}

TEST_CASE("hf_config: unknown model_type", "[io][hf_config][errors]") {
  json j = base();
  j["model_type"] = "gpt_neox";
  REQUIRE_THROWS_WITH(parse(j), Contains("unknown model_type 'gpt_neox' in test/config.json (supported: llama, qwen2, "
                                         "qwen3, mistral, qwen3_moe, gpt2, bert, marian)"));
  // Reported before any missing field of a config for another model.
  REQUIRE_THROWS_WITH(parse(R"({"model_type": "t5"})"), Contains("unknown model_type 't5'"));
  TempDir dir;
  tfx_io_test::write_text(dir / "config.json", R"({"model_type": "phi3"})");
  REQUIRE_THROWS_WITH(HfConfig::from_file(dir.path()), Contains("unknown model_type 'phi3' in ") && Contains("config.json"));
}

TEST_CASE("hf_config: unsupported rope types", "[io][hf_config][errors]") {
  json j = base();
  j["rope_scaling"] = {{"rope_type", "longrope"}, {"factor", 4.0}, {"short_factor", {1.0}}, {"long_factor", {1.0}}};
  REQUIRE_THROWS_WITH(parse(j), Contains("unsupported rope type 'longrope' in test/config.json field rope_scaling.rope_type"));
  j["rope_scaling"] = {{"type", "su"}};
  REQUIRE_THROWS_WITH(parse(j), Contains("unsupported rope type 'su' in test/config.json field rope_scaling.type"));
  j["rope_scaling"] = {{"type", "mrope"}, {"mrope_section", {16, 24, 24}}};
  REQUIRE_THROWS_WITH(parse(j), Contains("unsupported rope type 'mrope'"));
  j.erase("rope_scaling");
  j["rope_parameters"] = {{"rope_type", "longrope"}, {"rope_theta", 10000.0}};
  REQUIRE_THROWS_WITH(parse(j), Contains("unsupported rope type 'longrope' in test/config.json field rope_parameters.rope_type"));
  j["rope_parameters"] = {{"full_attention", {{"rope_type", "default"}}}, {"sliding_attention", {{"rope_type", "default"}}}};
  REQUIRE_THROWS_WITH(parse(j), Contains("per-layer-type RoPE parameters") && Contains("not supported"));
}

TEST_CASE("hf_config: invalid rope scaling parameters", "[io][hf_config][errors]") {
  json j = base();
  j["rope_scaling"] = {{"factor", 2.0}};
  REQUIRE_THROWS_WITH(parse(j), Contains("field rope_scaling.rope_type: missing"));
  j["rope_scaling"] = {{"type", "linear"}, {"rope_type", "dynamic"}, {"factor", 2.0}};
  REQUIRE_THROWS_WITH(parse(j), Contains("rope_scaling.rope_type is 'dynamic' but rope_scaling.type is 'linear'"));
  j["rope_scaling"] = {{"type", "linear"}};
  REQUIRE_THROWS_WITH(parse(j), Contains("missing required field 'rope_scaling.factor'") && Contains("'linear'"));
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 0.5}};
  REQUIRE_THROWS_WITH(parse(j), Contains("field rope_scaling.factor: expected a number >= 1") && Contains("0.5"));
  j["rope_scaling"] = {{"type", "dynamic"}, {"factor", "2"}};
  REQUIRE_THROWS_WITH(parse(j), Contains("field rope_scaling.factor") && Contains("string"));
  j["rope_scaling"] = {{"rope_type", 3}};
  REQUIRE_THROWS_WITH(parse(j), Contains("field rope_scaling.rope_type: expected a string"));

  const json llama3 = {{"rope_type", "llama3"},       {"factor", 8.0},
                       {"low_freq_factor", 1.0},       {"high_freq_factor", 4.0},
                       {"original_max_position_embeddings", 8192}};
  j["rope_scaling"] = llama3;
  REQUIRE_NOTHROW(parse(j));
  for (const char* f : {"factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"}) {
    CAPTURE(f);
    json s = llama3;
    s.erase(f);
    j["rope_scaling"] = s;
    REQUIRE_THROWS_WITH(parse(j), Contains(std::string("missing required field 'rope_scaling.") + f + "'"));
  }
  json s = llama3;
  s["high_freq_factor"] = 1.0;
  j["rope_scaling"] = s;
  REQUIRE_THROWS_WITH(parse(j), Contains("high_freq_factor 1 must be greater than low_freq_factor 1"));
  s = llama3;
  s["original_max_position_embeddings"] = 0;
  j["rope_scaling"] = s;
  REQUIRE_THROWS_WITH(parse(j), Contains("field rope_scaling.original_max_position_embeddings"));
  s["original_max_position_embeddings"] = 8192.5;
  j["rope_scaling"] = s;
  REQUIRE_THROWS_WITH(parse(j), Contains("field rope_scaling.original_max_position_embeddings"));
  s["original_max_position_embeddings"] = "8192";
  j["rope_scaling"] = s;
  REQUIRE_THROWS_WITH(parse(j), Contains("field rope_scaling.original_max_position_embeddings"));
  s["original_max_position_embeddings"] = 8192.0;  // transformers accepts it with a warning
  j["rope_scaling"] = s;
  CHECK(parse(j).rope.scaling.original_max_position_embeddings == 8192.0);

  j["rope_scaling"] = {{"type", "yarn"}, {"factor", 4.0}, {"beta_fast", 1.0}, {"beta_slow", 32.0}};
  REQUIRE_THROWS_WITH(parse(j), Contains("beta_fast 1 must be >= beta_slow 32"));
  j["rope_scaling"] = {{"type", "yarn"}, {"factor", 4.0}, {"attention_factor", 0}};
  REQUIRE_THROWS_WITH(parse(j), Contains("field rope_scaling.attention_factor: expected a positive number"));
  j["rope_scaling"] = {{"type", "yarn"}, {"factor", 4.0}, {"truncate", "no"}};
  REQUIRE_THROWS_WITH(parse(j), Contains("field rope_scaling.truncate: expected true or false"));
  j["rope_scaling"] = {{"type", "yarn"}, {"factor", 4.0}, {"mscale", -1}};
  REQUIRE_THROWS_WITH(parse(j), Contains("field rope_scaling.mscale"));

  j.erase("rope_scaling");
  j["rope_parameters"] = {{"rope_type", "linear"}, {"factor", 0.5}};
  REQUIRE_THROWS_WITH(parse(j), Contains("field rope_parameters.factor: expected a number >= 1"));
  j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", -5}};
  REQUIRE_THROWS_WITH(parse(j), Contains("field rope_parameters.rope_theta: expected a positive number"));
}

TEST_CASE("hf_config: bad layer_types", "[io][hf_config][errors]") {
  json j = base();
  j["num_hidden_layers"] = 3;
  j["layer_types"] = {"full_attention", "full_attention"};
  REQUIRE_THROWS_WITH(parse(j), Contains("field layer_types: expected 3 entries (num_hidden_layers), found 2"));
  j["layer_types"] = {"full_attention", "chunked_attention", "full_attention"};
  REQUIRE_THROWS_WITH(parse(j), Contains("field layer_types[1]: expected \"full_attention\" or \"sliding_attention\"") &&
                                    Contains("chunked_attention"));
  j["layer_types"] = {"full_attention", 1, "full_attention"};
  REQUIRE_THROWS_WITH(parse(j), Contains("field layer_types[1]"));
}

// ---------------------------------------------------------------------------------------------------------------
// Fuzz-style smoke test

TEST_CASE("hf_config: 2000 deterministic mutations parse or throw tfx::error", "[io][hf_config][fuzz]") {
  const std::string seeds[] = {qwen3_0_6b, llama31_8b, llama2_linear, qwen2_7b, llama_v5, mistral_7b_v01};
  tfx_io_test::Mutator mut(777);
  int parsed = 0, rejected = 0;
  for (int iter = 0; iter < 2000; ++iter) {
    const std::string& seed = seeds[static_cast<std::size_t>(iter) % std::size(seeds)];
    const std::vector<std::byte> m = mut.mutate(tfx_io_test::to_bytes(seed), 0);
    const std::string text(reinterpret_cast<const char*>(m.data()), m.size());
    try {
      const HfConfig c = HfConfig::from_json(text, "fuzz.json");
      const std::vector<bool> s = c.sliding_layers();
      CHECK(static_cast<std::int64_t>(s.size()) == c.num_hidden_layers);
      CHECK(c.head_dim > 0);
      CHECK(c.num_attention_heads % c.num_key_value_heads == 0);
      CHECK(c.rope.head_dim == c.head_dim);
      ++parsed;
    } catch (const tfx::error& e) {
      REQUIRE(std::string(e.what()).find("fuzz.json") != std::string::npos);
      ++rejected;
    }
  }
  INFO("parsed " << parsed << ", rejected " << rejected);
  CHECK(parsed > 100);
  CHECK(rejected > 100);
}

TEST_CASE("hf_config: absent fields take the family's transformers defaults", "[hf_config]") {
  auto parse = [](const std::string& type, const std::string& extra) {
    return tfx::io::HfConfig::from_json(R"({"model_type": ")" + type + R"(", "vocab_size": 10, "hidden_size": 8,
      "intermediate_size": 16, "num_hidden_layers": 30, "num_attention_heads": 2)" + extra + "}",
                                        "config.json");
  };
  CHECK(parse("llama", "").max_position_embeddings == 2048);
  CHECK(parse("qwen3", "").max_position_embeddings == 32768);
  CHECK(parse("qwen2", "").max_window_layers == 28);
  const auto mistral = parse("mistral", "");
  CHECK(mistral.max_position_embeddings == 131072);
  CHECK(mistral.sliding_window == 4096);
  CHECK_FALSE(parse("mistral", R"(, "sliding_window": null)").sliding_window.has_value());
}
