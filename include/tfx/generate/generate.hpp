// The generation loop: prefill the prompt in one pass, then sample and decode token by token through the
// session's KV cache, streaming text as soon as it forms whole UTF-8 characters.
#pragma once
#include <chrono>
#include <functional>
#include <string>
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

/// Text of a growing token sequence, released in whole UTF-8 characters (a token may end inside one).
class TextStream {
 public:
  explicit TextStream(const text::Tokenizer& tok) : tok_(tok) {}
  /// Adds a token; returns the newly completed text (possibly empty).
  std::string push(std::int32_t id) {
    ids_.push_back(id);
    const std::string all = tok_.decode(ids_, /*skip_special_tokens=*/true);
    std::size_t end = all.size();
    // Hold back an incomplete trailing UTF-8 sequence.
    std::size_t lead = end;
    while (lead > emitted_ && lead > 0 && (static_cast<unsigned char>(all[lead - 1]) & 0xC0) == 0x80) --lead;
    if (lead > emitted_ && lead > 0) {
      const unsigned char c = static_cast<unsigned char>(all[lead - 1]);
      const std::size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
      if (end - (lead - 1) < need) end = lead - 1;
    }
    if (end <= emitted_) return {};
    std::string out = all.substr(emitted_, end - emitted_);
    emitted_ = end;
    return out;
  }

 private:
  const text::Tokenizer& tok_;
  std::vector<std::int32_t> ids_;
  std::size_t emitted_ = 0;
};

/// Generates up to `max_new_tokens` after `prompt`; `on_token(id)` is called for each new token (return false to
/// stop). Stops early at any id in `eos`.
template <class M>
GenerationStats generate(const M& model, Session& session, std::span<const std::int32_t> prompt, Index max_new_tokens,
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
  std::vector<std::int32_t> history(prompt.begin(), prompt.end());
  std::vector<float> logits(static_cast<std::size_t>(model.dims().vocab));
  const Rows<float> row(logits.data(), 1, model.dims().vocab);

  auto t0 = clock::now();
  model.forward(session, prompt, row);
  st.prefill_seconds = std::chrono::duration<double>(clock::now() - t0).count();
  t0 = clock::now();
  for (Index i = 0; i < max_new_tokens; ++i) {
    if (i > 0) model.forward(session, std::span<const std::int32_t>(&history.back(), 1), row);
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
