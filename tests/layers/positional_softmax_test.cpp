#include "support/golden.hpp"
#include "tfx/layers/positional.hpp"
#include "tfx/layers/softmax.hpp"

#include <bit>
#include <cmath>
#if defined(__AVX512F__)
#include "tfx/backend/cpu/simd/softmax.hpp"
#endif

using namespace tfx;

TEMPLATE_LIST_TEST_CASE("Positional encodings match PyTorch goldens", "[positional][golden]", test::CpuPolicies) {
  cpu::Context ctx;
  for (const auto& c : test::load_golden("positional")) {
    SECTION(c.name) {
      if (c.name.rfind("sinusoidal", 0) == 0) {
        const auto n = c.param<tfx::Index>("max_len"), d = c.param<tfx::Index>("dim");
        SinusoidalPositionEncoding<TestType> enc(n, d, c.param<double>("base"));
        test::require_close(enc.table(), c["pe"], test::tol_f32, c.name);
        Matrix<float> x(2, d, 0.f);  // adding to zeros gives rows 3 and 4 of the table
        enc.forward(ctx, x.view(), 3);
        for (tfx::Index j = 0; j < d; ++j) CHECK(x(1, j) == enc.table()(4, j));
      } else if (c.name == "learned") {
        const auto table = c["table"].matrix<float>();
        auto x = c["x"].matrix<float>();
        LearnedPositionEmbedding<float, TestType>(table.view()).forward(ctx, x.view(), c.param<tfx::Index>("offset"));
        test::require_close(x, c["y"], test::tol_f32, c.name);
      } else {
        const auto slopes = alibi_slopes(c.param<int>("n_heads"));
        REQUIRE(slopes.size() == c["slopes"].data.size());
        test::require_close(slopes.data(), c["slopes"], {0, 1e-6}, c.name);
      }
    }
  }
}

TEST_CASE("Positional encodings reject bad input", "[positional][errors]") {
  cpu::Context ctx;
  Matrix<float> table(4, 3), x(2, 3);
  LearnedPositionEmbedding<float, cpu::scalar> pe(table.view());
  CHECK_THROWS_WITH(pe.forward(ctx, x.view(), 3), Catch::Contains("positions [3, 5) exceed the 4 positions"));
  CHECK_THROWS_WITH(alibi_slopes(0), Catch::Contains("n_heads must be positive"));
  CHECK_THROWS_WITH(sinusoidal_table(4, 5), Catch::Contains("even dim"));
}

TEMPLATE_LIST_TEST_CASE("Softmax matches PyTorch goldens, incl. -inf and fully masked rows", "[softmax][golden]", test::CpuPolicies) {
  cpu::Context ctx(2);
  for (const auto& c : test::load_golden("softmax")) {
    SECTION(c.name) {
      auto x = c["x"].matrix<float>();
      Softmax<TestType>(c.param<float>("temperature")).forward(ctx, x.view());
      for (float v : x.storage()) REQUIRE(std::isfinite(v));
      test::require_close(x, c["y"], test::tol_f32, c.name);
    }
  }
}

TEST_CASE("Softmax rejects a temperature that is not positive", "[softmax][errors]") {
  CHECK_THROWS_WITH(Softmax<cpu::scalar>(0.f), Catch::Contains("temperature must be a positive finite number"));
  CHECK_THROWS_AS(Softmax<cpu::scalar>(-1.f), tfx::error);
  CHECK_THROWS_AS(Softmax<cpu::scalar>(std::numeric_limits<float>::infinity()), tfx::error);
}

#if defined(__AVX512F__)
TEST_CASE("exp_nonpositive (attention's softmax) is within 1.5 ulp of exp in double precision", "[softmax][exp]") {
  // Every 997th float in (-87.33, -0] (by bit pattern: about 1.1 million, all magnitudes), and some chosen ones.
  std::vector<float> xs;
  const std::uint32_t last = std::bit_cast<std::uint32_t>(-87.33f);
  for (std::uint32_t u = std::bit_cast<std::uint32_t>(-0.f); u < last; u += 997) xs.push_back(std::bit_cast<float>(u));
  xs.insert(xs.end(), {-87.32f, -1e-30f, -0.5f * std::log(2.f), -std::log(2.f), -1.f, -10.f});
  while (xs.size() % 16) xs.push_back(-1.f);
  double worst = 0;
  float worst_x = 0;
  for (std::size_t i = 0; i < xs.size(); i += 16) {
    float e[16];
    _mm512_storeu_ps(e, cpu::vec::exp_nonpositive(_mm512_loadu_ps(xs.data() + i)));
    for (std::size_t k = 0; k < 16; ++k) {
      const double ref = std::exp(static_cast<double>(xs[i + k]));
      const auto rf = static_cast<float>(ref);
      const double ulp = std::abs(static_cast<double>(e[k]) - ref) / static_cast<double>(std::nextafter(rf, 2.f) - rf);
      if (ulp > worst) worst = ulp, worst_x = xs[i + k];
    }
  }
  INFO("worst at x = " << worst_x << " of " << xs.size() << " values");
  CHECK(worst <= 1.5);
  const float special[16] = {-std::numeric_limits<float>::infinity(), -87.33f, -100.f, std::numeric_limits<float>::quiet_NaN(), 0.f};
  float e[16];
  _mm512_storeu_ps(e, cpu::vec::exp_nonpositive(_mm512_loadu_ps(special)));
  CHECK(e[0] == 0.f);  // below the smallest normal: 0
  CHECK(e[1] == 0.f);
  CHECK(e[2] == 0.f);
  CHECK(std::isnan(e[3]));
  CHECK(e[4] == 1.f);
}
#endif
