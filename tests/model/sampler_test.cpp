// Sampling follows Hugging Face's logits processors (RepetitionPenalty, Temperature, TopK, TopP, MinP).
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <map>

#include "tfx/generate/sampler.hpp"

using namespace tfx;

namespace {
/// Logits whose softmax is exactly `p` (up to a constant).
std::vector<float> logits_of(std::initializer_list<double> p) {
  std::vector<float> l;
  for (double v : p) l.push_back(static_cast<float>(std::log(v)));
  return l;
}
std::map<std::int32_t, int> histogram(const SamplerOptions& o, std::vector<float> logits, int n) {
  Sampler s(o);
  std::map<std::int32_t, int> h;
  for (int i = 0; i < n; ++i) {
    auto l = logits;
    ++h[s.sample(l, {})];
  }
  return h;
}
}  // namespace

TEST_CASE("Greedy picks the argmax; repetition penalty divides positive and multiplies negative logits", "[sampler]") {
  Sampler greedy(SamplerOptions{});
  std::vector<float> l{0.5f, 3.f, -1.f, 2.9f};
  CHECK(greedy.sample(l, {}) == 1);

  SamplerOptions o;
  o.repetition_penalty = 2.f;
  Sampler penalised(o);
  std::vector<float> p{2.f, -2.f, 1.5f};
  const std::vector<std::int32_t> history{0, 1, 0};  // a repeated token is penalised once
  CHECK(penalised.sample(p, history) == 2);         // 2 -> 1 and 1.5 stays
  CHECK(p[0] == 1.f);
  CHECK(p[1] == -4.f);
  CHECK(p[2] == 1.5f);
}

TEST_CASE("top-k, top-p and min-p keep the tokens Hugging Face keeps", "[sampler]") {
  const auto l = logits_of({0.5, 0.3, 0.15, 0.05});
  SamplerOptions o;
  o.temperature = 1.f;
  o.seed = 3;
  o.top_k = 2;
  auto h = histogram(o, l, 2000);
  CHECK(h.size() == 2);
  CHECK(h.count(0) == 1);
  CHECK(h.count(1) == 1);
  // top-p 0.75: ascending cumulative mass 0.05, 0.2, 0.5, 1.0; tokens with cumsum <= 0.25 go -> {0, 1}
  o.top_k = 0;
  o.top_p = 0.75f;
  h = histogram(o, l, 2000);
  CHECK(h.size() == 2);
  o.top_p = 0.49f;  // less than the top token's mass: only it survives
  h = histogram(o, l, 200);
  CHECK(h.size() == 1);
  CHECK(h.count(0) == 1);
  // min-p 0.4: floor 0.2 -> {0 (0.5), 1 (0.3)}
  o.top_p = 1.f;
  o.min_p = 0.4f;
  h = histogram(o, l, 2000);
  CHECK(h.size() == 2);
  CHECK(h.count(2) == 0);
}

TEST_CASE("Temperature reshapes the distribution and draws are seeded and reproducible", "[sampler]") {
  const auto l = logits_of({0.6, 0.3, 0.1});
  SamplerOptions o;
  o.temperature = 0.5f;  // p ~ p^2: 0.36, 0.09, 0.01 -> 0.783, 0.196, 0.022
  o.seed = 11;
  const auto h = histogram(o, l, 20000);
  CHECK(h.at(0) / 20000.0 == Approx(0.7826).margin(0.015));
  CHECK(h.at(1) / 20000.0 == Approx(0.1957).margin(0.015));

  auto draw = [&](std::uint64_t seed) {
    SamplerOptions s = o;
    s.temperature = 1.f;
    s.seed = seed;
    Sampler sampler(s);
    std::vector<std::int32_t> out;
    for (int i = 0; i < 64; ++i) {
      auto c = l;
      out.push_back(sampler.sample(c, {}));
    }
    return out;
  };
  CHECK(draw(5) == draw(5));
  CHECK(draw(5) != draw(6));
}

TEST_CASE("Invalid sampling options are errors", "[sampler][errors]") {
  auto bad = [](auto set) {
    SamplerOptions o;
    set(o);
    return o;
  };
  CHECK_THROWS_WITH(Sampler(bad([](auto& o) { o.temperature = -0.5f; })), Catch::Contains("temperature must be >= 0"));
  CHECK_THROWS_WITH(Sampler(bad([](auto& o) { o.top_p = 0.f; })), Catch::Contains("top-p must be in (0, 1]"));
  CHECK_THROWS_WITH(Sampler(bad([](auto& o) { o.top_p = 1.5f; })), Catch::Contains("top-p must be in (0, 1]"));
  CHECK_THROWS_WITH(Sampler(bad([](auto& o) { o.min_p = 1.f; })), Catch::Contains("min-p must be in [0, 1)"));
  CHECK_THROWS_WITH(Sampler(bad([](auto& o) { o.top_k = -1; })), Catch::Contains("top-k must be >= 0"));
  CHECK_THROWS_WITH(Sampler(bad([](auto& o) { o.repetition_penalty = 0.f; })), Catch::Contains("repetition penalty must be > 0"));
}
