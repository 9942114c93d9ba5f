// Bad model folders and bad calls on a loaded model: each is a tfx::error whose one-line message names the file,
// tensor, field or value at fault; never a crash. The folders are copies of the tiny e2e checkpoints
// (tests/data/e2e), corrupted one way at a time. Also: a sharded copy of a checkpoint gives the same logits.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tfx/io/load_model.hpp"

using namespace tfx;
namespace fs = std::filesystem;
using Catch::Contains;
using Catch::StartsWith;

namespace {

const fs::path e2e_dir = fs::path(TFX_SOURCE_DIR) / "tests/data/e2e";

/// Asserts that `expr` throws tfx::error (not some other exception) with a one-line message matching `matcher`.
#define REQUIRE_TFX_ERROR(expr, matcher)                                   \
  do {                                                                     \
    REQUIRE_THROWS_AS(expr, tfx::error);                                   \
    REQUIRE_THROWS_WITH(expr, (matcher) && !Contains("\n"));               \
  } while (0)

/// A fresh folder under the system temp dir, removed with its contents at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    path_ = fs::temp_directory_path() /
            ("tfx_load_errors_" + std::to_string(::getpid()) + "_" + std::to_string(now) + "_" + std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }

  /// A copy of the e2e checkpoint folder `name` (config.json, model.safetensors, reference.json).
  fs::path copy_of(const std::string& name) const {
    const fs::path dst = path_ / name;
    fs::copy(e2e_dir / name, dst, fs::copy_options::recursive);
    return dst;
  }

 private:
  fs::path path_;
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(read_file(p)); }
void write_json(const fs::path& p, const nlohmann::json& j) { write_file(p, j.dump(2)); }

/// Edits config.json in place.
template <class F>
void edit_config(const fs::path& dir, F&& f) {
  nlohmann::json j = read_json(dir / "config.json");
  f(j);
  write_json(dir / "config.json", j);
}

/// A safetensors file as its header (parsed, key order kept) and its data section (verbatim).
struct RawSafetensors {
  nlohmann::ordered_json header;
  std::string data;

  static RawSafetensors read(const fs::path& p) {
    const std::string all = read_file(p);
    REQUIRE(all.size() >= 8);
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(all[static_cast<std::size_t>(i)]);
    REQUIRE(8 + n <= all.size());
    return {nlohmann::ordered_json::parse(all.substr(8, n)), all.substr(8 + n)};
  }
  /// Writes the header padded with spaces so that 8 + its length is `align_mod` modulo 8 (0: the data section is
  /// 8-byte aligned, as every writer does), then the data.
  void write(const fs::path& p, std::size_t align_mod = 0) const {
    std::string h = header.dump();
    while ((8 + h.size()) % 8 != align_mod) h.push_back(' ');
    write_file(p, with_header_text(h));
  }
  std::string with_header_text(const std::string& h) const {
    std::string out(8, '\0');
    const std::uint64_t n = h.size();
    for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
    return out + h + data;
  }
  nlohmann::ordered_json& at(const std::string& name) { return header.at(name); }
};

/// Every tensor of a safetensors file, ready to be written again (possibly changed) by io::write_safetensors.
std::vector<io::TensorToWrite> tensors_of(const fs::path& file) {
  const auto f = io::SafetensorsFile::open(file);
  std::vector<io::TensorToWrite> out;
  for (const io::TensorInfo& t : f.tensors())
    out.push_back({t.name, t.dtype_str, t.shape, std::vector<std::byte>(t.bytes.begin(), t.bytes.end())});
  return out;
}

void load(const fs::path& dir) { (void)load_model(dir); }

/// Logits [T, vocab] of one prefill pass over `tokens`, flattened.
std::vector<float> prefill_logits(AnyModel<>& any, const std::vector<std::int32_t>& tokens) {
  return std::visit(
      [&](auto& model) {
        const auto n = static_cast<Index>(tokens.size());
        auto s = model.new_session(n, 2);
        Matrix<float> logits(n, model.dims().vocab);
        model.forward(s, tokens, logits.view());
        return logits.storage();
      },
      any);
}

std::vector<std::int32_t> reference_tokens(const std::string& name) {
  return read_json(e2e_dir / name / "reference.json").at("tokens").get<std::vector<std::int32_t>>();
}

}  // namespace

// ------------------------------------------------------------------------------------------------------------
// The folder and its files

TEST_CASE("load errors: the folder and its files", "[model][load][errors]") {
  ScratchDir tmp;
  const fs::path dir = tmp.copy_of("llama_gqa_f32");
  REQUIRE_NOTHROW(load(dir));  // the pristine copy loads

  SECTION("missing folder") {
    const fs::path nope = tmp.path() / "no_such_model";
    REQUIRE_TFX_ERROR(load(nope), Contains(nope.string()) && Contains("does not exist or is not a directory"));
  }
  SECTION("a file where the folder should be") {
    REQUIRE_TFX_ERROR(load(dir / "config.json"), Contains("config.json") && Contains("not a directory"));
  }
  SECTION("no config.json") {
    fs::remove(dir / "config.json");
    REQUIRE_TFX_ERROR(load(dir), Contains("no config.json in model folder " + dir.string()));
  }
  SECTION("config.json is a folder") {
    fs::remove(dir / "config.json");
    fs::create_directory(dir / "config.json");
    REQUIRE_TFX_ERROR(load(dir), Contains((dir / "config.json").string()) && Contains("not a regular file"));
  }
  SECTION("no model.safetensors") {
    fs::remove(dir / "model.safetensors");
    REQUIRE_TFX_ERROR(load(dir), Contains("no safetensors checkpoint in " + dir.string()) &&
                                     Contains("model.safetensors and model.safetensors.index.json"));
  }
  SECTION("no model.safetensors, but another .safetensors file") {
    fs::rename(dir / "model.safetensors", dir / "pytorch_model.safetensors");
    REQUIRE_TFX_ERROR(load(dir), Contains("found other .safetensors files: pytorch_model.safetensors"));
  }
  SECTION("model.safetensors is a folder") {
    fs::remove(dir / "model.safetensors");
    fs::create_directory(dir / "model.safetensors");
    REQUIRE_TFX_ERROR(load(dir), Contains((dir / "model.safetensors").string()) && Contains("not a regular file"));
  }
}

// ------------------------------------------------------------------------------------------------------------
// config.json

TEST_CASE("load errors: config.json", "[model][load][errors]") {
  ScratchDir tmp;
  const fs::path dir = tmp.copy_of("llama_gqa_f32");
  const fs::path cfg = dir / "config.json";
  const std::string text = read_file(cfg);

  SECTION("malformed JSON") {
    write_file(cfg, R"({"model_type": "llama", "vocab_size": 113,, "hidden_size": 36})");
    REQUIRE_TFX_ERROR(load(dir), Contains(cfg.string()) && Contains("malformed JSON in config at byte"));
  }
  SECTION("truncated at every tenth of its length") {
    for (std::size_t k = 0; k < 10; ++k) {
      const std::size_t cut = text.size() * k / 10;
      INFO("cut at byte " << cut);
      write_file(cfg, text.substr(0, cut));
      REQUIRE_TFX_ERROR(load(dir), Contains(cfg.string()) && Contains("malformed JSON in config"));
    }
  }
  SECTION("not an object") {
    write_file(cfg, "[1, 2, 3]");
    REQUIRE_TFX_ERROR(load(dir), Contains(cfg.string()) && Contains("config must be a JSON object, found array"));
  }
  SECTION("unknown model_type") {
    edit_config(dir, [](auto& j) { j["model_type"] = "phi3"; });
    REQUIRE_TFX_ERROR(load(dir), Contains("unknown model_type 'phi3'") && Contains(cfg.string()) &&
                                     Contains("supported: llama, qwen2, qwen3, mistral, qwen3_moe, gpt2"));
  }
  SECTION("missing model_type") {
    edit_config(dir, [](auto& j) { j.erase("model_type"); });
    REQUIRE_TFX_ERROR(load(dir), Contains(cfg.string()) && Contains("missing required field 'model_type'"));
  }
  SECTION("a field of the wrong type") {
    edit_config(dir, [](auto& j) { j["hidden_size"] = "36"; });
    REQUIRE_TFX_ERROR(load(dir), Contains(cfg.string()) && Contains("field hidden_size") &&
                                     Contains("expected a positive integer, found string \"36\""));
  }
  SECTION("a missing required field") {
    edit_config(dir, [](auto& j) { j.erase("vocab_size"); });
    REQUIRE_TFX_ERROR(load(dir), Contains(cfg.string()) && Contains("missing required field 'vocab_size'"));
  }
  SECTION("unsupported rope type in rope_parameters: longrope") {
    edit_config(dir, [](auto& j) { j["rope_parameters"]["rope_type"] = "longrope"; });
    REQUIRE_TFX_ERROR(load(dir), Contains("unsupported rope type 'longrope'") && Contains(cfg.string()) &&
                                     Contains("field rope_parameters.rope_type"));
  }
  SECTION("unsupported rope type in legacy rope_scaling: su") {
    edit_config(dir, [](auto& j) {
      j.erase("rope_parameters");
      j["rope_scaling"] = {{"type", "su"}, {"factor", 2.0}};
    });
    REQUIRE_TFX_ERROR(load(dir), Contains("unsupported rope type 'su'") && Contains(cfg.string()) &&
                                     Contains("field rope_scaling.type"));
  }
  SECTION("rope type without its factor") {
    edit_config(dir, [](auto& j) { j["rope_parameters"]["rope_type"] = "linear"; });
    REQUIRE_TFX_ERROR(load(dir), Contains(cfg.string()) && Contains("missing required field 'rope_parameters.factor'"));
  }
  SECTION("hidden_act gelu for a llama model") {
    edit_config(dir, [](auto& j) { j["hidden_act"] = "gelu"; });
    REQUIRE_TFX_ERROR(load(dir), Contains(cfg.string()) && Contains("field hidden_act") &&
                                     Contains("llama models are supported with 'silu'") && Contains("found 'gelu'"));
  }
  SECTION("an unknown hidden_act") {
    edit_config(dir, [](auto& j) { j["hidden_act"] = "quick_gelu"; });
    REQUIRE_TFX_ERROR(load(dir), Contains(cfg.string()) && Contains("unsupported activation 'quick_gelu'"));
  }
  SECTION("num_attention_heads not a multiple of num_key_value_heads") {
    edit_config(dir, [](auto& j) { j["num_key_value_heads"] = 4; });  // 6 heads
    REQUIRE_TFX_ERROR(load(dir), Contains(cfg.string()) &&
                                     Contains("num_attention_heads 6 is not divisible by num_key_value_heads 4"));
  }
}

// ------------------------------------------------------------------------------------------------------------
// model.safetensors: the file itself

TEST_CASE("load errors: a damaged model.safetensors", "[model][load][errors]") {
  ScratchDir tmp;
  const fs::path dir = tmp.copy_of("llama_gqa_f32");
  const fs::path st = dir / "model.safetensors";
  const std::string bytes = read_file(st);
  RawSafetensors raw = RawSafetensors::read(st);
  const std::size_t header_len = bytes.size() - raw.data.size() - 8;
  const std::string f = st.string();

  SECTION("empty file") {
    write_file(st, "");
    REQUIRE_TFX_ERROR(load(dir), Contains(f) && Contains("truncated safetensors file: 0 bytes"));
  }
  SECTION("cut inside the 8-byte length") {
    write_file(st, bytes.substr(0, 5));
    REQUIRE_TFX_ERROR(load(dir), Contains(f) && Contains("fewer than the 8-byte header length"));
  }
  SECTION("cut inside the header") {
    write_file(st, bytes.substr(0, 8 + header_len / 2));
    REQUIRE_TFX_ERROR(load(dir), Contains(f) && Contains("header length " + std::to_string(header_len)) &&
                                     Contains("runs past the end of the file"));
  }
  SECTION("cut inside the data") {
    // The last tensor by offset loses its tail; exactly that tensor is named.
    std::string last;
    std::uint64_t last_end = 0, last_begin = 0;
    for (const auto& [name, e] : raw.header.items())
      if (name != "__metadata__" && e["data_offsets"][1].get<std::uint64_t>() > last_end) {
        last = name;
        last_begin = e["data_offsets"][0].get<std::uint64_t>();
        last_end = e["data_offsets"][1].get<std::uint64_t>();
      }
    REQUIRE(last_end == raw.data.size());
    const std::size_t cut = static_cast<std::size_t>(last_end - last_begin) / 2;
    write_file(st, bytes.substr(0, bytes.size() - cut));
    REQUIRE_TFX_ERROR(load(dir), Contains(f) && Contains("tensor '" + last + "'") &&
                                     Contains("run past the end of the data section") && Contains("truncated"));
  }
  SECTION("garbage instead of the header") {
    write_file(st, bytes.substr(0, 8) + std::string(header_len, '#') + raw.data);
    REQUIRE_TFX_ERROR(load(dir), Contains(f) && Contains("malformed JSON in safetensors header"));
  }
  SECTION("two tensors on the same bytes") {
    raw.at("model.layers.0.post_attention_layernorm.weight")["data_offsets"] =
        raw.at("model.layers.0.input_layernorm.weight")["data_offsets"];
    raw.write(st);
    REQUIRE_TFX_ERROR(load(dir), Contains(f) && Contains("'model.layers.0.input_layernorm.weight'") &&
                                     Contains("'model.layers.0.post_attention_layernorm.weight'") && Contains("overlap"));
  }
  SECTION("tensors overlapping by a few bytes") {
    auto& off = raw.at("model.layers.0.mlp.up_proj.weight")["data_offsets"];
    off = {off[0].get<std::uint64_t>() - 8, off[1].get<std::uint64_t>() - 8};
    raw.write(st);
    REQUIRE_TFX_ERROR(load(dir), Contains(f) && Contains("'model.layers.0.mlp.gate_proj.weight'") &&
                                     Contains("'model.layers.0.mlp.up_proj.weight'") && Contains("overlap"));
  }
  SECTION("offsets past the end of the data") {
    const std::uint64_t end = raw.data.size();
    raw.at("model.norm.weight")["data_offsets"] = {end, end + 144};
    raw.write(st);
    REQUIRE_TFX_ERROR(load(dir), Contains(f) && Contains("tensor 'model.norm.weight'") &&
                                     Contains("data_offsets [" + std::to_string(end) + ", " + std::to_string(end + 144) +
                                              "] run past the end of the data section"));
  }
  SECTION("offsets near 2^63") {
    const std::uint64_t big = std::uint64_t{1} << 62;
    raw.at("model.norm.weight")["data_offsets"] = {big, big + 144};
    raw.write(st);
    REQUIRE_TFX_ERROR(load(dir), Contains("tensor 'model.norm.weight'") && Contains("run past the end of the data section"));
  }
  SECTION("offsets with begin > end") {
    raw.at("model.norm.weight")["data_offsets"] = {144, 0};
    raw.write(st);
    REQUIRE_TFX_ERROR(load(dir), Contains("tensor 'model.norm.weight'") && Contains("[144, 0] has begin > end"));
  }
  SECTION("a shape that disagrees with the byte count") {
    raw.at("model.norm.weight")["shape"] = {35};
    raw.write(st);
    REQUIRE_TFX_ERROR(load(dir), Contains("tensor 'model.norm.weight'") && Contains("shape [35] of F32 needs 140 bytes") &&
                                     Contains("hold 144 bytes"));
  }
  SECTION("unknown dtype") {
    raw.at("model.layers.0.mlp.up_proj.weight")["dtype"] = "F7";
    raw.write(st);
    REQUIRE_TFX_ERROR(load(dir), Contains(f) && Contains("tensor 'model.layers.0.mlp.up_proj.weight'") &&
                                     Contains("unknown dtype 'F7'"));
  }
  SECTION("a known dtype that is not a float dtype, on the embedding") {
    raw.at("model.embed_tokens.weight")["dtype"] = "I32";
    raw.write(st);
    REQUIRE_TFX_ERROR(load(dir), Contains("tensor 'model.embed_tokens.weight'") && Contains(f) &&
                                     Contains("dtype I32 is not a float dtype"));
  }
  SECTION("a known dtype that is not a float dtype, on a layer weight") {
    raw.at("model.norm.weight")["dtype"] = "U32";
    raw.write(st);
    REQUIRE_TFX_ERROR(load(dir), Contains("tensor 'model.norm.weight'") && Contains("dtype U32 is not a float dtype"));
  }
  SECTION("a data section that is not aligned for the dtype") {
    raw.write(st, /*align_mod=*/1);  // 8 + header length = 1 (mod 8)
    REQUIRE_TFX_ERROR(load(dir), Contains("tensor 'model.embed_tokens.weight'") && Contains("not 4-byte aligned"));
  }
}

// ------------------------------------------------------------------------------------------------------------
// model.safetensors against config.json

TEST_CASE("load errors: tensors that disagree with config.json", "[model][load][errors]") {
  ScratchDir tmp;

  SECTION("a missing tensor is named") {
    const fs::path dir = tmp.copy_of("llama_gqa_f32");
    auto ts = tensors_of(dir / "model.safetensors");
    std::erase_if(ts, [](const auto& t) { return t.name == "model.layers.1.mlp.up_proj.weight"; });
    io::write_safetensors(dir / "model.safetensors", ts);
    REQUIRE_TFX_ERROR(load(dir), Contains("tensor 'model.layers.1.mlp.up_proj.weight' not found in checkpoint " +
                                          dir.string()));
  }
  SECTION("an extra tensor is named") {
    const fs::path dir = tmp.copy_of("llama_gqa_f32");
    auto ts = tensors_of(dir / "model.safetensors");
    const std::vector<float> bias(36, 0.5f);
    ts.push_back(io::TensorToWrite::from<float>("model.layers.0.self_attn.q_proj.bias", {36}, bias));
    io::write_safetensors(dir / "model.safetensors", ts);
    REQUIRE_TFX_ERROR(load(dir), Contains("unexpected tensor 'model.layers.0.self_attn.q_proj.bias'") &&
                                     Contains("for a llama model") && Contains(dir.string()));
  }
  SECTION("intermediate_size disagrees with gate_proj: the tensor and both shapes are named") {
    const fs::path dir = tmp.copy_of("llama_gqa_f32");
    edit_config(dir, [](auto& j) { j["intermediate_size"] = 54; });  // the weights have 53
    REQUIRE_TFX_ERROR(load(dir), Contains("tensor 'model.layers.0.mlp.gate_proj.weight'") &&
                                     Contains((dir / "model.safetensors").string()) &&
                                     Contains("expected shape [54, 36], found [53, 36]"));
  }
  SECTION("vocab_size disagrees with the embedding") {
    const fs::path dir = tmp.copy_of("llama_gqa_f32");
    edit_config(dir, [](auto& j) { j["vocab_size"] = 100; });  // the weights have 113
    REQUIRE_TFX_ERROR(load(dir), Contains("tensor 'model.embed_tokens.weight'") &&
                                     Contains("expected shape [100, 36], found [113, 36]"));
  }
  SECTION("a tensor with the wrong rank") {
    const fs::path dir = tmp.copy_of("llama_gqa_f32");
    auto ts = tensors_of(dir / "model.safetensors");
    for (auto& t : ts)
      if (t.name == "model.norm.weight") t.shape = {1, 36};
    io::write_safetensors(dir / "model.safetensors", ts);
    REQUIRE_TFX_ERROR(load(dir), Contains("tensor 'model.norm.weight'") && Contains("expected shape [36], found [1, 36]"));
  }
  SECTION("num_hidden_layers larger than the checkpoint") {
    const fs::path dir = tmp.copy_of("llama_gqa_f32");
    edit_config(dir, [](auto& j) { j["num_hidden_layers"] = 3; });
    REQUIRE_TFX_ERROR(load(dir), Contains("tensor 'model.layers.2.") && Contains("not found in checkpoint"));
  }
  SECTION("num_hidden_layers smaller than the checkpoint") {
    const fs::path dir = tmp.copy_of("llama_gqa_f32");
    edit_config(dir, [](auto& j) { j["num_hidden_layers"] = 1; });
    REQUIRE_TFX_ERROR(load(dir), Contains("unexpected tensor 'model.layers.1."));
  }
  SECTION("bias flags without bias tensors") {
    const fs::path dir = tmp.copy_of("llama_gqa_f32");
    edit_config(dir, [](auto& j) { j["attention_bias"] = true; });
    REQUIRE_TFX_ERROR(load(dir), Contains("tensor 'model.layers.0.self_attn.q_proj.bias' not found"));
  }
  SECTION("bias tensors without the bias flags") {
    const fs::path dir = tmp.copy_of("llama_bias");
    edit_config(dir, [](auto& j) { j["mlp_bias"] = false; });
    REQUIRE_TFX_ERROR(load(dir), Contains("unexpected tensor 'model.layers.0.mlp.down_proj.bias'"));
  }
  SECTION("untied config on a tied checkpoint: no lm_head") {
    const fs::path dir = tmp.copy_of("llama_tied");
    REQUIRE_NOTHROW(load(dir));
    edit_config(dir, [](auto& j) { j["tie_word_embeddings"] = false; });
    REQUIRE_TFX_ERROR(load(dir), Contains("tensor 'lm_head.weight' not found in checkpoint"));
  }
  SECTION("a qwen3 checkpoint relabelled as llama: the q/k norm weights are unexpected") {
    const fs::path dir = tmp.copy_of("qwen3_qknorm_f32");
    edit_config(dir, [](auto& j) { j["model_type"] = "llama"; });
    REQUIRE_TFX_ERROR(load(dir), Contains("unexpected tensor 'model.layers.0.self_attn.k_norm.weight'") &&
                                     Contains("for a llama model") && Contains("wrong model_type"));
  }
  SECTION("a llama checkpoint relabelled as qwen3: the q/k norm weights are missing") {
    const fs::path dir = tmp.copy_of("llama_gqa_f32");
    edit_config(dir, [](auto& j) { j["model_type"] = "qwen3"; });
    REQUIRE_TFX_ERROR(load(dir), Contains("tensor 'model.layers.0.self_attn.q_norm.weight' not found"));
  }
}

// ------------------------------------------------------------------------------------------------------------
// Sharded checkpoints

namespace {
/// Replaces model.safetensors by two shards (tensors split by name) and model.safetensors.index.json.
void shard(const fs::path& dir) {
  auto ts = tensors_of(dir / "model.safetensors");
  std::sort(ts.begin(), ts.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  const auto half = ts.begin() + static_cast<std::ptrdiff_t>(ts.size() / 2);
  const std::vector<io::TensorToWrite> first(ts.begin(), half), second(half, ts.end());
  const std::string s1 = "model-00001-of-00002.safetensors", s2 = "model-00002-of-00002.safetensors";
  io::write_safetensors(dir / s1, first);
  io::write_safetensors(dir / s2, second);
  nlohmann::json index;
  std::size_t total = 0;
  for (const auto& t : first) index["weight_map"][t.name] = s1, total += t.bytes.size();
  for (const auto& t : second) index["weight_map"][t.name] = s2, total += t.bytes.size();
  index["metadata"]["total_size"] = total;
  write_json(dir / "model.safetensors.index.json", index);
  fs::remove(dir / "model.safetensors");
}
}  // namespace

TEST_CASE("sharded checkpoint: the same logits, bit for bit, as the single file", "[model][load][sharded]") {
  for (const std::string name : {"llama_gqa_f32", "qwen3_qknorm_f32", "llama_bias"}) {
    SECTION(name) {
      ScratchDir tmp;
      const fs::path dir = tmp.copy_of(name);
      const auto tokens = reference_tokens(name);
      auto single = load_model(e2e_dir / name);
      const std::vector<float> want = prefill_logits(single, tokens);

      shard(dir);
      REQUIRE(io::Checkpoint::open(dir).files().size() == 2);
      auto sharded = load_model(dir);
      REQUIRE(sharded.index() == single.index());
      const std::vector<float> got = prefill_logits(sharded, tokens);
      REQUIRE(got.size() == want.size());
      CHECK(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("load errors: a broken sharded checkpoint", "[model][load][sharded][errors]") {
  ScratchDir tmp;
  const fs::path dir = tmp.copy_of("llama_gqa_f32");
  shard(dir);
  REQUIRE_NOTHROW(load(dir));
  const fs::path index = dir / "model.safetensors.index.json";

  SECTION("a missing shard") {
    fs::remove(dir / "model-00002-of-00002.safetensors");
    REQUIRE_TFX_ERROR(load(dir), Contains(index.string()) && Contains("shard 'model-00002-of-00002.safetensors'") &&
                                     Contains("is missing"));
  }
  SECTION("a weight map that points to the wrong shard") {
    auto j = read_json(index);
    j["weight_map"]["model.norm.weight"] = "model-00001-of-00002.safetensors";
    write_json(index, j);
    REQUIRE_TFX_ERROR(load(dir), Contains("weight_map puts tensor 'model.norm.weight' in model-00001-of-00002.safetensors") &&
                                     Contains("has no such tensor"));
  }
  SECTION("a shard path that leaves the folder") {
    auto j = read_json(index);
    j["weight_map"]["model.norm.weight"] = "../model-00002-of-00002.safetensors";
    write_json(index, j);
    REQUIRE_TFX_ERROR(load(dir), Contains("must be a relative path inside the folder"));
  }
  SECTION("a malformed index") {
    write_file(index, "{\"weight_map\": {");
    REQUIRE_TFX_ERROR(load(dir), Contains(index.string()) && Contains("malformed JSON in safetensors index"));
  }
  SECTION("a tensor missing from every shard") {
    auto ts = tensors_of(dir / "model-00002-of-00002.safetensors");
    auto j = read_json(index);
    std::erase_if(ts, [](const auto& t) { return t.name == "model.norm.weight"; });
    j["weight_map"].erase("model.norm.weight");
    io::write_safetensors(dir / "model-00002-of-00002.safetensors", ts);
    write_json(index, j);
    REQUIRE_TFX_ERROR(load(dir), Contains("tensor 'model.norm.weight' not found in checkpoint") &&
                                     Contains("in 2 files"));
  }
}

// ------------------------------------------------------------------------------------------------------------
// Calls on a loaded model

TEST_CASE("runtime errors: bad calls on a loaded model leave the session usable", "[model][errors]") {
  auto any = load_model(e2e_dir / "llama_gqa_f32");
  std::visit(
      [](auto& model) {
        const Index vocab = model.dims().vocab;
        REQUIRE(vocab == 113);
        auto s = model.new_session(/*capacity=*/4, /*threads=*/2);
        Matrix<float> logits(3, vocab);
        const std::vector<std::int32_t> ok{5, 6, 7};

        SECTION("a token id >= the vocabulary size") {
          const std::vector<std::int32_t> ids{5, 500, 7};
          REQUIRE_TFX_ERROR(model.forward(s, ids, logits.view()),
                            Contains("token id 500 at index 1") && Contains("vocabulary of 113"));
        }
        SECTION("the first id past the vocabulary") {
          const std::vector<std::int32_t> ids{5, 6, 113};
          REQUIRE_TFX_ERROR(model.forward(s, ids, logits.view()),
                            Contains("token id 113 at index 2") && Contains("vocabulary of 113"));
        }
        SECTION("a negative token id") {
          const std::vector<std::int32_t> ids{-1, 6, 7};
          REQUIRE_TFX_ERROR(model.forward(s, ids, logits.view()), Contains("token id -1 at index 0"));
        }
        SECTION("more tokens than the session holds") {
          const std::vector<std::int32_t> ids{1, 2, 3, 4, 5};
          Matrix<float> l5(5, vocab);
          REQUIRE_TFX_ERROR(model.forward(s, ids, l5.view()),
                            Contains("5 tokens at position 0 exceed the session's context of 4 positions"));
        }
        SECTION("more tokens than the session has left") {
          model.forward(s, ok, logits.view());
          const std::vector<std::int32_t> two{8, 9};
          Matrix<float> l2(2, vocab);
          REQUIRE_TFX_ERROR(model.forward(s, two, l2.view()),
                            Contains("2 tokens at position 3 exceed the session's context of 4 positions"));
          CHECK(s.position() == 3);
          s.reset();
        }
        SECTION("logits with the wrong number of rows") {
          Matrix<float> wrong(2, vocab);
          REQUIRE_TFX_ERROR(model.forward(s, ok, wrong.view()), Contains("logits are [2, 113], expected [3 or 1, 113]"));
        }
        SECTION("logits with the wrong number of columns") {
          Matrix<float> wrong(3, vocab - 1);
          REQUIRE_TFX_ERROR(model.forward(s, ok, wrong.view()), Contains("logits are [3, 112], expected [3 or 1, 113]"));
        }
        SECTION("no tokens") {
          REQUIRE_TFX_ERROR(model.forward(s, std::span<const std::int32_t>(), logits.view()), Contains("no tokens to run"));
        }

        // Whatever failed, nothing was consumed: the session runs as if it were new.
        CHECK(s.position() == 0);
        model.forward(s, ok, logits.view());
        auto fresh = model.new_session(4, 2);
        Matrix<float> want(3, vocab);
        model.forward(fresh, ok, want.view());
        CHECK(std::memcmp(logits.data(), want.data(), sizeof(float) * logits.storage().size()) == 0);
      },
      any);
}

// ------------------------------------------------------------------------------------------------------------
// Mixture of experts and GPT-2

TEST_CASE("load errors: qwen3_moe experts and router", "[model][load][errors][moe]") {
  ScratchDir tmp;
  const fs::path dir = tmp.copy_of("qwen3_moe_top2_f32");
  const fs::path cfg = dir / "config.json";
  SECTION("num_experts_per_tok above num_experts") {
    edit_config(dir, [](auto& j) { j["num_experts_per_tok"] = 5; });  // 4 experts
    REQUIRE_TFX_ERROR(load(dir), Contains(cfg.string()) && Contains("field num_experts_per_tok: 5 must be between 1 "
                                                                    "and num_experts (4)"));
  }
  SECTION("num_experts_per_tok zero or negative") {
    for (int k : {0, -2}) {
      edit_config(dir, [&](auto& j) { j["num_experts_per_tok"] = k; });
      REQUIRE_TFX_ERROR(load(dir), Contains(cfg.string()) && Contains("field num_experts_per_tok: " + std::to_string(k)));
    }
  }
  SECTION("a missing expert tensor is named") {
    auto ts = tensors_of(dir / "model.safetensors");
    const std::string gone = "model.layers.1.mlp.experts.3.down_proj.weight";
    REQUIRE(std::erase_if(ts, [&](const auto& t) { return t.name == gone; }) == 1);
    io::write_safetensors(dir / "model.safetensors", ts);
    REQUIRE_TFX_ERROR(load(dir), Contains("tensor '" + gone + "' not found in checkpoint " + dir.string()));
  }
  SECTION("a router whose shape disagrees with num_experts") {
    edit_config(dir, [](auto& j) {
      j.erase("num_local_experts");
      j["num_experts"] = 3;
      j["num_experts_per_tok"] = 2;
    });
    REQUIRE_TFX_ERROR(load(dir), Contains("tensor 'model.layers.0.mlp.gate.weight'") &&
                                     Contains("expected shape [3, ") && Contains("found [4, "));
  }
  SECTION("mlp_only_layers out of range") {
    edit_config(dir, [](auto& j) { j["mlp_only_layers"] = {0, 7}; });
    REQUIRE_TFX_ERROR(load(dir), Contains(cfg.string()) && Contains("mlp_only_layers[1]"));
  }
  SECTION("experts left over when a layer is dense") {
    edit_config(dir, [](auto& j) { j["mlp_only_layers"] = {0}; });  // layer 0 has experts, no dense MLP
    REQUIRE_TFX_ERROR(load(dir), Contains("tensor 'model.layers.0.mlp.gate_proj.weight' not found"));
  }
}

TEST_CASE("load errors: gpt2 config and positions", "[model][load][errors][gpt2]") {
  ScratchDir tmp;
  const fs::path dir = tmp.copy_of("gpt2_f32");
  const fs::path cfg = dir / "config.json";
  SECTION("n_embd not divisible by n_head") {
    edit_config(dir, [](auto& j) { j["n_head"] = 5; });  // n_embd 24
    REQUIRE_TFX_ERROR(load(dir), Contains(cfg.string()) && Contains("n_embd 24 is not divisible by n_head 5"));
  }
  SECTION("unknown activation_function") {
    edit_config(dir, [](auto& j) { j["activation_function"] = "quick_gelu"; });
    REQUIRE_TFX_ERROR(load(dir), Contains(cfg.string()) && Contains("field activation_function: unsupported "
                                                                    "activation 'quick_gelu'") &&
                                     Contains("gelu_new"));
  }
  SECTION("n_positions disagrees with wpe") {
    edit_config(dir, [](auto& j) { j["n_positions"] = 40; });
    REQUIRE_TFX_ERROR(load(dir), Contains("tensor 'transformer.wpe.weight'") && Contains("expected shape [40, 24]"));
  }
  SECTION("a token position beyond n_positions") {
    auto any = load_model(dir);
    std::visit(
        [&](auto& model) {
          REQUIRE(model.max_positions() == 32);
          auto s = model.new_session(64, 1);  // a session longer than the position table
          std::vector<std::int32_t> ids(30, 1);
          Matrix<float> logits(1, model.dims().vocab);
          model.forward(s, ids, logits.view());
          const std::vector<std::int32_t> three{1, 2, 3};
          REQUIRE_TFX_ERROR(model.forward(s, three, logits.view()),
                            Contains("3 tokens at position 30 exceed the model's 32 positions (n_positions)"));
          CHECK(s.position() == 30);
        },
        any);
  }
  SECTION("old checkpoints' attention-mask buffers are ignored") {
    auto ts = tensors_of(dir / "model.safetensors");
    const std::vector<float> mask(32 * 32, 1.f), masked_bias(1, -1e4f);
    ts.push_back(io::TensorToWrite::from<float>("transformer.h.0.attn.bias", {1, 1, 32, 32}, mask));
    ts.push_back(io::TensorToWrite::from<float>("transformer.h.0.attn.masked_bias", {}, masked_bias));
    io::write_safetensors(dir / "model.safetensors", ts);
    const auto tokens = reference_tokens("gpt2_f32");
    auto plain = load_model(e2e_dir / "gpt2_f32");
    auto with_buffers = load_model(dir);
    CHECK(prefill_logits(with_buffers, tokens) == prefill_logits(plain, tokens));
  }
}
