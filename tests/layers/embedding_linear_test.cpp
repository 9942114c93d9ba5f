#include "support/golden.hpp"
#include "tfx/layers/embedding.hpp"
#include "tfx/layers/linear.hpp"

using namespace tfx;

TEMPLATE_LIST_TEST_CASE("Embedding matches PyTorch goldens", "[embedding][golden]", test::CpuPolicies) {
  cpu::Context ctx(2);
  for (const auto& c : test::load_golden("embedding")) {
    SECTION(c.name) {
      test::with_dtype(test::dtype_param(c), [&]<class T>(T) {
        const auto table = c["weight"].matrix<T>();
        const auto ids = c["ids"].values<std::int32_t>();
        Matrix<float> out(static_cast<tfx::Index>(ids.size()), table.cols());
        Embedding<T, TestType>(table.view()).forward(ctx, ids, out.view());
        test::require_close(out, c["out"], test::tol_f32, c.name);
      });
    }
  }
}

TEMPLATE_LIST_TEST_CASE("Embedding rejects bad token ids and shapes", "[embedding][errors]", test::CpuPolicies) {
  cpu::Context ctx;
  Matrix<float> table(5, 3, 1.f), out(2, 3);
  Embedding<float, TestType> emb(table.view());
  const std::vector<std::int32_t> too_big{1, 5}, negative{-1, 0}, ok{0, 4};
  CHECK_THROWS_WITH(emb.forward(ctx, too_big, out.view()), Catch::Contains("token id 5 at index 1") &&
                                                               Catch::Contains("vocabulary of 5"));
  CHECK_THROWS_AS(emb.forward(ctx, negative, out.view()), tfx::error);
  Matrix<float> wrong(3, 3);
  CHECK_THROWS_WITH(emb.forward(ctx, ok, wrong.view()), Catch::Contains("expected [2, 3]"));
  CHECK_NOTHROW(emb.forward(ctx, ok, out.view()));
}

TEMPLATE_LIST_TEST_CASE("Linear matches PyTorch goldens for f32, bf16 and f16 weights", "[linear][golden]", test::CpuPolicies) {
  cpu::Context ctx(2);
  for (const auto& c : test::load_golden("linear")) {
    SECTION(c.name) {
      test::with_dtype(test::dtype_param(c), [&]<class T>(T) {
        const auto x = c["x"].matrix<float>();
        const auto w = c["weight"].matrix<T>();
        const auto b = c.has("bias") ? c["bias"].values<T>() : std::vector<T>{};
        Matrix<float> y(x.rows(), w.rows());
        Linear<T, TestType>(w.view(), b).forward(ctx, x.view(), y.view());
        test::require_close(y, c["y"], test::tol_f32, c.name);
      });
    }
  }
}

TEMPLATE_LIST_TEST_CASE("Linear rejects mismatched shapes", "[linear][errors]", test::CpuPolicies) {
  cpu::Context ctx;
  Matrix<float> w(4, 3), x(2, 5), y(2, 4);
  std::vector<float> bias(3);
  CHECK_THROWS_WITH((Linear<float, TestType>(w.view(), bias)), Catch::Contains("bias has 3 elements, expected 4"));
  Linear<float, TestType> lin(w.view());
  CHECK_THROWS_WITH(lin.forward(ctx, x.view(), y.view()), Catch::Contains("input has 5 features, expected 3"));
  Matrix<float> x_ok(2, 3), y_bad(3, 4);
  CHECK_THROWS_WITH(lin.forward(ctx, x_ok.view(), y_bad.view()), Catch::Contains("expected [2, 4]"));
}
