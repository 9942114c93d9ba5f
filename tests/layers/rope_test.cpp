#include "support/golden.hpp"
#include "tfx/layers/rotary_embedding.hpp"

using namespace tfx;

namespace {
RopeConfig rope_config(const test::Case& c) {
  RopeConfig r;
  r.head_dim = c.param<int>("head_dim");
  r.partial_rotary_factor = c.param<double>("partial_rotary_factor");
  r.rope_theta = c.param<double>("rope_theta");
  r.max_position_embeddings = c.param<int>("max_position_embeddings");
  const auto& s = c.params.at("scaling");
  const auto type = s.at("rope_type").get<std::string>();
  r.scaling.type = type == "linear" ? rope_type::linear
                   : type == "dynamic" ? rope_type::dynamic
                   : type == "yarn" ? rope_type::yarn
                   : type == "llama3" ? rope_type::llama3
                                      : rope_type::default_;
  auto get = [&](const char* k, double& v) {
    if (s.contains(k)) v = s.at(k).get<double>();
  };
  get("factor", r.scaling.factor);
  get("original_max_position_embeddings", r.scaling.original_max_position_embeddings);
  get("low_freq_factor", r.scaling.low_freq_factor);
  get("high_freq_factor", r.scaling.high_freq_factor);
  get("beta_fast", r.scaling.beta_fast);
  get("beta_slow", r.scaling.beta_slow);
  if (s.contains("truncate")) r.scaling.truncate = s.at("truncate").get<bool>();
  return r;
}

template <class Layout, class P>
void check_case(const test::Case& c) {
  cpu::Context ctx(2);
  const RotaryEmbedding<Layout, P> rope(rope_config(c));
  const auto positions = c["positions"].values<std::int64_t>();
  std::int64_t max_pos = 0;
  for (auto p : positions) max_pos = std::max(max_pos, p);
  const auto f = rope.frequencies(max_pos + 1);
  REQUIRE(f.inv_freq.size() == c["inv_freq"].data.size());
  test::require_close(f.inv_freq.data(), c["inv_freq"], {0, 2e-6}, c.name + " inv_freq");
  CHECK(f.attention_scaling == Approx(c.param<double>("attention_scaling")).epsilon(1e-6));
  auto x = c["x"].matrix<float>();
  rope.apply(ctx, x.view(), c.param<int>("n_heads"), positions);
  // Angles of up to 1e5 rad are rounded to f32 as in Hugging Face, so large positions get a wider atol.
  const double atol = max_pos > 10000 ? 2e-2 : max_pos > 1000 ? 2e-3 : 2e-5;
  test::require_close(x, c["y"], {atol, 2e-5}, c.name);
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("RotaryEmbedding matches Hugging Face for every layout and scaling", "[rope][golden]", test::CpuPolicies) {
  for (const auto& c : test::load_golden("rope")) {
    SECTION(c.name) {
      if (c.param<std::string>("layout") == "interleaved") check_case<rope::interleaved, TestType>(c);
      else check_case<rope::half_split, TestType>(c);
    }
  }
}

TEST_CASE("The two RoPE layouts are distinct types and give different results", "[rope]") {
  STATIC_REQUIRE(RotaryEmbedding<rope::half_split, cpu::scalar>::layout == rope_layout::half_split);
  STATIC_REQUIRE(RotaryEmbedding<rope::interleaved, cpu::scalar>::layout == rope_layout::interleaved);
  STATIC_REQUIRE(!std::is_same_v<RotaryEmbedding<rope::half_split>, RotaryEmbedding<rope::interleaved>>);
  cpu::Context ctx;
  RopeConfig cfg;
  cfg.head_dim = 4;
  Matrix<float> a(1, 4, 1.f), b(1, 4, 1.f);
  const std::vector<std::int64_t> pos{3};
  RotaryEmbedding<rope::half_split, cpu::scalar>(cfg).apply(ctx, a.view(), 1, pos);
  RotaryEmbedding<rope::interleaved, cpu::scalar>(cfg).apply(ctx, b.view(), 1, pos);
  CHECK(a(0, 1) != Approx(b(0, 1)));
}

TEST_CASE("RotaryEmbedding rejects bad configurations and inputs", "[rope][errors]") {
  cpu::Context ctx;
  RopeConfig cfg;
  cfg.head_dim = 7;
  CHECK_THROWS_WITH((RotaryEmbedding<rope::half_split, cpu::scalar>(cfg)), Catch::Contains("must be even"));
  cfg.head_dim = 8;
  cfg.partial_rotary_factor = 0.25;  // 2 dims: fine
  CHECK_NOTHROW((RotaryEmbedding<rope::half_split, cpu::scalar>(cfg)));
  cfg.partial_rotary_factor = 1.5;
  CHECK_THROWS_WITH((RotaryEmbedding<rope::half_split, cpu::scalar>(cfg)), Catch::Contains("partial_rotary_factor"));
  cfg.partial_rotary_factor = 1;
  cfg.scaling.type = rope_type::linear;
  cfg.scaling.factor = 0.5;
  CHECK_THROWS_WITH((RotaryEmbedding<rope::half_split, cpu::scalar>(cfg)), Catch::Contains("factor must be >= 1"));
  cfg.scaling = {};
  RotaryEmbedding<rope::half_split, cpu::scalar> rope(cfg);
  Matrix<float> x(2, 16);
  const std::vector<std::int64_t> one{0}, neg{0, -1}, ok{0, 1};
  CHECK_THROWS_WITH(rope.apply(ctx, x.view(), 2, one), Catch::Contains("1 positions for 2 rows"));
  CHECK_THROWS_WITH(rope.apply(ctx, x.view(), 2, neg), Catch::Contains("negative position -1"));
  CHECK_THROWS_WITH(rope.apply(ctx, x.view(), 3, ok), Catch::Contains("expected heads (3) x head_dim (8)"));
}
