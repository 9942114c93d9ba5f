// Families as types: accounting summed from the layers (published parameter counts from config.json alone, and
// every e2e checkpoint's tensors), static shapes, the family list against docs/models.md, and config defaults
// each family takes from its transformers config class.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "tfx/io/load_model.hpp"

using namespace tfx;
namespace fs = std::filesystem;
using Catch::Contains;

namespace {
const fs::path source = fs::path(TFX_SOURCE_DIR);

Counts counts_of(const std::string& config) {
  return io::describe(io::HfConfig::from_file(source / "tests/data/configs" / config)).second;
}
std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  REQUIRE(in.good());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

// Static shapes: the model type's accounting, summed from its layers at compile time, equals the published counts.
static_assert(Model<family::Qwen3, shapes::Qwen3_8B>::static_counts().parameters == 8'190'735'360);
static_assert(Model<family::Qwen3, shapes::Qwen3_0_6B>::static_counts().parameters == 596'049'920);
static_assert(Model<family::Llama, shapes::Llama3_8B>::static_counts().parameters == 8'030'261'248);

TEST_CASE("Published parameter counts from config.json alone", "[model][family][counts]") {
  SECTION("GPT-2 (124M)") {
    const Counts c = counts_of("gpt2.json");
    CHECK(c.parameters == 124'439'808);
    CHECK(c.active == c.parameters);
    CHECK(c.kv_values == 2 * 12 * 768);
    CHECK(c.kv_bytes(4) == 2 * 12 * 768 * 4);
  }
  SECTION("Qwen3-8B") {
    const Counts c = counts_of("qwen3_8b.json");
    CHECK(c.parameters == 8'190'735'360);
    CHECK(c.parameters == Model<family::Qwen3, shapes::Qwen3_8B>::static_counts().parameters);
  }
  SECTION("Qwen3-30B-A3B: total and active") {
    const Counts c = counts_of("qwen3_30b_a3b.json");
    // 48 layers of attention (18,874,368 + 256 q/k norm + 4,096 norms), router 128 x 2048 and 128 experts of
    // 3 x 2048 x 768; untied 151936 x 2048 embedding and head; final norm.
    CHECK(c.parameters == 30'532'122'624);
    CHECK(c.active == 3'353'032'704);  // 8 of the 128 experts per token
    CHECK(c.parameters / 1e9 == Approx(30.5).margin(0.05));
    CHECK(c.active / 1e9 == Approx(3.3).margin(0.1));
    CHECK(c.flops_per_token() == 2 * (c.active - 151936 * 2048 - 48 * (256 + 4096) - 2048) + 4 * 48 * 32 * 128);
  }
}

TEST_CASE("Every e2e checkpoint: the layers' accounting equals the tensors in the file", "[model][family][counts]") {
  const fs::path e2e = source / "tests/data/e2e";
  const auto index = nlohmann::json::parse(read_text(e2e / "index.json"));
  for (const auto& entry : index.at("cases")) {
    const std::string name = entry.at("name");
    SECTION(name) {
      const auto ckpt = io::Checkpoint::open(e2e / name);
      std::int64_t in_file = 0;
      for (const auto& t : ckpt.names()) in_file += ckpt.at(t).numel();
      auto any = load_model(e2e / name);
      std::visit([&](auto& model) { CHECK(model.counts().parameters == in_file); }, any);
    }
  }
}

TEST_CASE("Config defaults follow each family's transformers config class", "[model][family][config]") {
  const auto parse = [](const std::string& text) { return io::HfConfig::from_json(text, "config.json"); };
  SECTION("qwen3 without head_dim: 128, not hidden / heads") {
    const auto c = parse(R"({"model_type": "qwen3", "vocab_size": 10, "hidden_size": 32, "intermediate_size": 8,
                             "num_hidden_layers": 1, "num_attention_heads": 4})");
    CHECK(c.head_dim == 128);
  }
  SECTION("qwen3_moe without head_dim: hidden / heads; MoE defaults") {
    const auto c = parse(R"({"model_type": "qwen3_moe", "vocab_size": 10, "hidden_size": 32,
                             "intermediate_size": 8, "num_hidden_layers": 2, "num_attention_heads": 4})");
    CHECK(c.head_dim == 8);
    CHECK(c.num_experts == 128);
    CHECK(c.num_experts_per_tok == 8);
    CHECK(c.moe_intermediate_size == 768);
    CHECK(c.decoder_sparse_step == 1);
    CHECK_FALSE(c.norm_topk_prob);
    CHECK(c.mlp_only_layers.empty());
  }
  SECTION("qwen3_moe: num_local_experts is num_experts; sparse layers from decoder_sparse_step and mlp_only_layers") {
    const auto c = parse(R"({"model_type": "qwen3_moe", "vocab_size": 10, "hidden_size": 32, "intermediate_size": 8,
                             "num_hidden_layers": 6, "num_attention_heads": 4, "num_local_experts": 6,
                             "num_experts_per_tok": 2, "decoder_sparse_step": 2, "mlp_only_layers": [3]})");
    CHECK(c.num_experts == 6);
    const auto spec = io::describe(c).first;
    CHECK(spec.sparse_layers == std::vector<std::uint8_t>{0, 1, 0, 0, 0, 1});
  }
  SECTION("gpt2: every GPT2Config default") {
    const auto c = parse(R"({"model_type": "gpt2"})");
    CHECK(c.vocab_size == 50257);
    CHECK(c.hidden_size == 768);
    CHECK(c.num_hidden_layers == 12);
    CHECK(c.num_attention_heads == 12);
    CHECK(c.max_position_embeddings == 1024);
    CHECK(c.intermediate_size == 4 * 768);
    CHECK(c.hidden_act == "gelu_new");
    CHECK(c.act == activation::gelu_tanh);
    CHECK(c.layer_norm_epsilon == 1e-5);
    CHECK(c.scale_attn_weights);
    CHECK_FALSE(c.scale_attn_by_inverse_layer_idx);
    CHECK(c.tie_word_embeddings);
    CHECK(c.eos_token_id == std::vector<std::int64_t>{50256});
    CHECK(io::describe(c).second.parameters == 124'439'808);
  }
  SECTION("gpt2: n_inner null is 4 * n_embd; activation spellings") {
    CHECK(parse(R"({"model_type": "gpt2", "n_embd": 16, "n_head": 2, "n_inner": null})").intermediate_size == 64);
    CHECK(parse(R"({"model_type": "gpt2", "activation_function": "gelu"})").act == activation::gelu_erf);
    CHECK(parse(R"({"model_type": "gpt2", "activation_function": "relu"})").act == activation::relu);
    CHECK(parse(R"({"model_type": "gpt2", "activation_function": "gelu_pytorch_tanh"})").act == activation::gelu_tanh);
    CHECK_THROWS_WITH(parse(R"({"model_type": "gpt2", "add_cross_attention": true})"),
                      Contains("add_cross_attention"));
  }
}

TEST_CASE("docs/models.md has one table row per family in the family list", "[model][family][docs]") {
  const std::string doc = read_text(source / "docs/models.md");
  std::string names = io::all_family_names() + ", ";
  std::size_t rows = 0;
  for (std::size_t at = 0, comma; (comma = names.find(", ", at)) != std::string::npos; at = comma + 2, ++rows) {
    const std::string t = names.substr(at, comma - at);
    INFO("model_type " << t);
    CHECK(doc.find("| `" + t + "` |") != std::string::npos);
  }
  CHECK(rows == 8);
  // No row for a family the list does not have (the table that starts at its "family (`model_type`)" header).
  const std::size_t table = doc.find("| family (`model_type`) |");
  REQUIRE(table != std::string::npos);
  std::istringstream lines(doc.substr(table, doc.find("\n\n", table) - table));
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("| `", 0) == 0 && line.find("` |") != std::string::npos) {
      const std::string t = line.substr(3, line.find("` |") - 3);
      INFO("docs row " << line);
      CHECK(names.find(t + ", ") != std::string::npos);
    }
}
