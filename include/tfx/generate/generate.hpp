// The generation loop: prefill the prompt in one pass, then sample and decode token by token through the
// session's KV cache, streaming text as soon as it forms whole UTF-8 characters.
#pragma once
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "tfx/generate/sampler.hpp"
#include "tfx/model/model.hpp"
#include "tfx/text/tokenizer.hpp"

namespace tfx {

struct GenerationStats {
  Index prompt_tokens = 0, generated_tokens = 0;
  double prefill_seconds = 0, decode_seconds = 0;
  bool stopped_at_eos = false;
  double prefill_tokens_per_second() const { return prefill_seconds > 0 ? prompt_tokens / prefill_seconds : 0; }
  double decode_tokens_per_second() const {
    // The first generated token comes from the prefill logits; each later one costs one decode step.
    return decode_seconds > 0 && generated_tokens > 1 ? (generated_tokens - 1) / decode_seconds : 0;
  }
};

/// Text of a growing token sequence, released in whole UTF-8 characters (a byte-level token may end inside one).
/// Each token is decoded once (byte-level decoding concatenates); special tokens and ids the tokenizer does not
/// know (models pad their vocabulary beyond the tokenizer's) produce no text, as in Hugging Face's decode.
class TextStream {
 public:
  explicit TextStream(const text::Tokenizer& tok) : tok_(tok) {}
  /// Adds a token; returns the newly completed text (possibly empty).
  std::string push(std::int32_t id) {
    if (id >= 0 && static_cast<std::size_t>(id) < tok_.vocab_size() && !tok_.is_special(id)) {
      try {
        pending_ += tok_.decode(std::span<const std::int32_t>(&id, 1));
      } catch (const error&) {  // an id inside the range that the tokenizer has no token for
      }
    }
    const std::size_t end = complete_prefix(pending_);
    std::string out = pending_.substr(0, end);
    pending_.erase(0, end);
    return out;
  }
  /// Whatever is still held back (an incomplete UTF-8 sequence at the very end), as raw bytes.
  std::string flush() { return std::exchange(pending_, {}); }

 private:
  /// Length of the longest prefix of s that does not end inside a UTF-8 sequence.
  static std::size_t complete_prefix(const std::string& s) {
    std::size_t start = s.size();  // start of the last sequence
    while (start > 0 && s.size() - start < 4 && (static_cast<unsigned char>(s[start - 1]) & 0xC0) == 0x80) --start;
    if (start == 0) return s.size() - start < 4 && !s.empty() ? 0 : s.size();
    const unsigned char lead = static_cast<unsigned char>(s[start - 1]);
    const std::size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return s.size() - (start - 1) < need ? start - 1 : s.size();
  }
  const text::Tokenizer& tok_;
  std::string pending_;
};

/// Generates up to `max_new_tokens` after `prompt`; `on_token(id)` is called for each new token (return false to
/// stop). Stops early at any id in `eos`.
template <class M>
GenerationStats generate(const M& model, typename M::session_type& session, std::span<const std::int32_t> prompt, Index max_new_tokens,
                         Sampler& sampler, std::span<const std::int64_t> eos,
                         const std::function<bool(std::int32_t)>& on_token) {
  using clock = std::chrono::steady_clock;
  TFX_CHECK(!prompt.empty(), "generate: the prompt has no tokens");
  TFX_CHECK(max_new_tokens >= 0, "generate: max_new_tokens must be >= 0");
  TFX_CHECK(session.position() + static_cast<Index>(prompt.size()) + max_new_tokens <= session.capacity() + 1,
            "generate: ", prompt.size(), " prompt tokens + ", max_new_tokens, " new tokens exceed the session's context of ",
            session.capacity());
  GenerationStats st;
  st.prompt_tokens = static_cast<Index>(prompt.size());
  std::vector<std::int32_t> history;
  history.reserve(prompt.size() + static_cast<std::size_t>(max_new_tokens));
  history.assign(prompt.begin(), prompt.end());
  std::vector<float> logits(static_cast<std::size_t>(model.dims().vocab));
  const Rows<float> row(logits.data(), 1, model.dims().vocab);

  auto t0 = clock::now();
  model.forward_to_host(session, prompt, row);
  st.prefill_seconds = std::chrono::duration<double>(clock::now() - t0).count();
  t0 = clock::now();
  for (Index i = 0; i < max_new_tokens; ++i) {
    if (i > 0) model.forward_to_host(session, std::span<const std::int32_t>(&history.back(), 1), row);
    const std::int32_t next = sampler.sample(logits, history);
    history.push_back(next);
    ++st.generated_tokens;
    if (std::find(eos.begin(), eos.end(), next) != eos.end()) {
      st.stopped_at_eos = true;
      break;
    }
    if (!on_token(next)) break;
  }
  st.decode_seconds = std::chrono::duration<double>(clock::now() - t0).count();
  return st;
}

}  // namespace tfx
