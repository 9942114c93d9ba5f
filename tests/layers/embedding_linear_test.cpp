#include <cstring>
#include <random>

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
        // Biases are f32 whatever the weights are (1-D parameters keep their stored precision).
        const auto b = c.has("bias") ? c["bias"].values<float>() : std::vector<float>{};
        // The same weights stored [in, out] (GPT-2 Conv1D), as a column slice of a wider fused tensor: y = x . W.
        const Index out = w.rows(), in = w.cols(), pad = 3;
        Matrix<T> fused(in, pad + out + pad);
        for (Index i = 0; i < in; ++i)
          for (Index o = 0; o < out; ++o) fused(i, pad + o) = w(o, i);
        const Rows<const T> slice = fused.cview().slice_cols(pad, out);

        // Precision::fast rounds the activations of a bf16 product to bf16 where the CPU has bf16 dot products
        // (y_bf16_activations): [out, in] weights in prefill and decode, [in, out] weights in prefill only;
        // Precision::exact, and the scalar policy, never do. On a CPU with AMX-BF16 the fast prefill runs on AMX
        // tiles, and with Context::amx off on the AVX-512 kernel: both are checked.
        const bool rounds = std::is_same_v<TestType, cpu::simd<>> && cpu::gemm::available_bf16 && std::is_same_v<T, bf16>;
        struct Run {
          cpu::Precision precision;
          bool amx;
          const char* name;
        };
        for (const auto [precision, amx, name] : {Run{cpu::Precision::fast, true, " (fast)"},
                                                  Run{cpu::Precision::fast, false, " (fast, AMX off)"},
                                                  Run{cpu::Precision::exact, true, " (exact)"}}) {
          ctx.precision = precision;
          ctx.amx = amx;
          const bool fast = precision == cpu::Precision::fast && rounds;
          const std::string what = c.name + name;
          Matrix<float> y(x.rows(), w.rows());
          Linear<T, TestType>(w.view(), b).forward(ctx, x.view(), y.view());
          test::require_close(y, fast ? c["y_bf16_activations"] : c["y"], test::tol_f32, what);
          Matrix<float> yt(x.rows(), out);
          Linear<Dense<T, weight_layout::in_out>, TestType>(slice, b).forward(ctx, x.view(), yt.view());
          test::require_close(yt, fast && x.rows() > 4 ? c["y_bf16_activations"] : c["y"], test::tol_f32, what + " [in, out]");
        }
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

namespace {
/// A block-quantized format (Q8_0, Q4_0) against its golden: the quantization value for value (llama.cpp's
/// rounding, the scale's type, zero padding), both weight layouts, and the products of every path.
template <BlockQuantized Q, class Policy>
void check_quantized_golden(const std::string& layer) {
  cpu::Context ctx(2);
  for (const auto& c : test::load_golden(layer)) {
    SECTION(c.name) {
      const auto x = c["x"].matrix<float>();
      const auto w = c["weight"].matrix<float>();
      const auto b = c.has("bias") ? c["bias"].values<float>() : std::vector<float>{};
      const Index out = w.rows(), in = w.cols();
      std::vector<typename Q::value_type> q(static_cast<std::size_t>(out * Q::padded(in) / Q::code::per_unit));
      std::vector<typename Q::scale_type> d(static_cast<std::size_t>(out * Q::padded(in) / Q::block));
      const Q qw = quantize_to<Q>(Dense<float>(w.cview()), q.data(), d.data());
      CHECK(Q::bytes(out, in) == q.size() * sizeof(q[0]) + d.size() * sizeof(d[0]));
      if (c.has("q")) {
        std::vector<int> values;
        std::vector<float> scales;
        for (Index o = 0; o < out; ++o) {
          for (Index i = 0; i < qw.row_stride; ++i) values.push_back(qw.value(o, i));
          for (Index k = 0; k < qw.blocks_per_row(); ++k) scales.push_back(qw.scale(o, k));
        }
        CHECK(c["q"].values<int>() == values);
        CHECK(c["d"].values<float>() == scales);
      }
      // The [in, out] layout (GPT-2 Conv1D) quantizes to the same blocks.
      Matrix<float> wt(in, out);
      for (Index o = 0; o < out; ++o)
        for (Index i = 0; i < in; ++i) wt(i, o) = w(o, i);
      std::vector<typename Q::value_type> q2(q.size());
      std::vector<typename Q::scale_type> d2(d.size());
      quantize_to<Q>(Dense<float, weight_layout::in_out>(wt.cview()), q2.data(), d2.data());
      CHECK(q2 == q);
      CHECK(std::memcmp(d2.data(), d.data(), d.size() * sizeof(d[0])) == 0);

      // Precision::exact (and the scalar policy): f32 activations x dequantized weights. Precision::fast under
      // cpu::simd: up to 4 rows quantize the activations to int8 blocks; more go through the packed GEMM: on AMX
      // tiles in bf16 where the CPU has AMX-BF16 (Context::amx, on by default), else in int8 where it has
      // AVX512-VNNI, else in bf16 (where it has AVX512-BF16), else in f32. With AMX both paths are checked.
      constexpr bool simd = std::is_same_v<Policy, cpu::simd<>>;
      for (const auto& [precision, amx] : {std::pair{cpu::Precision::fast, true}, std::pair{cpu::Precision::fast, false},
                                          std::pair{cpu::Precision::exact, true}}) {
        ctx.precision = precision;
        ctx.amx = amx;
        const bool packed = cpu::gemm::available_f32 && x.rows() > 4;
        const bool tiles = packed && cpu::gemm::amx_active(ctx);
        const char* want = "y";
        if (simd && precision == cpu::Precision::fast)
          want = tiles ? "y_bf16_activations"
                 : !packed || cpu::gemm::available_q8 ? "y_q8_activations"
                 : cpu::gemm::available_bf16          ? "y_bf16_activations"
                                                      : "y";
        Matrix<float> y(x.rows(), out);
        Linear<Q, Policy>(qw, b).forward(ctx, x.view(), y.view());
        test::require_close(y, c[want], test::tol_f32, c.name + (amx ? " vs " : " (AMX off) vs ") + want);
      }
      ctx.amx = true;
    }
  }
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("Q8_0 weights: quantization and products match PyTorch goldens", "[linear][q8][golden]",
                        test::CpuPolicies) {
  check_quantized_golden<Q8_0, TestType>("linear_q8");
}

TEMPLATE_LIST_TEST_CASE("Q4_0 weights: quantization and products match PyTorch goldens", "[linear][q4][golden]",
                        test::CpuPolicies) {
  check_quantized_golden<Q4_0, TestType>("linear_q4");
}

TEST_CASE("Q4_0 stores its nibbles where docs/models.md says", "[linear][q4]") {
  // A row of 640 values: one super-group of 512 and a tail group of 128. Every block holds -8 (its largest
  // magnitude, so d = 1) and otherwise integers in [-8, 7], so nibble i is x[i] + 8, at the documented byte.
  const Index in = 640;
  std::vector<float> x(static_cast<std::size_t>(in));
  for (Index i = 0; i < in; ++i) x[static_cast<std::size_t>(i)] = i % 32 == 5 ? -8.f : static_cast<float>((i * 7 + i / 32) % 16 - 8);
  std::vector<std::uint8_t> q(static_cast<std::size_t>(Q4_0::padded(in) / 2));
  std::vector<f16> d(static_cast<std::size_t>(Q4_0::padded(in) / 32));
  REQUIRE(Q4_0::padded(in) == in);
  const Q4_0 w = quantize_to<Q4_0>(Dense<float>(Rows<const float>(x.data(), 1, in)), q.data(), d.data());
  for (const f16 s : d) CHECK(to_float(s) == 1.f);
  for (Index i = 0; i < in; ++i) {
    Index byte = 0;
    bool high = false;
    if (i < 512) {  // byte 64k + 4j + t: value 8k + t (low) and 8k + 4 + t (high) of block j
      const Index j = i / 32, v = i % 32;
      byte = 64 * (v / 8) + 4 * j + v % 4, high = v % 8 >= 4;
    } else {  // the tail group: byte j holds value j (low) and j + 64 (high)
      byte = 256 + (i - 512) % 64, high = i - 512 >= 64;
    }
    const int nibble = high ? q[static_cast<std::size_t>(byte)] >> 4 : q[static_cast<std::size_t>(byte)] & 0x0f;
    INFO("value " << i);
    REQUIRE(nibble == static_cast<int>(x[static_cast<std::size_t>(i)]) + 8);
    CHECK(w.at(0, i) == x[static_cast<std::size_t>(i)]);
  }
}

TEST_CASE("Vectorised activation quantization gives quantize_row_q8_0's bytes and scales exactly", "[linear][q8]") {
  // The scalar quantizer matches PyTorch's goldens value for value (above); the vector one must equal it bit for
  // bit, ties included: with amax 127 the scale is 1, so x.5 values are exact ties (half away from zero).
  std::vector<float> x = {2.5f, -2.5f, 0.5f, -0.5f, 1.5f, -1.5f, 0.49999997f, -0.49999997f, 126.5f, -126.5f, 127.f};
  std::mt19937 rng(7);
  std::normal_distribution<float> n01;
  while (x.size() < 32 * 5 + 7) x.push_back(n01(rng) * 3);  // then random blocks, a zero block and a short tail
  for (std::size_t i = 64; i < 96; ++i) x[i] = 0.f;
  const Index n = static_cast<Index>(x.size()), stride = Q8_0::padded(n);
  std::vector<std::int8_t> q_ref(static_cast<std::size_t>(stride)), q_vec(q_ref.size(), 99);
  std::vector<float> d_ref(static_cast<std::size_t>(stride / Q8_0::block)), d_vec(d_ref.size(), -1.f);
  quantize_row_q8_0(x.data(), n, stride, q_ref.data(), d_ref.data());
  cpu::gemm::quantize_activations_q8_0(x.data(), n, stride, q_vec.data(), d_vec.data());
  CHECK(std::vector<int>(q_vec.begin(), q_vec.end()) == std::vector<int>(q_ref.begin(), q_ref.end()));
  CHECK(d_vec == d_ref);
  CHECK(std::vector<int>(q_ref.begin(), q_ref.begin() + 11) == std::vector<int>{3, -3, 1, -1, 2, -2, 0, 0, 127, -127, 127});
}
