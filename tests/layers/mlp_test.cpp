#include "support/golden.hpp"
#include "tfx/layers/mlp.hpp"

using namespace tfx;

namespace {
template <class P>
Linear<float, P> linear(const Matrix<float>& w, const std::vector<float>& b) {
  return Linear<float, P>(w.view(), b);
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("MLPs (SwiGLU, GeGLU, GELU erf/tanh, ReLU) match PyTorch goldens", "[mlp][golden]", test::CpuPolicies) {
  cpu::Context ctx(2);
  for (const auto& c : test::load_golden("mlp")) {
    SECTION(c.name) {
      const auto kind = c.param<std::string>("kind");
      const auto x = c["x"].matrix<float>();
      Matrix<float> y(x.rows(), x.cols());
      auto w = [&](const std::string& n) { return c[n].matrix<float>(); };
      auto b = [&](const std::string& n) { return c.has(n) ? c[n].values<float>() : std::vector<float>{}; };
      if (kind == "swiglu" || kind == "geglu") {
        const auto gw = w("gate_weight"), uw = w("up_weight"), dw = w("down_weight");
        const auto gb = b("gate_bias"), ub = b("up_bias"), db = b("down_bias");
        auto run = [&]<class M>(M) {
          M(linear<TestType>(gw, gb), linear<TestType>(uw, ub), linear<TestType>(dw, db)).forward(ctx, x.view(), y.view());
        };
        if (kind == "swiglu") run(SwiGLU<float, TestType>{});
        else run(GeGLU<float, TestType>{});
      } else {
        const auto w1 = w("fc1_weight"), w2 = w("fc2_weight");
        const auto b1 = b("fc1_bias"), b2 = b("fc2_bias");
        auto run = [&]<class M>(M) { M(linear<TestType>(w1, b1), linear<TestType>(w2, b2)).forward(ctx, x.view(), y.view()); };
        if (kind == "gelu") run(GeluMLP<float, TestType>{});
        else if (kind == "gelu_tanh") run(GeluTanhMLP<float, TestType>{});
        else run(ReluMLP<float, TestType>{});
      }
      test::require_close(y, c["y"], test::tol_f32, c.name);
    }
  }
}

TEST_CASE("MLPs reject projections that do not fit together", "[mlp][errors]") {
  Matrix<float> a(6, 4), b(6, 4), down_bad(4, 5), fc2_bad(3, 6);
  using L = Linear<float, cpu::scalar>;
  CHECK_THROWS_WITH((SwiGLU<float, cpu::scalar>(L(a.view()), L(b.view()), L(down_bad.view()))), Catch::Contains("do not fit together"));
  CHECK_THROWS_WITH((GeluMLP<float, cpu::scalar>(L(a.view()), L(fc2_bad.view()))), Catch::Contains("do not fit together"));
}
