// Greedy and beam search for an encoder-decoder (tfx::Seq2Seq), with the semantics of Hugging Face transformers'
// generate() (5.x): the same logits processors (no_repeat_ngram_size, single-token bad_words_ids,
// forced_eos_token_id at the last position), the same beam bookkeeping (2 x num_beams candidates a step, a
// finished hypothesis scored sum(log p) / length^length_penalty, early_stopping true / false / "never" and its
// heuristic) and float32 scores added and compared as transformers does, so that random checkpoints give the
// same ids. (The log-softmax normaliser is summed in double here; PyTorch's float sum can differ in its last bit,
// which matters only for candidates tied to within one ulp.)
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <vector>

#include "tfx/io/json_util.hpp"
#include "tfx/model/seq2seq.hpp"

namespace tfx {

/// How a search ends with length_penalty and finished beams (transformers' early_stopping).
enum class early_stopping {
  heuristic,  // false: stop when no running beam can beat the worst finished one, judged at the current length
  on,         // true: stop as soon as num_beams hypotheses are finished
  never,      // "never": judge the running beams at the best length they could reach
};

struct SearchOptions {
  int num_beams = 1;                      // 1: greedy
  Index max_length = 20;                  // target tokens including the decoder start token (transformers' max_length)
  float length_penalty = 1.f;             // a finished hypothesis scores sum(log p) / generated_length^length_penalty
  early_stopping early = early_stopping::heuristic;
  int no_repeat_ngram_size = 0;           // > 0: no n-gram of this size occurs twice in a hypothesis
  std::vector<std::int32_t> bad_words{};  // tokens never generated (bad_words_ids of one token each)
  std::optional<std::int32_t> forced_eos{};  // forced at the last position (forced_eos_token_id)
  Index min_length = 0;                   // end of sequence banned while shorter (min_length, start token included)
  bool renormalize = false;               // log-softmax again after the processors (renormalize_logits)
  std::optional<std::int32_t> eos{}, decoder_start{};  // override the model's (generation_config.json's own)

  /// Sets max_length from a number of new tokens (transformers' max_new_tokens: max_length = 1 + n).
  SearchOptions& max_new_tokens(Index n) {
    TFX_CHECK(n > 0, "max_new_tokens must be positive, got ", n);
    max_length = 1 + n;
    return *this;
  }
  void validate(Index vocab) const {
    TFX_CHECK(num_beams >= 1 && num_beams <= 1024, "num_beams must be in [1, 1024], got ", num_beams);
    TFX_CHECK(max_length >= 2, "max_length must be >= 2 (the start token and one more), got ", max_length);
    TFX_CHECK(std::isfinite(length_penalty), "length_penalty must be finite");
    TFX_CHECK(no_repeat_ngram_size >= 0, "no_repeat_ngram_size must be >= 0, got ", no_repeat_ngram_size);
    TFX_CHECK(2 * static_cast<Index>(num_beams) <= vocab, "num_beams ", num_beams, " needs a vocabulary of at least ",
              2 * num_beams, " tokens (", vocab, ")");
    for (auto t : bad_words) TFX_CHECK(t >= 0 && t < vocab, "bad word id ", t, " is out of range (vocabulary ", vocab, ")");
    TFX_CHECK(!forced_eos || (*forced_eos >= 0 && *forced_eos < vocab), "forced_eos_token_id is out of range");
    TFX_CHECK(!eos || (*eos >= 0 && *eos < vocab), "eos_token_id ", eos.value_or(0), " is out of range");
    TFX_CHECK(!decoder_start || (*decoder_start >= 0 && *decoder_start < vocab), "decoder_start_token_id ",
              decoder_start.value_or(0), " is out of range");
  }
};

namespace io {
/// The search settings of a model folder's generation_config.json (absent: the defaults above). Fields read:
/// num_beams, max_length (max_new_tokens wins when both are given), min_length, length_penalty, early_stopping,
/// no_repeat_ngram_size, bad_words_ids (lists of one token; longer ones are an error), forced_eos_token_id,
/// renormalize_logits, eos_token_id (one id), decoder_start_token_id. Settings the search cannot honour are an
/// error rather than ignored: do_sample true, repetition_penalty other than 1, num_beam_groups above 1.
inline SearchOptions read_generation_config(const std::filesystem::path& dir) {
  SearchOptions o;
  const auto path = dir / "generation_config.json";
  if (!std::filesystem::exists(path)) return o;
  const std::string where = path.string();
  const nlohmann::json j = detail::read_json_file(path, "generation config", 16, false);
  if (!j.is_object()) fail(where, ": expected an object, found ", detail::json_found(j));
  auto int_field = [&](const char* k, std::int64_t lo, std::int64_t hi) -> std::optional<std::int64_t> {
    if (!j.contains(k) || j[k].is_null()) return std::nullopt;
    return detail::json_int(j[k], where, k, lo, hi, "an integer in range");
  };
  if (auto v = int_field("num_beams", 1, 1024)) o.num_beams = static_cast<int>(*v);
  if (auto v = int_field("max_length", 2, 1 << 24)) o.max_length = *v;
  if (auto v = int_field("max_new_tokens", 1, 1 << 24)) o.max_new_tokens(*v);
  if (auto v = int_field("min_length", 0, 1 << 24)) o.min_length = *v;
  if (auto v = int_field("decoder_start_token_id", 0, std::numeric_limits<std::int32_t>::max()))
    o.decoder_start = static_cast<std::int32_t>(*v);
  if (j.contains("eos_token_id") && !j["eos_token_id"].is_null()) {
    const auto& e = j["eos_token_id"];
    const auto& one = e.is_array() && e.size() == 1 ? e[0] : e;
    if (one.is_array()) fail(where, ": field eos_token_id: several end-of-sequence tokens are not supported");
    o.eos = static_cast<std::int32_t>(detail::json_int(one, where, "eos_token_id", 0, std::numeric_limits<std::int32_t>::max(), "a token id"));
  }
  auto flag = [&](const char* k) { return j.contains(k) && j[k].is_boolean() && j[k].get<bool>(); };
  o.renormalize = flag("renormalize_logits");
  if (flag("do_sample")) fail(where, ": do_sample is true; tfx searches deterministically (greedy or beams)");
  if (j.contains("repetition_penalty") && !j["repetition_penalty"].is_null() &&
      detail::json_number(j["repetition_penalty"], where, "repetition_penalty", "a number") != 1.0)
    fail(where, ": field repetition_penalty: a repetition penalty is not supported in encoder-decoder search");
  if (auto v = int_field("num_beam_groups", 1, 1 << 16); v && *v > 1)
    fail(where, ": field num_beam_groups: diverse beam search is not supported");
  if (auto v = int_field("no_repeat_ngram_size", 0, 1 << 16)) o.no_repeat_ngram_size = static_cast<int>(*v);
  if (auto v = int_field("forced_eos_token_id", 0, std::numeric_limits<std::int32_t>::max()))
    o.forced_eos = static_cast<std::int32_t>(*v);
  if (j.contains("length_penalty") && !j["length_penalty"].is_null())
    o.length_penalty = static_cast<float>(detail::json_number(j["length_penalty"], where, "length_penalty", "a number"));
  if (j.contains("early_stopping")) {
    const auto& e = j["early_stopping"];
    if (e.is_boolean()) o.early = e.get<bool>() ? early_stopping::on : early_stopping::heuristic;
    else if (e.is_string() && e.get<std::string>() == "never") o.early = early_stopping::never;
    else if (!e.is_null()) fail(where, ": field early_stopping: expected true, false or \"never\", found ", detail::json_found(e));
  }
  if (j.contains("bad_words_ids") && !j["bad_words_ids"].is_null()) {
    const auto& b = j["bad_words_ids"];
    if (!b.is_array()) fail(where, ": field bad_words_ids: expected a list of token id lists");
    for (const auto& w : b) {
      if (!w.is_array() || w.size() != 1)
        fail(where, ": field bad_words_ids: only single-token entries are supported, found ", detail::json_found(w));
      o.bad_words.push_back(static_cast<std::int32_t>(
          detail::json_int(w[0], where, "bad_words_ids", 0, std::numeric_limits<std::int32_t>::max(), "a token id")));
    }
  }
  return o;
}
}  // namespace io

namespace detail {
/// log_softmax of one row in float32 as PyTorch computes it (max and log-sum-exp subtracted from each logit).
inline void log_softmax_row(const float* x, float* out, Index n) {  // in place is fine
  const float m = *std::max_element(x, x + n);
  double sum = 0;
  for (Index i = 0; i < n; ++i) sum += std::exp(static_cast<double>(x[i]) - m);
  const float lse = static_cast<float>(std::log(sum));
  for (Index i = 0; i < n; ++i) out[i] = (x[i] - m) - lse;
}

/// The logits processors: n-gram bans, bad words, forced end of sequence at the last position (on logits for
/// greedy search, on log-probabilities for beam search, as transformers applies them).
inline void process_scores(const SearchOptions& o, std::span<const std::int32_t> seq, float* scores, Index vocab,
                           std::int32_t eos) {
  constexpr float ninf = -std::numeric_limits<float>::infinity();
  const Index len = static_cast<Index>(seq.size());
  if (len < o.min_length) scores[eos] = ninf;
  const int n = o.no_repeat_ngram_size;
  if (n > 0 && len + 1 >= n) {  // ban t if seq[-(n-1):] + t already occurs
    for (Index i = 0; i + n <= len; ++i)
      if (std::equal(seq.begin() + i, seq.begin() + i + n - 1, seq.end() - (n - 1)))
        scores[seq[static_cast<std::size_t>(i + n - 1)]] = ninf;
  }
  for (auto t : o.bad_words) scores[t] = ninf;
  if (o.forced_eos && len == o.max_length - 1) {
    std::fill(scores, scores + vocab, ninf);
    scores[*o.forced_eos] = 0.f;
  }
  if (o.renormalize) log_softmax_row(scores, scores, vocab);
}

/// Indices of the k largest values, largest first (ties: the lower index first).
inline std::vector<Index> top_k(const std::vector<float>& v, Index k) {
  std::vector<Index> idx(v.size());
  std::iota(idx.begin(), idx.end(), Index{0});
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](Index a, Index b) {
    return v[static_cast<std::size_t>(a)] > v[static_cast<std::size_t>(b)] ||
           (v[static_cast<std::size_t>(a)] == v[static_cast<std::size_t>(b)] && a < b);
  });
  idx.resize(static_cast<std::size_t>(k));
  return idx;
}
}  // namespace detail

/// The target ids for `source` (decoder start token first, end-of-sequence token last if one was generated), by
/// greedy search (num_beams 1) or beam search.
template <class M>
std::vector<std::int32_t> generate_seq2seq(const M& model, context_t<typename M::policy>& ctx,
                                           std::span<const std::int32_t> source, const SearchOptions& o) {
  const Index V = model.dims().vocab;
  o.validate(V);
  TFX_CHECK(o.max_length <= model.max_positions(), "max_length ", o.max_length, " exceeds the model's ",
            model.max_positions(), " target positions");
  const auto& info = model.seq2seq_info();
  const std::int32_t start = o.decoder_start.value_or(info.decoder_start_token_id), eos = o.eos.value_or(info.eos_token_id);
  const typename M::Memory mem = model.encode(ctx, source);
  Matrix<float> logits(1, V);
  std::vector<float> scores(static_cast<std::size_t>(V));

  if (o.num_beams == 1) {  // greedy: argmax of the processed logits until eos or max_length
    std::vector<std::int32_t> seq{start};
    auto state = model.new_state(o.max_length);
    while (static_cast<Index>(seq.size()) < o.max_length) {
      model.decode(ctx, mem, state, std::span<const std::int32_t>(&seq.back(), 1), logits.view());
      std::copy(logits.data(), logits.data() + V, scores.begin());
      detail::process_scores(o, seq, scores.data(), V, eos);
      const auto next = static_cast<std::int32_t>(std::max_element(scores.begin(), scores.end()) - scores.begin());
      seq.push_back(next);
      if (next == eos) break;
    }
    return seq;
  }

  // Beam search, as transformers' vectorized _beam_search for one input.
  constexpr float big = 1.0e9f;
  const int N = o.num_beams;
  const Index K = 2 * static_cast<Index>(N);  // candidates kept a step (one end-of-sequence token)
  struct Beam {
    std::vector<std::int32_t> seq;
    float score = 0;
  };
  std::vector<Beam> running(static_cast<std::size_t>(N), Beam{{start}, -big});
  running[0].score = 0.f;
  // Decoder states, two sets allocated once: beam b's is states[b]; a step copies each kept beam's parent state
  // into the other set (only the positions it holds), then the sets swap.
  std::vector<typename M::State> states, next_states;
  for (int b = 0; b < N; ++b) states.push_back(model.new_state(o.max_length)), next_states.push_back(model.new_state(o.max_length));
  const auto copy_state = [](typename M::State& dst, const typename M::State& src) {
    for (std::size_t l = 0; l < src.caches.size(); ++l) dst.caches[l].copy_from(src.caches[l]);
    dst.position = src.position;
  };
  struct Finished {
    std::vector<std::int32_t> seq;
    float score = -big;
    bool done = false;
  };
  std::vector<Finished> finished(static_cast<std::size_t>(N));
  bool heuristic_unsatisfied = true;
  std::vector<float> cand(static_cast<std::size_t>(N * V));
  std::vector<float> logp(static_cast<std::size_t>(V));
  const auto pen = [&](Index len) { return static_cast<float>(std::pow(static_cast<double>(len), static_cast<double>(o.length_penalty))); };
  for (Index cur_len = 1;; ++cur_len) {
    // Every beam's next-token log-probabilities (all beams hold the same start token at the first step).
    for (int b = 0; b < N; ++b) {
      Beam& beam = running[static_cast<std::size_t>(b)];
      if (cur_len == 1 && b > 0) {
        copy_state(states[static_cast<std::size_t>(b)], states[0]);
      } else {
        model.decode(ctx, mem, states[static_cast<std::size_t>(b)], std::span<const std::int32_t>(&beam.seq.back(), 1),
                     logits.view());
        detail::log_softmax_row(logits.data(), logp.data(), V);
        detail::process_scores(o, beam.seq, logp.data(), V, eos);
      }
      for (Index t = 0; t < V; ++t) cand[static_cast<std::size_t>(b * V + t)] = logp[static_cast<std::size_t>(t)] + beam.score;
    }
    const std::vector<Index> top = detail::top_k(cand, K);
    std::vector<char> hits(static_cast<std::size_t>(K));
    std::vector<float> run_scores(static_cast<std::size_t>(K));
    for (Index i = 0; i < K; ++i) {
      const auto tok = static_cast<std::int32_t>(top[static_cast<std::size_t>(i)] % V);
      hits[static_cast<std::size_t>(i)] = tok == eos || cur_len + 1 >= o.max_length;
      run_scores[static_cast<std::size_t>(i)] = cand[static_cast<std::size_t>(top[static_cast<std::size_t>(i)])] +
                                               (hits[static_cast<std::size_t>(i)] ? -big : 0.f);
    }
    auto candidate_seq = [&](Index i) {
      const Index idx = top[static_cast<std::size_t>(i)];
      std::vector<std::int32_t> s = running[static_cast<std::size_t>(idx / V)].seq;
      s.push_back(static_cast<std::int32_t>(idx % V));
      return s;
    };
    // Finished hypotheses: the best num_beams of the old ones and the top num_beams candidates that just ended.
    const bool all_done = std::all_of(finished.begin(), finished.end(), [](const Finished& f) { return f.done; });
    std::vector<float> merged(static_cast<std::size_t>(N + K));
    for (int j = 0; j < N; ++j) merged[static_cast<std::size_t>(j)] = finished[static_cast<std::size_t>(j)].score;
    for (Index i = 0; i < K; ++i) {
      float s = cand[static_cast<std::size_t>(top[static_cast<std::size_t>(i)])] / pen(cur_len);
      if (all_done && o.early == early_stopping::on) s += -big;
      if (!heuristic_unsatisfied) s += -big;
      const bool just_done = hits[static_cast<std::size_t>(i)] && i < N;
      if (!just_done) s += -big;
      merged[static_cast<std::size_t>(N + i)] = s;
    }
    std::vector<Finished> next_finished;
    for (Index m : detail::top_k(merged, N)) {
      if (m < N) {
        next_finished.push_back(finished[static_cast<std::size_t>(m)]);
      } else {
        const Index i = m - N;
        next_finished.push_back({candidate_seq(i), merged[static_cast<std::size_t>(m)], hits[static_cast<std::size_t>(i)] && i < N});
      }
    }
    finished = std::move(next_finished);
    // Running beams: the best num_beams candidates that did not end.
    std::vector<Beam> next_running;
    for (Index i : detail::top_k(run_scores, N)) {
      const Index idx = top[static_cast<std::size_t>(i)];
      copy_state(next_states[next_running.size()], states[static_cast<std::size_t>(idx / V)]);
      next_running.push_back({candidate_seq(i), run_scores[static_cast<std::size_t>(i)]});
    }
    running = std::move(next_running);
    std::swap(states, next_states);
    const Index len = cur_len + 1;
    // Can a running beam still beat the worst finished one?
    const Index best_len = o.early == early_stopping::never && o.length_penalty > 0.f ? o.max_length - 1 : len - 1;
    const float best_running = running[0].score / pen(best_len);
    float worst = big;
    for (const auto& f : finished) worst = std::min(worst, f.score);
    bool any = false;
    for (const auto& f : finished) any |= best_running > (f.done ? worst : -big);
    heuristic_unsatisfied = heuristic_unsatisfied && any;
    const bool everything_done = std::all_of(finished.begin(), finished.end(), [](const Finished& f) { return f.done; });
    const bool open = !(everything_done && o.early == early_stopping::on);
    const bool continuable = !std::all_of(hits.begin(), hits.end(), [](char h) { return h != 0; });
    if (!(heuristic_unsatisfied && open && continuable)) break;
  }
  return finished[0].seq;
}

}  // namespace tfx
