// JSON helpers shared by the safetensors reader and the config.json parser: parsing with limits, and
// error-message fragments. Everything here turns nlohmann-json failures into tfx::error.
#pragma once
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tfx/core/error.hpp"

namespace tfx::io::detail {

/// A short rendering of a JSON value for error messages (at most ~80 characters).
inline std::string json_brief(const nlohmann::json& j) {
  std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

/// "string \"abc\"", "number 3.5", "null": what was found, for "expected X, found Y" messages.
inline std::string json_found(const nlohmann::json& j) {
  if (j.is_null()) return "null";
  return std::string(j.type_name()) + " " + json_brief(j);
}

/// Parses `text` as JSON. `what` names the document in messages ("safetensors header", "config").
/// Rejects nesting deeper than `max_depth` (so hostile input cannot exhaust memory through depth) and, when
/// `reject_duplicate_keys`, an object with the same key twice.
inline nlohmann::json parse_json(std::string_view text, std::string_view where, std::string_view what, int max_depth,
                                 bool reject_duplicate_keys) {
  std::vector<std::set<std::string>> keys;  // one set per open object (only with reject_duplicate_keys)
  std::vector<std::string> path;            // key path of the innermost open objects, for the duplicate message
  auto callback = [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) -> bool {
    using E = nlohmann::json::parse_event_t;
    if ((ev == E::object_start || ev == E::array_start) && depth >= max_depth)
      fail(where, ": ", what, " nests deeper than ", max_depth, " levels; not a valid ", what);
    if (!reject_duplicate_keys) return true;
    if (ev == E::object_start) {
      keys.emplace_back();
    } else if (ev == E::object_end) {
      if (!keys.empty()) keys.pop_back();
    } else if (ev == E::key && !keys.empty()) {
      const std::string& k = parsed.get_ref<const std::string&>();
      if (!keys.back().insert(k).second)
        fail(where, ": ", what, " has the key '", k, "' twice", depth == 1 ? " (duplicate tensor name)" : "");
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true);
  } catch (const nlohmann::json::parse_error& e) {
    fail(where, ": malformed JSON in ", what, " at byte ", e.byte, ": ", e.what());
  } catch (const nlohmann::json::exception& e) {
    fail(where, ": cannot read ", what, ": ", e.what());
  }
}

/// A JSON integer as int64 if it is one and lies in [lo, hi]; otherwise tfx::error naming `field`.
/// Reads and parses the JSON file `path` (at most `max_bytes`), named `what` in messages, as parse_json does.
inline nlohmann::json read_json_file(const std::filesystem::path& path, std::string_view what, int max_depth,
                                     bool reject_duplicate_keys, std::uintmax_t max_bytes = 64u << 20) {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) fail("cannot read ", what, " ", path.string(), ": ", ec.message());
  if (size > max_bytes) fail(path.string(), ": ", what, " is ", size, " bytes, more than the ", max_bytes, "-byte limit");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open ", what, " ", path.string());
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) fail("error reading ", what, " ", path.string());
  return parse_json(s.str(), path.string(), what, max_depth, reject_duplicate_keys);
}

inline std::int64_t json_int(const nlohmann::json& j, std::string_view where, std::string_view field, std::int64_t lo,
                             std::int64_t hi, std::string_view expected) {
  bool ok = false;
  std::int64_t v = 0;
  if (j.is_number_unsigned()) {
    const std::uint64_t u = j.get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      v = static_cast<std::int64_t>(u);
      ok = true;
    }
  } else if (j.is_number_integer()) {
    v = j.get<std::int64_t>();
    ok = true;
  }
  if (!ok || v < lo || v > hi) fail(where, ": field ", field, ": expected ", expected, ", found ", json_found(j));
  return v;
}

/// A finite JSON number (integer or float) as double; otherwise tfx::error naming `field`.
inline double json_number(const nlohmann::json& j, std::string_view where, std::string_view field,
                          std::string_view expected = "a number") {
  if (!j.is_number()) fail(where, ": field ", field, ": expected ", expected, ", found ", json_found(j));
  const double v = j.get<double>();
  if (!std::isfinite(v)) fail(where, ": field ", field, ": expected ", expected, ", found ", json_found(j));
  return v;
}

}  // namespace tfx::io::detail
