// Hugging Face config.json for every family tfx runs. The family list below is the one place that names them:
// it drives config parsing (each family's adapter applies its spellings and defaults), load_model's dispatch
// (tfx/io/load_model.hpp), the "supported:" list of error messages and the table in docs/models.md (checked by a
// test).
#pragma once
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "tfx/io/hf/bert.hpp"
#include "tfx/io/hf/config.hpp"
#include "tfx/io/hf/gpt2.hpp"
#include "tfx/io/hf/llama.hpp"
#include "tfx/io/hf/marian.hpp"
#include "tfx/io/hf/mistral.hpp"
#include "tfx/io/hf/qwen2.hpp"
#include "tfx/io/hf/qwen3.hpp"
#include "tfx/io/hf/qwen3_moe.hpp"

namespace tfx::io {

template <class... F>
struct family_list {
  /// Calls f(F{}) for the family whose model_type is `t`; false if none is.
  template <class Fn>
  static bool visit(std::string_view t, Fn&& f) {
    return ((F::model_type == t ? (f(F{}), true) : false) || ...);
  }
  /// "llama, qwen2, ...", for messages and docs.
  static std::string names() {
    std::string s;
    ((s += (s.empty() ? "" : ", ") + std::string(F::model_type)), ...);
    return s;
  }
};

/// Every decoder family load_model knows, in the order of docs/models.md's table.
using hf_families = family_list<family::Llama, family::Qwen2, family::Qwen3, family::Mistral, family::Qwen3Moe,
                                family::Gpt2>;
/// Every encoder family load_encoder knows (after the decoders in docs/models.md's table).
using hf_encoder_families = family_list<family::Bert>;
/// Every encoder-decoder family load_seq2seq knows (last in the table).
using hf_seq2seq_families = family_list<family::Marian>;

/// Calls f(F{}) for the family, decoder, encoder or encoder-decoder, whose model_type is `t`; false if none is.
template <class Fn>
bool visit_any_family(std::string_view t, Fn&& f) {
  return hf_families::visit(t, f) || hf_encoder_families::visit(t, f) || hf_seq2seq_families::visit(t, f);
}
/// Every supported model_type, decoders first: "llama, ..., bert, marian".
inline std::string all_family_names() {
  return hf_families::names() + ", " + hf_encoder_families::names() + ", " + hf_seq2seq_families::names();
}

inline HfConfig HfConfig::from_file(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) fail("cannot read config: ", path.string(), " does not exist");
  fs::path file = path;
  if (fs::is_directory(path, ec)) {
    file = path / "config.json";
    if (!fs::exists(file, ec)) fail("no config.json in model folder ", path.string());
  }
  if (!fs::is_regular_file(file, ec)) fail("cannot read config ", file.string(), ": not a regular file");
  const std::uintmax_t size = fs::file_size(file, ec);
  if (ec) fail("cannot read config ", file.string(), ": ", ec.message());
  if (size > max_file_size) fail("config ", file.string(), " is ", size, " bytes, more than the ", max_file_size, "-byte limit");
  std::ifstream in(file, std::ios::binary);
  if (!in) fail("cannot open config ", file.string());
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) fail("error reading config ", file.string());
  return from_json(s.str(), file.string());
}

inline HfConfig HfConfig::from_json(std::string_view text, std::string_view where) {
  HfConfig c;
  c.where = std::string(where);
  const nlohmann::json j = detail::parse_json(text, where, "config", 64, false);
  if (!j.is_object()) fail(where, ": config must be a JSON object, found ", detail::json_found(j));
  const detail::FieldReader r{j, where, ""};
  // model_type first: a config for some other model should say so, not complain about a missing field.
  const std::optional<std::string> mt = r.optional_string("model_type");
  if (!mt) fail(where, ": missing required field 'model_type' (a string)");
  c.model_type = *mt;
  const bool known = visit_any_family(c.model_type, [&]<class F>(F) { hf::Adapter<F>::parse(c, r); });
  if (!known) fail("unknown model_type '", c.model_type, "' in ", where, " (supported: ", all_family_names(), ")");
  return c;
}

}  // namespace tfx::io
