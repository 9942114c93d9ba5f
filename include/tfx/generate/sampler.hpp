// Sampling the next token from logits, with Hugging Face's order of processors:
//   repetition penalty (on raw logits: divide positive, multiply negative) -> temperature -> top-k -> top-p -> min-p
// then a draw from the renormalised distribution (or argmax when temperature is 0). Seeded and reproducible.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <span>
#include <vector>

#include "tfx/core/error.hpp"

namespace tfx {

struct SamplerOptions {
  float temperature = 0.f;         // 0: greedy (argmax)
  int top_k = 0;                   // 0: off
  float top_p = 1.f;               // in (0, 1]; 1: off
  float min_p = 0.f;               // in [0, 1); 0: off
  float repetition_penalty = 1.f;  // > 0; 1: off
  std::uint64_t seed = 0;

  void validate() const {
    TFX_CHECK(std::isfinite(temperature) && temperature >= 0, "sampling: temperature must be >= 0, got ", temperature);
    TFX_CHECK(top_k >= 0, "sampling: top-k must be >= 0, got ", top_k);
    TFX_CHECK(top_p > 0 && top_p <= 1, "sampling: top-p must be in (0, 1], got ", top_p);
    TFX_CHECK(min_p >= 0 && min_p < 1, "sampling: min-p must be in [0, 1), got ", min_p);
    TFX_CHECK(std::isfinite(repetition_penalty) && repetition_penalty > 0,
              "sampling: repetition penalty must be > 0, got ", repetition_penalty);
  }
};

class Sampler {
 public:
  explicit Sampler(const SamplerOptions& o) : o_(o), rng_(o.seed) { o.validate(); }

  /// Picks the next token. `logits` is modified (penalised and scaled); `history` holds the tokens seen so far.
  std::int32_t sample(std::span<float> logits, std::span<const std::int32_t> history) {
    TFX_CHECK(!logits.empty(), "sampling: empty logits");
    if (o_.repetition_penalty != 1.f) {
      seen_.assign(logits.size(), 0);
      for (std::int32_t t : history)
        if (t >= 0 && static_cast<std::size_t>(t) < logits.size() && !seen_[static_cast<std::size_t>(t)]) {
          seen_[static_cast<std::size_t>(t)] = 1;
          float& l = logits[static_cast<std::size_t>(t)];
          l = l > 0 ? l / o_.repetition_penalty : l * o_.repetition_penalty;
        }
    }
    if (o_.temperature == 0.f)
      return static_cast<std::int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());

    // Candidates in descending logit order. Without top-k and top-p no order is needed: min-p is a threshold.
    const std::size_t v = logits.size();
    order_.resize(v);
    std::iota(order_.begin(), order_.end(), 0);
    auto logit = [&](std::int32_t t) { return logits[static_cast<std::size_t>(t)]; };
    auto by_logit = [&](std::int32_t a, std::int32_t b) { return logit(a) > logit(b) || (logit(a) == logit(b) && a < b); };
    std::size_t keep = v;
    const bool sorted = o_.top_k > 0 || o_.top_p < 1.f;
    if (o_.top_k > 0 && static_cast<std::size_t>(o_.top_k) < v) {
      // HF TopK removes scores < the k-th largest: tokens tied with it stay.
      std::nth_element(order_.begin(), order_.begin() + (o_.top_k - 1), order_.end(), by_logit);
      const float kth = logit(order_[static_cast<std::size_t>(o_.top_k - 1)]);
      keep = static_cast<std::size_t>(std::partition(order_.begin(), order_.end(), [&](std::int32_t t) { return logit(t) >= kth; }) -
                                      order_.begin());
    }
    if (sorted) std::sort(order_.begin(), order_.begin() + static_cast<std::ptrdiff_t>(keep), by_logit);
    else std::swap(order_[0], order_[static_cast<std::size_t>(std::max_element(logits.begin(), logits.end()) - logits.begin())]);

    // Softmax of logit / temperature over the candidates (f64 sums); order_[0] is the top token in every case.
    const double m = logit(order_[0]);
    probs_.resize(keep);
    double sum = 0;
    for (std::size_t i = 0; i < keep; ++i) sum += probs_[i] = std::exp((logit(order_[i]) - m) / o_.temperature);
    for (double& p : probs_) p /= sum;

    if (o_.top_p < 1.f) {  // HF TopP: drop tokens whose ascending cumulative mass is <= 1 - top_p (keep >= 1)
      double cum = 0;
      std::size_t n = keep;
      for (std::size_t i = keep; i-- > 1;) {
        cum += probs_[i];
        if (cum <= 1.0 - o_.top_p) n = i;
        else break;
      }
      keep = n;
    }
    if (o_.min_p > 0.f) {  // HF MinP: drop tokens below min_p x the top probability
      const double floor = o_.min_p * probs_[0];
      for (std::size_t i = 0; i < keep; ++i)
        if (probs_[i] < floor) probs_[i] = 0;
    }
    // Draw from the (unnormalised) remaining mass.
    double total = 0;
    for (std::size_t i = 0; i < keep; ++i) total += probs_[i];
    double u = std::uniform_real_distribution<double>(0.0, total)(rng_);
    for (std::size_t i = 0; i < keep; ++i) {
      if (probs_[i] > 0 && u < probs_[i]) return order_[i];
      u -= probs_[i];
    }
    for (std::size_t i = keep; i-- > 0;)  // rounding left u at the very end: the last token with mass
      if (probs_[i] > 0) return order_[i];
    return order_[0];
  }

 private:
  SamplerOptions o_;
  std::mt19937_64 rng_;
  std::vector<std::int32_t> order_;
  std::vector<double> probs_;
  std::vector<std::uint8_t> seen_;
};

}  // namespace tfx
