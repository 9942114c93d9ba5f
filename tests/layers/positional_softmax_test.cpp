#include "support/golden.hpp"
#include "tfx/layers/positional.hpp"
#include "tfx/layers/softmax.hpp"

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
