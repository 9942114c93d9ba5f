// How a sentence-transformers folder turns hidden states into sentence embeddings: modules.json lists the modules
// (Transformer, Pooling, Normalize), 1_Pooling/config.json (or the Pooling module's folder) names the pooling
// mode, sentence_bert_config.json the longest input (max_seq_length) and whether texts are lowercased first
// (do_lower_case). A plain Hugging Face folder has none of these: mean pooling, no normalization, the model's
// max_position_embeddings.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tfx/io/json_util.hpp"
#include "tfx/model/encoder.hpp"

namespace tfx::io {

struct EmbeddingConfig {
  pooling mode = pooling::mean;
  bool normalize = false;
  std::optional<Index> max_seq_length{};  // sentence_bert_config.json; else the model's positions
  bool lowercase = false;                 // sentence_bert_config.json's do_lower_case: lowercase texts first
  std::string pooling_source = "default (no sentence-transformers Pooling module)";
};

/// Reads the sentence-transformers configuration of model folder `dir`, if it has one.
inline EmbeddingConfig read_embedding_config(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  EmbeddingConfig c;
  const fs::path modules = dir / "modules.json";
  std::optional<fs::path> pooling_dir;
  if (fs::exists(modules)) {
    const nlohmann::json m = detail::read_json_file(modules, "modules.json", 16, false, 1u << 20);
    if (!m.is_array()) fail(modules.string(), ": expected a list of modules, found ", detail::json_found(m));
    for (std::size_t i = 0; i < m.size(); ++i) {
      const auto& e = m[i];
      const std::string at = modules.string() + ": module " + std::to_string(i);
      if (!e.is_object() || !e.contains("type") || !e["type"].is_string())
        fail(at, ": expected an object with a string \"type\"");
      const std::string type = e["type"].get<std::string>();
      const std::string path = e.contains("path") && e["path"].is_string() ? e["path"].get<std::string>() : "";
      if (type.ends_with(".Transformer")) continue;
      if (type.ends_with(".Pooling")) {
        const fs::path p = fs::path(path);
        if (p.is_absolute() || path.find("..") != std::string::npos) fail(at, ": pooling path '", path, "' leaves the folder");
        pooling_dir = dir / p;
      } else if (type.ends_with(".Normalize")) {
        c.normalize = true;
      } else {
        fail(at, ": module type '", type, "' is not supported (supported: Transformer, Pooling, Normalize)");
      }
    }
  }
  if (pooling_dir) {
    const fs::path pc = *pooling_dir / "config.json";
    const nlohmann::json p = detail::read_json_file(pc, "pooling config", 16, false, 1u << 20);
    if (!p.is_object()) fail(pc.string(), ": expected an object, found ", detail::json_found(p));
    std::vector<std::string> modes;
    if (p.contains("pooling_mode") && p["pooling_mode"].is_string()) modes.push_back(p["pooling_mode"].get<std::string>());
    for (const auto& [key, v] : p.items())
      if (key.starts_with("pooling_mode_") && v.is_boolean() && v.get<bool>()) {
        std::string mode = key.substr(13);
        if (mode == "cls_token") mode = "cls";
        else if (mode == "mean_tokens") mode = "mean";
        else if (mode == "max_tokens") mode = "max";
        else if (mode.ends_with("_tokens")) mode.resize(mode.size() - 7);
        if (modes.empty() || modes.front() != mode) modes.push_back(mode);
      }
    if (modes.size() != 1)
      fail(pc.string(), ": ", modes.empty() ? "no pooling mode is set" : "several pooling modes are set (concatenated "
                                                                          "embeddings are not supported)");
    if (modes[0] == "mean") c.mode = pooling::mean;
    else if (modes[0] == "cls") c.mode = pooling::cls;
    else if (modes[0] == "max") c.mode = pooling::max;
    else fail(pc.string(), ": pooling mode '", modes[0], "' is not supported (supported: mean, cls, max)");
    c.pooling_source = pc.string();
  }
  const fs::path sb = dir / "sentence_bert_config.json";
  if (fs::exists(sb)) {
    const nlohmann::json s = detail::read_json_file(sb, "sentence_bert_config.json", 16, false, 1u << 20);
    if (s.is_object() && s.contains("max_seq_length") && !s["max_seq_length"].is_null())
      c.max_seq_length = detail::json_int(s["max_seq_length"], sb.string(), "max_seq_length", 1, 1 << 24,
                                          "a positive integer");
    c.lowercase = s.is_object() && s.contains("do_lower_case") && s["do_lower_case"].is_boolean() &&
                  s["do_lower_case"].get<bool>();
  }
  return c;
}

}  // namespace tfx::io
