#include "support/golden.hpp"
#include "tfx/layers/layer_norm.hpp"
#include "tfx/layers/rms_norm.hpp"

using namespace tfx;

TEMPLATE_LIST_TEST_CASE("RMSNorm (Llama and Gemma variants) matches PyTorch goldens", "[rms_norm][golden]", test::CpuPolicies) {
  cpu::Context ctx(2);
  for (const auto& c : test::load_golden("rms_norm")) {
    SECTION(c.name) {
      test::with_dtype(test::dtype_param(c), [&]<class T>(T) {
        auto x = c["x"].matrix<float>();
        const auto w = c["weight"].values<T>();
        const float eps = c.param<float>("eps");
        Matrix<float> y(x.rows(), x.cols());
        if (c.param<std::string>("variant") == "gemma") GemmaRMSNorm<T, TestType>(w, eps).forward(ctx, x.view(), y.view());
        else RMSNorm<T, TestType>(w, eps).forward(ctx, x.view(), y.view());
        test::require_close(y, c["y"], test::tol_f32, c.name);
        // in place (y aliases x) gives the same values
        if (c.param<std::string>("variant") == "llama") {
          RMSNorm<T, TestType>(w, eps).forward(ctx, x.view(), x.view());
          test::require_close(x, c["y"], test::tol_f32, c.name + " in place");
        }
      });
    }
  }
}

TEMPLATE_LIST_TEST_CASE("LayerNorm matches PyTorch goldens", "[layer_norm][golden]", test::CpuPolicies) {
  cpu::Context ctx(2);
  for (const auto& c : test::load_golden("layer_norm")) {
    SECTION(c.name) {
      const auto x = c["x"].matrix<float>();
      const auto w = c["weight"].values<float>();
      const auto b = c.has("bias") ? c["bias"].values<float>() : std::vector<float>{};
      Matrix<float> y(x.rows(), x.cols());
      LayerNorm<float, TestType>(w, b, c.param<float>("eps")).forward(ctx, x.view(), y.view());
      test::require_close(y, c["y"], test::tol_f32, c.name);
    }
  }
}

TEMPLATE_LIST_TEST_CASE("Norms reject bad shapes and parameters", "[rms_norm][layer_norm][errors]", test::CpuPolicies) {
  cpu::Context ctx;
  std::vector<float> w(4, 1.f), b3(3);
  Matrix<float> x(2, 5), y(2, 5);
  CHECK_THROWS_WITH((RMSNorm<float, TestType>(w, 1e-6f).forward(ctx, x.view(), y.view())), Catch::Contains("dim 4"));
  CHECK_THROWS_WITH((RMSNorm<float, TestType>(w, -1.f)), Catch::Contains("eps must be >= 0"));
  CHECK_THROWS_WITH((RMSNorm<float, TestType>({}, 1e-6f)), Catch::Contains("empty weight"));
  CHECK_THROWS_WITH((LayerNorm<float, TestType>(w, b3)), Catch::Contains("bias has 3 elements, weight has 4"));
}
