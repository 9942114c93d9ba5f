// tfx::text::Tokenizer: loads a Hugging Face `tokenizer.json` of the byte-level BPE kind
// (Qwen2/Qwen3, Llama-3, GPT-2 style) and encodes/decodes exactly as Hugging Face `tokenizers`:
//
//   1. added tokens that are not `normalized` are split out of the raw text (leftmost-longest,
//      honouring `single_word`, `lstrip`, `rstrip`);
//   2. the rest is normalized (NFC/NFD/NFKC/NFKD, Sequence) and split again on `normalized`
//      added tokens;
//   3. the pre-tokenizer (Sequence of Split / ByteLevel) cuts it into words, mapped byte-level;
//   4. the BPE model merges each word by merge rank (or takes it whole with `ignore_merges`);
//   5. with add_special_tokens, the post-processor's single template adds its tokens.
//
// Everything read from the file is validated; a bad file or bad input throws tfx::error whose
// message names the file and the JSON path (e.g. "tokenizer.json: model.merges[7]: ...").
#pragma once
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <utf8proc.h>

#include "tfx/core/error.hpp"
#include "tfx/text/regex.hpp"
#include "tfx/text/utf8.hpp"

namespace tfx::text {

namespace detail {

using json = nlohmann::json;

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};
/// string -> V with lookups by string_view (no temporary strings on the hot path).
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// ---------------------------------------------------------------------------------------------
// JSON access that reports what is wrong and where.

struct Reader {
  std::string where;  // file name for messages

  template <class... A>
  [[noreturn]] void bad(const std::string& path, const A&... parts) const {
    fail(where, ": ", path, ": ", parts...);
  }

  static const char* kind(const json& j) { return j.type_name(); }

  static std::string key_path(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }

  const json* find(const json& obj, const std::string& path, std::string_view key) const {
    if (!obj.is_object()) bad(path, "expected an object, got ", kind(obj));
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
  }
  const json& need(const json& obj, const std::string& path, std::string_view key) const {
    const json* j = find(obj, path, key);
    if (j == nullptr) bad(key_path(path, key), "missing");
    return *j;
  }
  std::string string(const json& j, const std::string& path) const {
    if (!j.is_string()) bad(path, "expected a string, got ", kind(j));
    return j.get<std::string>();
  }
  std::string string(const json& obj, const std::string& path, std::string_view key) const {
    return string(need(obj, path, key), key_path(path, key));
  }
  /// Optional string field: absent or null -> nullopt.
  std::optional<std::string> opt_string(const json& obj, const std::string& path,
                                        std::string_view key) const {
    const json* j = find(obj, path, key);
    if (j == nullptr || j->is_null()) return std::nullopt;
    return string(*j, key_path(path, key));
  }
  bool boolean(const json& obj, const std::string& path, std::string_view key,
               bool fallback) const {
    const json* j = find(obj, path, key);
    if (j == nullptr || j->is_null()) return fallback;
    if (!j->is_boolean()) bad(key_path(path, key), "expected true or false, got ", kind(*j));
    return j->get<bool>();
  }
  std::int32_t id(const json& j, const std::string& path) const {
    if (!j.is_number_integer()) bad(path, "expected a token id (integer), got ", kind(j));
    if (j.is_number_unsigned()) {
      const auto v = j.get<std::uint64_t>();
      if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max()))
        bad(path, "token id ", v, " does not fit in int32");
      return static_cast<std::int32_t>(v);
    }
    const auto v = j.get<std::int64_t>();
    if (v < 0 || v > std::numeric_limits<std::int32_t>::max())
      bad(path, "token id ", v, " is negative or does not fit in int32");
    return static_cast<std::int32_t>(v);
  }
  const json& array(const json& obj, const std::string& path, std::string_view key) const {
    const json& j = need(obj, path, key);
    if (!j.is_array()) bad(key_path(path, key), "expected a list, got ", kind(j));
    return j;
  }
  /// The "type" of a component; empty when absent.
  std::string type(const json& obj, const std::string& path) const {
    const json* t = find(obj, path, "type");
    return t == nullptr ? std::string() : string(*t, key_path(path, "type"));
  }
};

// ---------------------------------------------------------------------------------------------
// GPT-2's byte <-> printable character table used by ByteLevel pre-tokenizer and decoder.

struct ByteLevelTable {
  std::array<std::string, 256> byte_to_utf8;  // byte -> UTF-8 of its stand-in character
  std::array<std::int16_t, 324> char_to_byte;  // stand-in code point (< 324) -> byte, or -1

  ByteLevelTable() {
    char_to_byte.fill(-1);
    std::array<bool, 256> printable{};
    for (int b = '!'; b <= '~'; ++b) printable[b] = true;
    for (int b = 0xA1; b <= 0xAC; ++b) printable[b] = true;
    for (int b = 0xAE; b <= 0xFF; ++b) printable[b] = true;
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const auto cp = static_cast<char32_t>(printable[b] ? b : 256 + n++);
      utf8::append(byte_to_utf8[b], cp);
      char_to_byte[cp] = static_cast<std::int16_t>(b);
    }
  }
};
inline const ByteLevelTable& byte_level_table() {
  static const ByteLevelTable table;
  return table;
}

/// The GPT-2 split pattern that ByteLevel uses when `use_regex` is true.
inline constexpr std::string_view gpt2_pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// ---------------------------------------------------------------------------------------------
// Normalizer: a chain of Unicode normal forms (utf8proc).

/// Unicode general category helpers (utf8proc's tables).
inline bool is_other(char32_t c) {  // Rust char::is_other: Cc, Cf, Cs, Co, Cn
  const auto k = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return k == UTF8PROC_CATEGORY_CC || k == UTF8PROC_CATEGORY_CF || k == UTF8PROC_CATEGORY_CS ||
         k == UTF8PROC_CATEGORY_CO || k == UTF8PROC_CATEGORY_CN;
}
inline bool is_nonspacing_mark(char32_t c) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(c)) == UTF8PROC_CATEGORY_MN;
}
inline bool is_punctuation(char32_t c) {  // BERT: ASCII punctuation or a Unicode P* category
  if (c < 0x80) return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
  const auto k = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return k == UTF8PROC_CATEGORY_PC || k == UTF8PROC_CATEGORY_PD || k == UTF8PROC_CATEGORY_PS ||
         k == UTF8PROC_CATEGORY_PE || k == UTF8PROC_CATEGORY_PI || k == UTF8PROC_CATEGORY_PF ||
         k == UTF8PROC_CATEGORY_PO;
}
inline bool is_chinese_char(char32_t c) {  // the CJK blocks of the original BERT tokenizer
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/// Rust char::to_lowercase (full mapping): utf8proc's simple mapping, plus the one unconditional multi-character
/// lowercase in SpecialCasing.txt (U+0130 -> "i" U+0307).
inline void append_lowercase(std::string& out, char32_t c) {
  if (c == 0x130) {
    out += 'i';
    utf8::append(out, 0x307);
    return;
  }
  utf8::append(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
}

// ---------------------------------------------------------------------------------------------
// Normalizer: a chain of Unicode normal forms (utf8proc) and the BERT normalizer's steps.

struct Normalizer {
  enum class Kind { NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, Bert };
  struct Step {
    Kind kind = Kind::NFC;
    // Bert: HF BertNormalizer (clean_text, handle_chinese_chars, strip_accents: null follows lowercase).
    bool clean_text = true, chinese = true, strip_accents = true, lowercase = true;
  };
  std::vector<Step> steps;

  void load(const Reader& r, const json& j, const std::string& path) {
    if (j.is_null()) return;
    const std::string t = r.type(j, path);
    if (t == "Sequence") {
      const json& list = r.array(j, path, "normalizers");
      for (std::size_t i = 0; i < list.size(); ++i)
        load(r, list[i], path + ".normalizers[" + std::to_string(i) + "]");
    } else if (t == "NFC") {
      steps.push_back({Kind::NFC});
    } else if (t == "NFD") {
      steps.push_back({Kind::NFD});
    } else if (t == "NFKC") {
      steps.push_back({Kind::NFKC});
    } else if (t == "NFKD") {
      steps.push_back({Kind::NFKD});
    } else if (t == "Lowercase") {
      steps.push_back({Kind::Lowercase});
    } else if (t == "StripAccents") {
      steps.push_back({Kind::StripAccents});
    } else if (t == "BertNormalizer") {
      Step b{Kind::Bert};
      b.clean_text = r.boolean(j, path, "clean_text", true);
      b.chinese = r.boolean(j, path, "handle_chinese_chars", true);
      b.lowercase = r.boolean(j, path, "lowercase", true);
      const json* sa = r.find(j, path, "strip_accents");
      if (sa != nullptr && !sa->is_null() && !sa->is_boolean())
        r.bad(path + ".strip_accents", "expected true, false or null");
      b.strip_accents = sa != nullptr && sa->is_boolean() ? sa->get<bool>() : b.lowercase;
      steps.push_back(b);
    } else {
      r.bad(path + ".type", "normalizer type '", t,
            "' is not supported (supported: NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, BertNormalizer, "
            "Sequence, null)");
    }
  }

  bool empty() const noexcept { return steps.empty(); }

  static std::string unicode_form(const std::string& in, int options) {
    utf8proc_uint8_t* dst = nullptr;
    const utf8proc_ssize_t n =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(in.data()), static_cast<utf8proc_ssize_t>(in.size()),
                     &dst, static_cast<utf8proc_option_t>(options | UTF8PROC_STABLE));
    if (n < 0) {
      std::free(dst);
      fail("normalizer: utf8proc failed: ", utf8proc_errmsg(n));
    }
    std::string out(reinterpret_cast<const char*>(dst), static_cast<std::size_t>(n));
    std::free(dst);
    return out;
  }
  /// NFD, then drop nonspacing marks (HF strip_accents).
  static std::string strip_accents(const std::string& in) {
    const std::string d = unicode_form(in, UTF8PROC_DECOMPOSE);
    std::string out;
    out.reserve(d.size());
    for (std::size_t i = 0; i < d.size();) {
      const char32_t c = utf8::next(d, i);
      if (!is_nonspacing_mark(c)) utf8::append(out, c);
    }
    return out;
  }
  static std::string lowercase(const std::string& in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size();) append_lowercase(out, utf8::next(in, i));
    return out;
  }
  static std::string bert(std::string s, const Step& b) {
    if (b.clean_text || b.chinese) {
      std::string out;
      out.reserve(s.size());
      for (std::size_t i = 0; i < s.size();) {
        const char32_t c = utf8::next(s, i);
        if (b.clean_text) {
          // Control characters (category C*, but tab, newline and carriage return) are removed, even those that
          // are also white space (form feed, U+0085); other white space becomes a space.
          const bool keep = c == '\t' || c == '\n' || c == '\r';
          if (!keep && (c == 0 || c == 0xFFFD || is_other(c))) continue;
          if (keep || utf8::is_white_space(c)) {
            out += ' ';
            continue;
          }
        }
        if (b.chinese && is_chinese_char(c)) {
          out += ' ';
          utf8::append(out, c);
          out += ' ';
        } else {
          utf8::append(out, c);
        }
      }
      s.swap(out);
    }
    if (b.strip_accents) s = strip_accents(s);
    if (b.lowercase) s = lowercase(s);
    return s;
  }

  std::string apply(std::string_view s) const {
    std::string out(s);
    const bool ascii = std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    for (const Step& st : steps) {
      switch (st.kind) {
        // ASCII is invariant under every normal form: skip the library call.
        case Kind::NFC: if (!ascii) out = unicode_form(out, UTF8PROC_COMPOSE); break;
        case Kind::NFD: if (!ascii) out = unicode_form(out, UTF8PROC_DECOMPOSE); break;
        case Kind::NFKC: if (!ascii) out = unicode_form(out, UTF8PROC_COMPOSE | UTF8PROC_COMPAT); break;
        case Kind::NFKD: if (!ascii) out = unicode_form(out, UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT); break;
        case Kind::Lowercase: out = lowercase(out); break;
        case Kind::StripAccents: {  // HF StripAccents: drops nonspacing marks (no decomposition of its own)
          std::string o;
          for (std::size_t i = 0; i < out.size();) {
            const char32_t c = utf8::next(out, i);
            if (!is_nonspacing_mark(c)) utf8::append(o, c);
          }
          out.swap(o);
          break;
        }
        case Kind::Bert: out = bert(std::move(out), st); break;
      }
    }
    return out;
  }
};

// ---------------------------------------------------------------------------------------------
// Pre-tokenizers: each step turns the list of splits into a finer list of splits.

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

struct PreTokenizer {
  enum class Kind { Split, ByteLevel, Bert };
  Kind kind = Kind::Split;
  Regex regex;  // Split pattern, or the GPT-2 pattern for ByteLevel with use_regex
  SplitBehavior behavior = SplitBehavior::Isolated;
  bool invert = false;
  bool add_prefix_space = false;
  bool use_regex = false;

  /// HF NormalizedString::split: cut `s` by the matches of `regex` according to `behavior`.
  void split(std::string_view s, std::vector<std::string>& out) const {
    // (offsets, is_match) covering all of s, as Pattern::find_matches produces them.
    std::vector<std::pair<Span, bool>> parts;
    std::size_t prev = 0;
    for (const Span& m : regex.find_all(s)) {
      if (prev != m.first) parts.push_back({{prev, m.first}, false});
      parts.push_back({m, true});
      prev = m.second;
    }
    if (prev != s.size()) parts.push_back({{prev, s.size()}, false});
    if (invert)
      for (auto& p : parts) p.second = !p.second;

    std::vector<std::pair<Span, bool>> pieces;  // (offsets, remove)
    switch (behavior) {
      case SplitBehavior::Isolated:
        for (auto& p : parts) pieces.push_back({p.first, false});
        break;
      case SplitBehavior::Removed:
        pieces = parts;
        break;
      case SplitBehavior::Contiguous: {
        bool previous_match = false;
        for (auto& [span, is_match] : parts) {
          if (is_match == previous_match && !pieces.empty())
            pieces.back().first.second = span.second;
          else
            pieces.push_back({span, false});
          previous_match = is_match;
        }
        break;
      }
      case SplitBehavior::MergedWithPrevious: {
        bool previous_match = false;
        for (auto& [span, is_match] : parts) {
          if (is_match && !previous_match && !pieces.empty())
            pieces.back().first.second = span.second;
          else
            pieces.push_back({span, false});
          previous_match = is_match;
        }
        break;
      }
      case SplitBehavior::MergedWithNext: {
        bool previous_match = false;
        for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
          if (it->second && !previous_match && !pieces.empty())
            pieces.back().first.first = it->first.first;
          else
            pieces.push_back({it->first, false});
          previous_match = it->second;
        }
        std::reverse(pieces.begin(), pieces.end());
        break;
      }
    }
    for (auto& [span, remove] : pieces)
      if (!remove && span.second > span.first)
        out.emplace_back(s.substr(span.first, span.second - span.first));
  }

  void apply(std::vector<std::string>& splits) const {
    std::vector<std::string> out;
    out.reserve(splits.size());
    if (kind == Kind::Split) {
      for (const std::string& s : splits) split(s, out);
    } else if (kind == Kind::Bert) {
      // HF BertPreTokenizer: split on whitespace (removed), then every punctuation character on its own.
      for (const std::string& s : splits) {
        std::size_t start = 0;
        auto cut = [&](std::size_t end) {
          if (end > start) out.emplace_back(s.substr(start, end - start));
        };
        for (std::size_t i = 0; i < s.size();) {
          const std::size_t at = i;
          const char32_t c = utf8::next(s, i);
          if (utf8::is_white_space(c)) {
            cut(at);
            start = i;
          } else if (is_punctuation(c)) {
            cut(at);
            out.emplace_back(s.substr(at, i - at));
            start = i;
          }
        }
        cut(s.size());
      }
    } else {
      const ByteLevelTable& table = byte_level_table();
      std::vector<std::string> words;
      for (std::string& s : splits) {
        if (add_prefix_space && (s.empty() || s.front() != ' ')) s.insert(s.begin(), ' ');
        words.clear();
        if (use_regex)
          split(s, words);
        else
          words.push_back(std::move(s));
        for (const std::string& w : words) {
          if (w.empty()) continue;
          std::string mapped;
          mapped.reserve(w.size() * 2);
          for (char c : w) mapped += table.byte_to_utf8[static_cast<unsigned char>(c)];
          out.push_back(std::move(mapped));
        }
      }
    }
    splits.swap(out);
  }

  static void load(const Reader& r, const json& j, const std::string& path,
                   std::vector<PreTokenizer>& steps) {
    if (j.is_null()) return;
    const std::string t = r.type(j, path);
    if (t == "Sequence") {
      const json& list = r.array(j, path, "pretokenizers");
      for (std::size_t i = 0; i < list.size(); ++i)
        load(r, list[i], path + ".pretokenizers[" + std::to_string(i) + "]", steps);
      return;
    }
    PreTokenizer p;
    if (t == "Split") {
      p.kind = Kind::Split;
      const std::string pp = path + ".pattern";
      const json& pat = r.need(j, path, "pattern");
      if (const json* re = r.find(pat, pp, "Regex")) {
        p.regex = Regex::compile(r.string(*re, pp + ".Regex"), r.where + ": " + pp + ".Regex");
      } else if (const json* lit = r.find(pat, pp, "String")) {
        p.regex = Regex::compile(r.string(*lit, pp + ".String"), r.where + ": " + pp + ".String",
                                 /*literal=*/true);
      } else {
        r.bad(pp, "expected {\"Regex\": ...} or {\"String\": ...}");
      }
      const std::string b = r.string(j, path, "behavior");
      if (b == "Removed") p.behavior = SplitBehavior::Removed;
      else if (b == "Isolated") p.behavior = SplitBehavior::Isolated;
      else if (b == "MergedWithPrevious") p.behavior = SplitBehavior::MergedWithPrevious;
      else if (b == "MergedWithNext") p.behavior = SplitBehavior::MergedWithNext;
      else if (b == "Contiguous") p.behavior = SplitBehavior::Contiguous;
      else
        r.bad(path + ".behavior", "unknown split behavior '", b,
              "' (expected Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous)");
      p.invert = r.boolean(j, path, "invert", false);
    } else if (t == "ByteLevel") {
      p.kind = Kind::ByteLevel;
      p.add_prefix_space = r.boolean(j, path, "add_prefix_space", true);
      p.use_regex = r.boolean(j, path, "use_regex", true);
      if (p.use_regex) p.regex = Regex::compile(gpt2_pattern, "ByteLevel pre-tokenizer");
    } else if (t == "BertPreTokenizer") {
      p.kind = Kind::Bert;
    } else {
      r.bad(path + ".type", "pre-tokenizer type '", t,
            "' is not supported (supported: Sequence, Split, ByteLevel, BertPreTokenizer, null)");
    }
    steps.push_back(std::move(p));
  }
};

// ---------------------------------------------------------------------------------------------
// BPE model.

struct Bpe {
  StringMap<std::int32_t> vocab;
  // (left id, right id) -> (rank, merged id)
  std::unordered_map<std::uint64_t, std::pair<std::uint32_t, std::int32_t>> merges;
  std::optional<std::string> unk_token;
  std::string continuing_subword_prefix;
  std::string end_of_word_suffix;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
  std::array<std::int32_t, 256> byte_fallback_ids{};  // "<0xAB>" ids, -1 when absent

  static std::uint64_t pair_key(std::int32_t a, std::int32_t b) noexcept {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) |
           static_cast<std::uint32_t>(b);
  }

  std::optional<std::int32_t> find(std::string_view token) const {
    auto it = vocab.find(token);
    if (it == vocab.end()) return std::nullopt;
    return it->second;
  }

  /// HF BPE::merge_word + Word::merge_all: rank-ordered merges over a linked list of symbols.
  void merge_word(std::string_view w, std::vector<std::int32_t>& out) const {
    struct Symbol {
      std::int32_t id;
      std::int32_t prev;
      std::int32_t next;
      std::uint32_t len;  // bytes of the word it covers; 0 = merged away
    };
    std::vector<Symbol> syms;
    syms.reserve(w.size());
    auto add = [&](std::int32_t id, std::size_t len) {
      const auto n = static_cast<std::int32_t>(syms.size());
      if (n > 0) syms.back().next = n;
      syms.push_back({id, n - 1, -1, static_cast<std::uint32_t>(len)});
    };

    // Pending unknown token (id, bytes); plain fields keep GCC's maybe-uninitialized quiet.
    std::int32_t unk_id = -1;
    std::size_t unk_len = 0;
    std::string buf;
    std::size_t i = 0;
    while (i < w.size()) {
      const std::size_t start = i;
      utf8::next(w, i);
      const std::string_view ch = w.substr(start, i - start);
      const bool first = start == 0, last = i >= w.size();
      std::string_view s = ch;
      if ((!first && !continuing_subword_prefix.empty()) || (last && !end_of_word_suffix.empty())) {
        buf.clear();
        if (!first) buf += continuing_subword_prefix;
        buf += ch;
        if (last) buf += end_of_word_suffix;
        s = buf;
      }
      if (auto id = find(s)) {
        if (unk_id >= 0) {
          add(unk_id, unk_len);
          unk_id = -1;
        }
        add(*id, ch.size());
        continue;
      }
      if (byte_fallback) {
        bool all = true;
        for (char c : s) all = all && byte_fallback_ids[static_cast<unsigned char>(c)] >= 0;
        if (all) {
          for (char c : s) add(byte_fallback_ids[static_cast<unsigned char>(c)], 1);
          continue;
        }
      }
      if (unk_token) {
        auto uid = find(*unk_token);
        if (!uid) fail("model.unk_token '", *unk_token, "' is not in the vocabulary");
        if (unk_id >= 0 && fuse_unk) {
          unk_len += ch.size();
        } else {
          if (unk_id >= 0) add(unk_id, unk_len);
          unk_id = *uid;
          unk_len = ch.size();
        }
      }
      // Without unk_token an unknown character is dropped, as in HF.
    }
    if (unk_id >= 0) add(unk_id, unk_len);

    struct Merge {
      std::uint32_t rank;
      std::int32_t pos;
      std::int32_t new_id;
    };
    auto later = [](const Merge& a, const Merge& b) {
      return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
    };
    std::priority_queue<Merge, std::vector<Merge>, decltype(later)> queue(later);
    using RankAndId = std::pair<std::uint32_t, std::int32_t>;
    auto lookup = [&](std::int32_t a, std::int32_t b) -> const RankAndId* {
      auto it = merges.find(pair_key(a, b));
      return it == merges.end() ? nullptr : &it->second;
    };
    for (std::size_t k = 0; k + 1 < syms.size(); ++k)
      if (auto m = lookup(syms[k].id, syms[k + 1].id))
        queue.push({m->first, static_cast<std::int32_t>(k), m->second});

    const auto count = static_cast<std::int32_t>(syms.size());
    while (!queue.empty()) {
      const Merge top = queue.top();
      queue.pop();
      Symbol& cur = syms[static_cast<std::size_t>(top.pos)];
      if (cur.len == 0 || cur.next == -1) continue;
      const Symbol right = syms[static_cast<std::size_t>(cur.next)];
      // Skip stale entries: the pair changed since this merge was queued.
      auto m = lookup(cur.id, right.id);
      if (m == nullptr || m->second != top.new_id) continue;
      syms[static_cast<std::size_t>(cur.next)].len = 0;
      cur.id = top.new_id;
      cur.len += right.len;
      cur.next = right.next;
      if (right.next > -1 && right.next < count)
        syms[static_cast<std::size_t>(right.next)].prev = top.pos;
      if (cur.prev >= 0)
        if (auto pm = lookup(syms[static_cast<std::size_t>(cur.prev)].id, cur.id))
          queue.push({pm->first, cur.prev, pm->second});
      if (cur.next > -1 && cur.next < count)
        if (auto nm = lookup(cur.id, syms[static_cast<std::size_t>(cur.next)].id))
          queue.push({nm->first, top.pos, nm->second});
    }
    for (const Symbol& s : syms)
      if (s.len != 0) out.push_back(s.id);
  }
};

// ---------------------------------------------------------------------------------------------
// Added tokens and their matcher.

struct AddedToken {
  std::string content;
  std::int32_t id = 0;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool special = false;
};

/// Finds added tokens in a text like HF's Aho-Corasick matcher (MatchKind::LeftmostLongest)
/// followed by AddedVocabulary::find_matches.
struct AddedMatcher {
  std::vector<std::string> patterns;                 // content (normalized for that set)
  std::vector<const AddedToken*> tokens;             // parallel to patterns
  std::array<std::vector<std::uint32_t>, 256> by_first_byte;  // longest first

  bool empty() const noexcept { return patterns.empty(); }

  void add(std::string pattern, const AddedToken* token) {
    if (pattern.empty()) return;  // HF ignores empty added tokens
    patterns.push_back(std::move(pattern));
    tokens.push_back(token);
  }
  void finish() {
    for (std::uint32_t k = 0; k < patterns.size(); ++k)
      by_first_byte[static_cast<unsigned char>(patterns[k][0])].push_back(k);
    for (auto& bucket : by_first_byte)
      std::stable_sort(bucket.begin(), bucket.end(), [&](std::uint32_t a, std::uint32_t b) {
        return patterns[a].size() > patterns[b].size();
      });
  }

  /// Leftmost-longest, non-overlapping matches: (start, end, token).
  struct Match {
    std::size_t start, end;
    const AddedToken* token;
  };
  std::vector<Match> find_iter(std::string_view s) const {
    std::vector<Match> out;
    std::size_t i = 0;
    while (i < s.size()) {
      const auto& bucket = by_first_byte[static_cast<unsigned char>(s[i])];
      bool hit = false;
      for (std::uint32_t k : bucket) {
        const std::string& p = patterns[k];
        if (s.size() - i >= p.size() && s.compare(i, p.size(), p) == 0) {
          out.push_back({i, i + p.size(), tokens[k]});
          i += p.size();
          hit = true;
          break;
        }
      }
      if (!hit) ++i;
    }
    return out;
  }

  /// Calls emit(piece, token) for consecutive pieces covering `s`; token is nullptr for text
  /// between added tokens. Empty pieces are not emitted.
  template <class F>
  void split(std::string_view s, F&& emit) const {
    if (patterns.empty() || s.empty()) {
      if (!s.empty()) emit(s, nullptr);
      return;
    }
    std::size_t start_offset = 0;
    for (const Match& m : find_iter(s)) {
      std::size_t start = m.start, stop = m.end;
      const AddedToken& t = *m.token;
      if (t.single_word) {
        const bool start_space = start == 0 || !utf8::is_word_char(utf8::previous(s, start));
        std::size_t k = stop;
        const bool stop_space = stop == s.size() || !utf8::is_word_char(utf8::next(s, k));
        if (!start_space || !stop_space) continue;
      }
      if (t.lstrip) {
        std::size_t left = start;  // start of the whitespace run that ends at `start`
        while (left > 0) {
          std::size_t b = left - 1;
          while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
          std::size_t k = b;
          if (!utf8::is_white_space(utf8::next(s, k))) break;
          left = b;
        }
        start = std::max(left, start_offset);
      }
      if (t.rstrip) {
        while (stop < s.size()) {
          std::size_t k = stop;
          if (!utf8::is_white_space(utf8::next(s, k))) break;
          stop = k;
        }
      }
      if (start_offset < start) emit(s.substr(start_offset, start - start_offset), nullptr);
      emit(s.substr(start, stop - start), &t);
      start_offset = stop;
    }
    if (start_offset < s.size()) emit(s.substr(start_offset), nullptr);
  }
};

// ---------------------------------------------------------------------------------------------

inline constexpr std::int32_t sequence_a = -1;  // placeholders for the inputs in a template
inline constexpr std::int32_t sequence_b = -2;

/// One piece of a post-processor template: a special token id or a sequence placeholder, with its token type.
struct TemplatePiece {
  std::int32_t id = sequence_a;
  std::int32_t type_id = 0;
};

/// HF WordPiece: greedy longest match from the start of a word; continuations carry `prefix`; a word with a
/// piece that matches nothing, or longer than max_chars characters, is the unknown token.
struct WordPiece {
  std::int32_t unk = -1;
  std::string prefix = "##";
  std::size_t max_chars = 100;

  template <class Find>
  void tokenize(std::string_view word, const Find& find, std::vector<std::int32_t>& out) const {
    std::size_t chars = 0;
    for (std::size_t i = 0; i < word.size(); utf8::next(word, i)) ++chars;
    if (chars > max_chars) {
      out.push_back(unk);
      return;
    }
    const std::size_t before = out.size();
    std::string piece;
    for (std::size_t start = 0; start < word.size();) {
      std::size_t end = word.size();
      std::optional<std::int32_t> id;
      while (start < end) {
        piece.assign(start > 0 ? prefix : std::string());
        piece.append(word.substr(start, end - start));
        if ((id = find(piece))) break;
        std::size_t back = end;  // step back one whole character
        do --back;
        while (back > start && (static_cast<unsigned char>(word[back]) & 0xC0) == 0x80);
        end = back;
      }
      if (!id) {
        out.resize(before);
        out.push_back(unk);
        return;
      }
      out.push_back(*id);
      start = end;
    }
  }
};

struct TokenizerData {
  std::string where;
  Bpe model;                               // the vocabulary (and the merges of a BPE model)
  std::optional<WordPiece> wordpiece;      // set: the model is WordPiece over model.vocab
  Normalizer normalizer;
  std::vector<PreTokenizer> pre_tokenizers;
  std::vector<AddedToken> added;
  StringMap<std::int32_t> added_by_content;
  AddedMatcher raw_matcher;         // tokens with normalized == false
  AddedMatcher normalized_matcher;  // tokens with normalized == true (normalized content)
  std::vector<TemplatePiece> single_template{{sequence_a, 0}};
  std::vector<TemplatePiece> pair_template{{sequence_a, 0}, {sequence_b, 1}};
  enum class Decoder { None, ByteLevel, WordPiece } decoder = Decoder::None;
  std::string decoder_prefix = "##";
  bool decoder_cleanup = true;

  // id -> token; `known` marks ids that exist (files may leave gaps).
  std::vector<std::string> id_to_token;
  std::vector<std::uint8_t> known;
  std::vector<std::uint8_t> special;  // content is a special added token

  // Cache of BPE results for words (HF keeps 10k words shorter than 256 bytes).
  static constexpr std::size_t cache_capacity = 10000;
  static constexpr std::size_t cache_max_word = 256;
  mutable std::mutex cache_mutex;
  mutable StringMap<std::vector<std::int32_t>> cache;

  void tokenize_word(std::string_view word, std::vector<std::int32_t>& out) const {
    if (wordpiece) {
      wordpiece->tokenize(word, [&](std::string_view p) { return model.find(p); }, out);
      return;
    }
    if (model.ignore_merges) {
      if (auto id = model.find(word)) {
        out.push_back(*id);
        return;
      }
    }
    const bool cacheable = word.size() < cache_max_word;
    if (cacheable) {
      std::lock_guard<std::mutex> lock(cache_mutex);
      auto it = cache.find(word);
      if (it != cache.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    const std::size_t before = out.size();
    model.merge_word(word, out);
    if (cacheable) {
      std::lock_guard<std::mutex> lock(cache_mutex);
      if (cache.size() < cache_capacity)
        cache.emplace(std::string(word),
                      std::vector<std::int32_t>(out.begin() + static_cast<std::ptrdiff_t>(before),
                                                out.end()));
    }
  }

  void encode_piece(std::string_view text, std::vector<std::int32_t>& out) const {
    std::vector<std::string> splits{std::string(text)};
    for (const PreTokenizer& p : pre_tokenizers) p.apply(splits);
    for (const std::string& w : splits)
      if (!w.empty()) tokenize_word(w, out);
  }

  void encode(std::string_view text, std::vector<std::int32_t>& out) const {
    raw_matcher.split(text, [&](std::string_view piece, const AddedToken* tok) {
      if (tok != nullptr) {
        out.push_back(tok->id);
        return;
      }
      const std::string norm = normalizer.apply(piece);
      normalized_matcher.split(norm, [&](std::string_view p2, const AddedToken* t2) {
        if (t2 != nullptr)
          out.push_back(t2->id);
        else
          encode_piece(p2, out);
      });
    });
  }

  // --- loading -------------------------------------------------------------------------------

  void load(const json& root) {
    const Reader r{where};
    if (!root.is_object()) r.bad("(root)", "expected a JSON object, got ", Reader::kind(root));
    if (auto v = r.opt_string(root, "", "version"); v && *v != "1.0")
      r.bad("version", "unsupported tokenizer.json version '", *v, "' (expected 1.0)");
    load_model(r, r.need(root, "", "model"));
    if (const json* n = r.find(root, "", "normalizer")) normalizer.load(r, *n, "normalizer");
    if (const json* p = r.find(root, "", "pre_tokenizer"))
      PreTokenizer::load(r, *p, "pre_tokenizer", pre_tokenizers);
    if (const json* a = r.find(root, "", "added_tokens"); a && !a->is_null()) load_added(r, *a);
    build_id_table(r);
    if (const json* p = r.find(root, "", "post_processor")) load_post_processor(r, *p, "post_processor");
    if (const json* d = r.find(root, "", "decoder")) load_decoder(r, *d);
  }

  void load_model(const Reader& r, const json& m) {
    const std::string t = r.type(m, "model");
    if (!t.empty() && t != "BPE" && t != "WordPiece")
      r.bad("model.type", "model type '", t, "' is not supported (supported: BPE, WordPiece)");
    const json& vocab = r.need(m, "model", "vocab");
    if (!vocab.is_object())
      r.bad("model.vocab", "expected an object of token -> id, got ", Reader::kind(vocab));
    model.vocab.reserve(vocab.size());
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
      const json& v = it.value();
      // Fast path for the common case; r.id() builds the message for anything else.
      const std::int32_t id =
          v.is_number_unsigned() && v.get<std::uint64_t>() <= 0x7FFFFFFFu
              ? static_cast<std::int32_t>(v.get<std::uint64_t>())
              : r.id(v, "model.vocab[\"" + it.key() + "\"]");
      model.vocab.emplace(it.key(), id);
    }

    if (t == "WordPiece") {
      WordPiece w;
      const std::string unk = r.opt_string(m, "model", "unk_token").value_or("[UNK]");
      const auto uid = model.find(unk);
      if (!uid) r.bad("model.unk_token", "unk_token '", unk, "' is not in model.vocab");
      w.unk = *uid;
      w.prefix = r.opt_string(m, "model", "continuing_subword_prefix").value_or("##");
      const json* mc = r.find(m, "model", "max_input_chars_per_word");
      if (mc != nullptr && !mc->is_null()) {
        if (!mc->is_number_unsigned()) r.bad("model.max_input_chars_per_word", "expected a non-negative integer");
        w.max_chars = mc->get<std::size_t>();
      }
      wordpiece = std::move(w);
      return;
    }
    if (const json* d = r.find(m, "model", "dropout"); d && !d->is_null()) {
      if (!d->is_number()) r.bad("model.dropout", "expected a number or null");
      if (d->get<double>() != 0.0)
        r.bad("model.dropout", "BPE dropout is random and not supported (must be null or 0)");
    }
    model.unk_token = r.opt_string(m, "model", "unk_token");
    model.continuing_subword_prefix =
        r.opt_string(m, "model", "continuing_subword_prefix").value_or("");
    model.end_of_word_suffix = r.opt_string(m, "model", "end_of_word_suffix").value_or("");
    model.fuse_unk = r.boolean(m, "model", "fuse_unk", false);
    model.byte_fallback = r.boolean(m, "model", "byte_fallback", false);
    model.ignore_merges = r.boolean(m, "model", "ignore_merges", false);
    for (int b = 0; b < 256; ++b) {
      static const char* hex = "0123456789ABCDEF";
      const std::string name = std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">";
      model.byte_fallback_ids[static_cast<std::size_t>(b)] = model.find(name).value_or(-1);
    }

    const json* merges = r.find(m, "model", "merges");
    if (merges == nullptr || merges->is_null()) return;  // a BPE without merges is valid
    if (!merges->is_array()) r.bad("model.merges", "expected a list, got ", Reader::kind(*merges));
    model.merges.reserve(merges->size());
    const std::size_t prefix = model.continuing_subword_prefix.size();
    std::string merged;
    for (std::size_t i = 0; i < merges->size(); ++i) {
      const json& e = (*merges)[i];
      auto path = [i] { return "model.merges[" + std::to_string(i) + "]"; };
      std::string_view a, b;
      if (e.is_string()) {  // legacy "a b" form
        const std::string& s = e.get_ref<const std::string&>();
        const std::size_t sp = s.find(' ');
        if (sp == std::string::npos) r.bad(path(), "merge '", s, "' is not of the form \"a b\"");
        a = std::string_view(s).substr(0, sp);
        b = std::string_view(s).substr(sp + 1);
      } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
        a = e[0].get_ref<const std::string&>();
        b = e[1].get_ref<const std::string&>();
      } else {
        r.bad(path(), "expected \"a b\" or [\"a\", \"b\"], got ", e.dump());
      }
      auto ia = model.find(a), ib = model.find(b);
      if (!ia) r.bad(path(), "token '", a, "' is not in model.vocab");
      if (!ib) r.bad(path(), "token '", b, "' is not in model.vocab");
      if (b.size() < prefix)
        r.bad(path(), "token '", b, "' is shorter than continuing_subword_prefix");
      merged.assign(a);
      merged.append(b.substr(prefix));
      auto im = model.find(merged);
      if (!im) r.bad(path(), "merged token '", merged, "' is not in model.vocab");
      // Later duplicates win, as when HF collects the merges into its map.
      model.merges[Bpe::pair_key(*ia, *ib)] = {static_cast<std::uint32_t>(i), *im};
    }
  }

  void load_added(const Reader& r, const json& list) {
    if (!list.is_array()) r.bad("added_tokens", "expected a list, got ", Reader::kind(list));
    added.reserve(list.size());
    // HF does not take the ids from the file: it gives each added token, in list order, its
    // model.vocab id if it has one, else the next id after the vocabulary and earlier added
    // tokens. A file whose ids disagree would encode differently in HF than it reads, so it
    // is refused rather than guessed at.
    const auto vocab_len = static_cast<std::int64_t>(model.vocab.size());
    std::int64_t max_added = -1;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string path = "added_tokens[" + std::to_string(i) + "]";
      const json& e = list[i];
      AddedToken t;
      t.id = r.id(r.need(e, path, "id"), path + ".id");
      t.content = r.string(e, path, "content");
      t.single_word = r.boolean(e, path, "single_word", false);
      t.lstrip = r.boolean(e, path, "lstrip", false);
      t.rstrip = r.boolean(e, path, "rstrip", false);
      t.special = r.boolean(e, path, "special", false);
      t.normalized = r.boolean(e, path, "normalized", !t.special);
      if (t.content.empty()) r.bad(path + ".content", "empty added token");
      if (added_by_content.count(t.content) != 0)
        r.bad(path + ".content", "duplicate added token '", t.content, "'");
      std::int64_t hf_id = 0;
      if (auto vid = model.find(t.content))
        hf_id = *vid;
      else if (max_added < 0)
        hf_id = vocab_len;
      else
        hf_id = (max_added >= vocab_len || vocab_len == 0) ? max_added + 1 : vocab_len;
      if (hf_id != t.id)
        r.bad(path + ".id", "added token '", t.content, "' has id ", t.id,
              " but Hugging Face tokenizers gives it id ", hf_id,
              " (its model.vocab id, else the next id after model.vocab and the added tokens "
              "before it)");
      max_added = std::max(max_added, hf_id);
      added_by_content.emplace(t.content, t.id);
      added.push_back(std::move(t));
    }
    // HF builds its matchers from the special tokens first, then the others.
    for (int pass = 0; pass < 2; ++pass)
      for (const AddedToken& t : added) {
        if (t.special != (pass == 0)) continue;
        if (t.normalized)
          normalized_matcher.add(normalizer.apply(t.content), &t);
        else
          raw_matcher.add(t.content, &t);
      }
    raw_matcher.finish();
    normalized_matcher.finish();
  }

  void build_id_table(const Reader& r) {
    std::int64_t max_id = -1;
    for (const auto& [tok, id] : model.vocab) max_id = std::max<std::int64_t>(max_id, id);
    for (const AddedToken& t : added) max_id = std::max<std::int64_t>(max_id, t.id);
    const std::size_t count = model.vocab.size() + added.size();
    // Ids index a table: refuse files whose ids are mostly holes (e.g. one id near 2^31).
    if (max_id >= 0 && static_cast<std::uint64_t>(max_id) >= 2 * count + 1024)
      r.bad("model.vocab", "ids are too sparse: largest id ", max_id, " for only ", count,
            " tokens");
    const auto n = static_cast<std::size_t>(max_id + 1);
    id_to_token.assign(n, std::string());
    known.assign(n, 0);
    special.assign(n, 0);
    for (const auto& [tok, id] : model.vocab) {
      const auto k = static_cast<std::size_t>(id);
      if (known[k])
        r.bad("model.vocab[\"" + tok + "\"]", "id ", id, " is also used by '", id_to_token[k], "'");
      id_to_token[k] = tok;
      known[k] = 1;
    }
    for (std::size_t i = 0; i < added.size(); ++i) {
      const AddedToken& t = added[i];
      const auto k = static_cast<std::size_t>(t.id);
      if (known[k] && id_to_token[k] != t.content)
        r.bad("added_tokens[" + std::to_string(i) + "].id", "id ", t.id, " of '", t.content,
              "' is already used by '", id_to_token[k], "'");
      id_to_token[k] = t.content;
      known[k] = 1;
    }
    for (const AddedToken& t : added)
      if (t.special) special[static_cast<std::size_t>(t.id)] = 1;
  }

  /// Sets the single and pair templates from a post-processor (a template processor replaces them; ByteLevel only
  /// adjusts offsets; Sequence applies its processors in order).
  void load_post_processor(const Reader& r, const json& j, const std::string& path) {
    if (j.is_null()) return;
    const std::string t = r.type(j, path);
    if (t == "ByteLevel") return;
    if (t == "Sequence") {
      const json& list = r.array(j, path, "processors");
      for (std::size_t i = 0; i < list.size(); ++i)
        load_post_processor(r, list[i], path + ".processors[" + std::to_string(i) + "]");
      return;
    }
    if (t == "BertProcessing" || t == "RobertaProcessing") {
      auto token = [&](std::string_view key) {
        const json& e = r.need(j, path, key);
        const std::string p = Reader::key_path(path, key);
        if (!e.is_array() || e.size() != 2) r.bad(p, "expected [\"token\", id]");
        const std::int32_t id = r.id(e[1], p + "[1]");
        check_id(r, p + "[1]", id);
        return id;
      };
      const std::int32_t cls = token("cls"), sep = token("sep");
      single_template = {{cls, 0}, {sequence_a, 0}, {sep, 0}};
      // BERT: [CLS] A [SEP] B [SEP] with types 0 ... 0 1 ... 1; RoBERTa: <s> A </s> </s> B </s>, all type 0.
      if (t == "BertProcessing")
        pair_template = {{cls, 0}, {sequence_a, 0}, {sep, 0}, {sequence_b, 1}, {sep, 1}};
      else
        pair_template = {{cls, 0}, {sequence_a, 0}, {sep, 0}, {sep, 0}, {sequence_b, 0}, {sep, 0}};
      return;
    }
    if (t == "TemplateProcessing") {
      const std::string sp = path + ".special_tokens";
      const json& specials = r.need(j, path, "special_tokens");
      auto parse = [&](const char* key, bool pair) {
        const json& list = r.array(j, path, key);
        std::vector<TemplatePiece> tmpl;
        for (std::size_t i = 0; i < list.size(); ++i) {
          const std::string p = path + "." + key + "[" + std::to_string(i) + "]";
          const json& piece = list[i];
          auto type_id = [&](const json& o, const std::string& op) {
            const json* ti = r.find(o, op, "type_id");
            if (ti == nullptr || ti->is_null()) return std::int32_t{0};
            if (!ti->is_number_unsigned() || ti->get<std::uint64_t>() > 0xFFFF)
              r.bad(op + ".type_id", "expected a small non-negative integer");
            return static_cast<std::int32_t>(ti->get<std::uint64_t>());
          };
          if (const json* s = r.find(piece, p, "Sequence")) {
            const std::string which = r.string(*s, p + ".Sequence", "id");
            if (which != "A" && (which != "B" || !pair))
              r.bad(p + ".Sequence.id", "sequence '", which, "' cannot appear in the ", key, " template");
            tmpl.push_back({which == "A" ? sequence_a : sequence_b, type_id(*s, p + ".Sequence")});
          } else if (const json* s2 = r.find(piece, p, "SpecialToken")) {
            const std::string name = r.string(*s2, p + ".SpecialToken", "id");
            const json* entry = r.find(specials, sp, name);
            if (entry == nullptr) r.bad(sp, "no entry for '", name, "' used by ", p);
            const std::string ep = sp + "[\"" + name + "\"]";
            const json& ids = r.array(*entry, ep, "ids");
            for (std::size_t k = 0; k < ids.size(); ++k) {
              const std::int32_t id = r.id(ids[k], ep + ".ids[" + std::to_string(k) + "]");
              check_id(r, ep + ".ids[" + std::to_string(k) + "]", id);
              tmpl.push_back({id, type_id(*s2, p + ".SpecialToken")});
            }
          } else {
            r.bad(p, "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
          }
        }
        return tmpl;
      };
      single_template = parse("single", false);
      if (const json* pr = r.find(j, path, "pair"); pr != nullptr && !pr->is_null()) pair_template = parse("pair", true);
      return;
    }
    r.bad(path + ".type", "post-processor type '", t,
          "' is not supported (supported: TemplateProcessing, ByteLevel, BertProcessing, "
          "RobertaProcessing, Sequence, null)");
  }

  void check_id(const Reader& r, const std::string& path, std::int32_t id) const {
    if (static_cast<std::size_t>(id) >= known.size() || !known[static_cast<std::size_t>(id)])
      r.bad(path, "token id ", id, " is not in the vocabulary");
  }

  void load_decoder(const Reader& r, const json& d) {
    if (d.is_null()) return;
    const std::string t = r.type(d, "decoder");
    if (t == "ByteLevel") {
      decoder = Decoder::ByteLevel;
    } else if (t == "WordPiece") {
      decoder = Decoder::WordPiece;
      decoder_prefix = r.opt_string(d, "decoder", "prefix").value_or("##");
      decoder_cleanup = r.boolean(d, "decoder", "cleanup", true);
    } else {
      r.bad("decoder.type", "decoder type '", t, "' is not supported (supported: ByteLevel, WordPiece, null)");
    }
  }
};

}  // namespace detail

namespace detail {
inline std::string wordpiece_cleanup(std::string s) {
  static const std::pair<std::string_view, std::string_view> rules[] = {
      {" .", "."},   {" ?", "?"},     {" !", "!"},         {" ,", ","},    {" ' ", "'"}, {" n't", "n't"},
      {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : rules)
    for (std::size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size()) s.replace(at, from.size(), to);
  return s;
}
}  // namespace detail

/// Token ids with their token types (segment ids), as a model with token-type embeddings (BERT) takes them.
struct Encoding {
  std::vector<std::int32_t> ids;
  std::vector<std::int32_t> type_ids;
  bool truncated = false;  // tokens were cut to fit max_length
};

/// A Hugging Face tokenizer.json (byte-level BPE, or WordPiece with the BERT normalizer and pre-tokenizer) loaded
/// for encoding and decoding.
/// Copies share the immutable tables; all const methods are safe to call from several threads.
class Tokenizer {
 public:
  /// Reads and validates `tokenizer_json`; throws tfx::error naming the file on any problem.
  static Tokenizer from_file(const std::filesystem::path& tokenizer_json) {
    std::ifstream in(tokenizer_json, std::ios::binary);
    if (!in) fail("tokenizer: cannot open '", tokenizer_json.string(), "'");
    std::ostringstream buf;
    buf << in.rdbuf();
    if (in.bad()) fail("tokenizer: cannot read '", tokenizer_json.string(), "'");
    return from_json(buf.str(), tokenizer_json.string());
  }

  /// Parses tokenizer.json text; `where` names it in error messages.
  static Tokenizer from_json(std::string_view json_text,
                             std::string_view where = "tokenizer.json") {
    auto data = std::make_shared<detail::TokenizerData>();
    data->where = std::string(where);
    detail::json root;
    try {
      root = detail::json::parse(json_text.begin(), json_text.end());
    } catch (const detail::json::exception& e) {
      fail(where, ": malformed JSON: ", e.what());
    }
    data->load(root);
    Tokenizer t;
    t.d_ = std::move(data);
    return t;
  }

  /// Token ids of `utf8_text`. With add_special_tokens the post-processor's single template is
  /// applied (e.g. Llama-3 prepends <|begin_of_text|>; Qwen3 adds nothing; BERT: [CLS] text [SEP]).
  std::vector<std::int32_t> encode(std::string_view utf8_text,
                                   bool add_special_tokens = false) const {
    std::vector<std::int32_t> ids = encode_raw(utf8_text);
    if (!add_special_tokens) return ids;
    return apply_template(d_->single_template, ids, {}).ids;
  }

  /// Ids and token types (segments) of one text or a pair of texts, with the post-processor's single or pair
  /// template (BERT: [CLS] A [SEP] B [SEP], types 0 ... 0 1 ... 1). max_length > 0: if the result would be longer,
  /// the texts' tokens are cut from the end so that it fits exactly (a pair as HF's longest_first: the shorter text
  /// keeps what it can, and two long texts share the room), and `truncated` says so; a template that alone is
  /// longer than max_length is an error.
  Encoding encode_with_types(std::string_view a, std::optional<std::string_view> b = std::nullopt,
                             std::size_t max_length = 0) const {
    std::vector<std::int32_t> ia = encode_raw(a), ib;
    if (b) ib = encode_raw(*b);
    const auto& tmpl = b ? d_->pair_template : d_->single_template;
    bool cut = false;
    if (max_length > 0) {
      const std::size_t specials = static_cast<std::size_t>(std::count_if(tmpl.begin(), tmpl.end(), [](const auto& p) {
        return p.id >= 0;
      }));
      if (specials > max_length)
        fail("tokenizer: max_length ", max_length, " is shorter than the ", specials, " special tokens of the template");
      const std::size_t budget = max_length - specials;
      if (ia.size() + ib.size() > budget) {
        cut = true;
        if (!b) {
          ia.resize(budget);
        } else {  // HF's longest_first: the shorter keeps what it can; if both must give, they split the budget
          const bool swap = ia.size() > ib.size();
          std::size_t n1 = swap ? ib.size() : ia.size(), n2;
          n2 = n1 > budget ? n1 : std::max(n1, budget - n1);
          if (n1 + n2 > budget) n1 = budget / 2, n2 = n1 + budget % 2;
          if (swap) std::swap(n1, n2);
          ia.resize(std::min(ia.size(), n1));
          ib.resize(std::min(ib.size(), n2));
        }
      }
    }
    Encoding e = apply_template(tmpl, ia, ib);
    e.truncated = cut;
    return e;
  }

  /// The text of `ids`. The ByteLevel decoder gives back the exact bytes (a token cut inside a
  /// UTF-8 sequence yields a partial sequence; HF would print U+FFFD instead).
  std::string decode(std::span<const std::int32_t> ids, bool skip_special_tokens = false) const {
    const auto& d = *d_;
    const auto& table = detail::byte_level_table();
    std::string out;
    bool first = true;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const std::int32_t id = ids[i];
      check(id, "tokenizer decode: ids[" + std::to_string(i) + "]");
      const auto k = static_cast<std::size_t>(id);
      if (skip_special_tokens && d.special[k]) continue;
      const std::string& tok = d.id_to_token[k];
      if (d.decoder == detail::TokenizerData::Decoder::None) {
        if (!first) out += ' ';
        out += tok;
      } else if (d.decoder == detail::TokenizerData::Decoder::WordPiece) {
        // HF's WordPiece decoder, token by token: a continuation loses its prefix, any other token but the first
        // gains a space; then cleanup's replacements (" ." -> "." ...) on that token's text.
        std::string piece;
        if (!first && tok.rfind(d.decoder_prefix, 0) == 0)  // an empty prefix starts every token, as in HF
          piece = tok.substr(d.decoder_prefix.size());
        else
          piece = (first ? "" : " ") + tok;
        if (d.decoder_cleanup) piece = detail::wordpiece_cleanup(std::move(piece));
        out += piece;
      } else {
        // A token whose characters are all byte stand-ins becomes those bytes; any other
        // token (e.g. an added token with other characters) is copied as is, like HF.
        const std::size_t mark = out.size();
        bool mapped = true;
        for (std::size_t p = 0; p < tok.size();) {
          const char32_t c = utf8::next(tok, p);
          if (c >= table.char_to_byte.size() || table.char_to_byte[c] < 0) {
            mapped = false;
            break;
          }
          out += static_cast<char>(table.char_to_byte[c]);
        }
        if (!mapped) {
          out.resize(mark);
          out += tok;
        }
      }
      first = false;
    }
    return out;
  }

  /// Id of a token string (added tokens first, then the model vocabulary).
  std::optional<std::int32_t> token_to_id(std::string_view token) const {
    if (auto it = d_->added_by_content.find(token); it != d_->added_by_content.end())
      return it->second;
    return d_->model.find(token);
  }

  /// Token string of `id` (byte-level form, e.g. "Ġhello"); throws if there is no such id.
  std::string id_to_token(std::int32_t id) const {
    check(id, "tokenizer id_to_token");
    return d_->id_to_token[static_cast<std::size_t>(id)];
  }

  /// Largest id over the vocabulary and the added tokens, plus one.
  std::size_t vocab_size() const noexcept { return d_->id_to_token.size(); }

  /// The id of the padding token: "[PAD]" or "<pad>" if the vocabulary has one.
  std::optional<std::int32_t> pad_id() const {
    for (const char* t : {"[PAD]", "<pad>"})
      if (auto id = token_to_id(t)) return id;
    return std::nullopt;
  }

  /// Whether `id` is a special added token (skipped by decode with skip_special_tokens).
  bool is_special(std::int32_t id) const noexcept {
    return id >= 0 && static_cast<std::size_t>(id) < d_->special.size() &&
           d_->special[static_cast<std::size_t>(id)] != 0;
  }

 private:
  Tokenizer() = default;

  std::vector<std::int32_t> encode_raw(std::string_view utf8_text) const {
    if (auto bad = utf8::first_invalid(utf8_text))
      fail("tokenizer encode: invalid UTF-8 in text at byte offset ", *bad);
    std::vector<std::int32_t> ids;
    ids.reserve(utf8_text.size() / 3 + 4);
    d_->encode(utf8_text, ids);
    return ids;
  }
  static Encoding apply_template(const std::vector<detail::TemplatePiece>& tmpl, const std::vector<std::int32_t>& a,
                                 const std::vector<std::int32_t>& b) {
    Encoding e;
    for (const auto& p : tmpl) {
      const std::vector<std::int32_t>* seq = p.id == detail::sequence_a ? &a : p.id == detail::sequence_b ? &b : nullptr;
      if (seq) {
        e.ids.insert(e.ids.end(), seq->begin(), seq->end());
        e.type_ids.insert(e.type_ids.end(), seq->size(), p.type_id);
      } else {
        e.ids.push_back(p.id);
        e.type_ids.push_back(p.type_id);
      }
    }
    return e;
  }

  void check(std::int32_t id, const std::string& what) const {
    if (id < 0 || static_cast<std::size_t>(id) >= d_->id_to_token.size())
      fail(what, ": token id ", id, " is out of range (vocabulary size ", d_->id_to_token.size(),
           ")");
    if (!d_->known[static_cast<std::size_t>(id)])
      fail(what, ": token id ", id, " is not in the vocabulary (a gap in ", d_->where, ")");
  }

  std::shared_ptr<const detail::TokenizerData> d_;
};

}  // namespace tfx::text
