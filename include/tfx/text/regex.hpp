// A small PCRE2 wrapper for the tokenizer's pre-tokenizer patterns. Hugging Face `tokenizers`
// runs these patterns with Oniguruma; PCRE2 with UTF + UCP is the closest backtracking engine
// (same leftmost-first alternation, lookarounds, `\p{..}` classes, `(?i:..)` groups).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include "tfx/core/error.hpp"

namespace tfx::text {

/// Byte range [first, second) of a match.
using Span = std::pair<std::size_t, std::size_t>;

/// Rewrites the escapes whose meaning differs between Oniguruma (Ruby syntax, as HF compiles
/// patterns) and PCRE2 so that PCRE2 matches what Oniguruma would. The sets below were checked
/// code point by code point against HF `tokenizers` (see docs/tokenizer.md):
///   \s, \S  Oniguruma: U+0009-000D, U+0085, Zs, Zl, Zp. PCRE2's \s (and \p{Xps}) also take
///           U+180E MONGOLIAN VOWEL SEPARATOR, a format character since Unicode 6.3.
///   \w, \W  Oniguruma: letters, marks, Nd, Nl, Pc and the circled / squared letters; outside a
///           character class also U+00B2, U+00B3, U+00B9, U+00BC-00BE (its Latin-1 table).
///           PCRE2 10.42: \p{L}, \p{N} and '_'.
///   \b, \B  word boundaries by Oniguruma's \w, spelled with lookarounds.
///   \h, \H  Oniguruma: hexadecimal digit. PCRE2: horizontal space.
///   \v      Oniguruma: the vertical tab character. PCRE2: any vertical space.
///   \Q, \E  Oniguruma (Ruby syntax): the letters Q and E. PCRE2: quoting.
/// Inside a character class the negated forms (\S, \W, \H) are left to PCRE2.
inline std::string translate_oniguruma(std::string_view p) {
  constexpr std::string_view space = "\\x{09}-\\x{0D}\\x{85}\\p{Z}";
  constexpr std::string_view word_in_class =
      "\\p{L}\\p{M}\\p{Nd}\\p{Nl}\\p{Pc}\\x{24B6}-\\x{24E9}\\x{1F130}-\\x{1F149}"
      "\\x{1F150}-\\x{1F169}\\x{1F170}-\\x{1F189}";
  const std::string word = std::string(word_in_class) + "\\x{B2}\\x{B3}\\x{B9}\\x{BC}-\\x{BE}";
  const std::string w = "[" + word + "]";
  constexpr std::string_view hex = "0-9A-Fa-f";
  std::string out;
  out.reserve(p.size() + 16);
  bool in_class = false;
  std::size_t i = 0;
  auto set = [&](std::string_view body, bool negate) {
    if (in_class) {
      out += body;
    } else {
      out += negate ? "[^" : "[";
      out += body;
      out += ']';
    }
  };
  while (i < p.size()) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char d = p[i + 1];
      i += 2;
      if (d == 's') set(space, false);
      else if (d == 'S' && !in_class) set(space, true);
      else if (d == 'w') set(in_class ? std::string(word_in_class) : word, false);
      else if (d == 'W' && !in_class) set(word, true);
      else if (d == 'b' && !in_class)
        out += "(?:(?<=" + w + ")(?!" + w + ")|(?<!" + w + ")(?=" + w + "))";
      else if (d == 'B' && !in_class)
        out += "(?:(?<=" + w + ")(?=" + w + ")|(?<!" + w + ")(?!" + w + "))";
      else if (d == 'h') set(hex, false);
      else if (d == 'H' && !in_class) set(hex, true);
      else if (d == 'v') out += "\\x{0B}";
      else if (d == 'Q' || d == 'E') out += d;  // no quoting in Ruby syntax: plain letters
      else {
        out += c;
        out += d;
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      ++i;
      if (i < p.size() && p[i] == '^') out += p[i++];
      if (i < p.size() && p[i] == ']') out += p[i++];  // a leading ']' is literal
      continue;
    }
    if (in_class && c == '[' && i + 1 < p.size() && p[i + 1] == ':') {  // [:alpha:]
      const std::size_t e = p.find(":]", i + 2);
      const std::size_t stop = e == std::string_view::npos ? i + 1 : e + 2;
      out += p.substr(i, stop - i);
      i = stop;
      continue;
    }
    if (in_class && c == ']') in_class = false;
    out += c;
    ++i;
  }
  return out;
}

class Regex {
 public:
  Regex() = default;

  /// Compiles an Oniguruma-style `pattern` (UTF-8, Unicode properties on; see
  /// translate_oniguruma). `literal` matches the text as is. `where` names the pattern's
  /// origin for error messages.
  static Regex compile(std::string_view pattern, std::string_view where, bool literal = false) {
    // PCRE2_LITERAL admits PCRE2_UTF but not PCRE2_UCP (which means nothing for a literal).
    const std::uint32_t options = literal ? PCRE2_UTF | PCRE2_LITERAL : PCRE2_UTF | PCRE2_UCP;
    const std::string translated = literal ? std::string(pattern) : translate_oniguruma(pattern);
    int code = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code_8* re = pcre2_compile_8(reinterpret_cast<PCRE2_SPTR8>(translated.data()),
                                       translated.size(), options, &code, &offset, nullptr);
    if (re == nullptr)
      fail(where, ": cannot compile regex /", pattern, "/: ", message(code),
           " (at offset ", offset, " of the PCRE2 form /", translated, "/)");
    Regex r;
    r.code_.reset(re, pcre2_code_free_8);
    // JIT is only a speed-up: when it is unavailable the interpreter gives the same matches.
    r.jit_ = pcre2_jit_compile_8(re, PCRE2_JIT_COMPLETE) == 0;
    return r;
  }

  bool empty() const noexcept { return code_ == nullptr; }
  /// Whether PCRE2's JIT compiled the pattern (matches are the same either way).
  bool jit() const noexcept { return jit_; }

  /// All matches in `subject` (valid UTF-8), left to right, with the semantics of the Rust
  /// `onig` crate's find_iter used by HF: an empty match right where the previous match ended
  /// is skipped and the search resumes one character later.
  std::vector<Span> find_all(std::string_view subject) const {
    std::vector<Span> out;
    if (!code_) return out;
    std::unique_ptr<pcre2_match_data_8, decltype(&pcre2_match_data_free_8)> md(
        pcre2_match_data_create_from_pattern_8(code_.get(), nullptr), pcre2_match_data_free_8);
    if (!md) fail("regex: out of memory for match data");
    const auto* s = reinterpret_cast<PCRE2_SPTR8>(subject.data());
    std::size_t start = 0;
    bool have_last = false;
    std::size_t last_end = 0;
    while (start <= subject.size()) {
      // The subject was validated once by the caller; re-checking it on every call would make
      // the scan quadratic.
      int rc = pcre2_match_8(code_.get(), s, subject.size(), start, PCRE2_NO_UTF_CHECK, md.get(),
                             nullptr);
      if (rc == PCRE2_ERROR_JIT_STACKLIMIT)  // very long runs: retry with the interpreter
        rc = pcre2_match_8(code_.get(), s, subject.size(), start,
                           PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md.get(), nullptr);
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0) fail("regex: matching failed at byte ", start, ": ", message(rc));
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer_8(md.get());
      const std::size_t b = ov[0], e = ov[1];
      if (b == e && have_last && last_end == e) {
        if (start >= subject.size()) break;
        start += utf8_len(subject, start);
        continue;
      }
      out.emplace_back(b, e);
      have_last = true;
      last_end = e;
      start = e;
    }
    return out;
  }

 private:
  static std::size_t utf8_len(std::string_view s, std::size_t i) noexcept {
    const auto c = static_cast<unsigned char>(s[i]);
    return c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  }

  static std::string message(int code) {
    PCRE2_UCHAR8 buf[256];
    const int n = pcre2_get_error_message_8(code, buf, sizeof buf);
    if (n < 0) return "PCRE2 error " + std::to_string(code);
    return std::string(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n));
  }

  // The compiled pattern is immutable and safe to share between threads and copies.
  std::shared_ptr<pcre2_code_8> code_;
  bool jit_ = false;
};

}  // namespace tfx::text
