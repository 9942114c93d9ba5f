#include "support/golden.hpp"
#include "tfx/layers/kv_cache.hpp"
#include "tfx/layers/scaled_dot_product_attention.hpp"

using namespace tfx;

TEMPLATE_LIST_TEST_CASE("ScaledDotProductAttention matches PyTorch goldens", "[sdpa][golden]", test::CpuPolicies) {
  cpu::Context ctx(2);
  for (const auto& c : test::load_golden("sdpa")) {
    SECTION(c.name) {
      SdpaOptions o;
      o.heads = c.param<int>("n_heads");
      o.kv_heads = c.param<int>("n_kv_heads");
      o.head_dim = c.param<int>("head_dim");
      if (!c.param<bool>("default_scale")) o.scale = c.param<float>("scale");
      o.causal = c.param<bool>("causal");
      o.sliding_window = c.param<tfx::Index>("sliding_window");
      const ScaledDotProductAttention<TestType> sdpa(o);
      CHECK(sdpa.scale() == Approx(c.param<double>("scale")));

      const auto q = c["q"].matrix<float>();
      const auto k = c["k"].values<float>(), v = c["v"].values<float>();
      const tfx::Index q_len = c.param<tfx::Index>("q_len"), kv_len = c.param<tfx::Index>("kv_len");
      const KvView kv{k.data(), v.data(), kv_len, kv_len * o.head_dim, o.kv_heads, o.head_dim};
      const auto mask = c.has("mask") ? c["mask"].matrix<float>() : Matrix<float>();
      const auto padding = c.has("key_padding") ? c["key_padding"].values<std::uint8_t>() : std::vector<std::uint8_t>{};
      const auto slopes = c.has("alibi_slopes") ? c["alibi_slopes"].values<float>() : std::vector<float>{};
      std::vector<float> weights(static_cast<std::size_t>(o.heads * q_len * kv_len)), entropy(static_cast<std::size_t>(o.heads * q_len));
      SdpaExtras x;
      x.q_offset = c.param<tfx::Index>("q_offset");
      if (c.has("mask")) x.mask = mask.view();
      x.key_padding = padding;
      x.alibi_slopes = slopes;
      Matrix<float> out(q_len, static_cast<tfx::Index>(o.heads) * o.head_dim, -1.f);
      if (c.has("weights")) {  // weights and entropy requested: the kernel that materialises every score row
        x.weights = weights.data();
        x.entropy = entropy.data();
        sdpa.forward(ctx, q.view(), kv, out.view(), x);
        test::require_close(out, c["out"], test::tol_f32, c.name + " out");
        test::require_close(weights.data(), c["weights"], test::tol_f32, c.name + " weights");
        test::require_close(entropy.data(), c["entropy"], test::tol_f32, c.name + " entropy");
        x.weights = nullptr;
        x.entropy = nullptr;
      }
      // Output only: cpu::simd takes its tiled online-softmax kernel from 8 query rows on, and below that its
      // decode kernel when head_dim is a multiple of 16.
      Matrix<float> out2(q_len, static_cast<tfx::Index>(o.heads) * o.head_dim, -1.f);
      sdpa.forward(ctx, q.view(), kv, out2.view(), x);
      test::require_close(out2, c["out"], test::tol_f32, c.name + " out (output only)");
      // Other thread counts: with fewer (kv head, query row) items than threads the decode kernel splits each
      // item's keys into parts and merges their softmaxes (poisoned first, as below). The decode_*split* cases
      // are sized for 2-4 parts of at least decode_min_part keys.
#if defined(__AVX512F__)
      static_assert(cpu::decode_min_part <= 1100 / 4, "decode_mqa_split_* no longer split in 4 parts");
#endif
      for (const int threads : {1, 3, 4}) {
        cpu::Context other(threads);
        std::fill(out2.data(), out2.data() + out2.rows() * out2.cols(), std::numeric_limits<float>::quiet_NaN());
        sdpa.forward(other, q.view(), kv, out2.view(), x);
        test::require_close(out2, c["out"], test::tol_f32, c.name + " out, " + std::to_string(threads) + " threads");
      }

      // Keys and values stored as bf16 / f16 (KvCache's narrow types): the kernels read them as stored. Both the
      // row kernel (weights requested) and the tiled or decode one (output only), under Precision::exact.
      ctx.precision = cpu::Precision::exact;
      for (const char* kvt : {"bf16", "f16"}) {
        if (!c.has(std::string("out_kv_") + kvt)) continue;
        test::with_dtype(kvt, [&]<class T>(T) {
          std::vector<T> k16, v16;
          for (const float e : k) k16.push_back(from_float<T>(e));
          for (const float e : v) v16.push_back(from_float<T>(e));
          const KvView kv16{k16.data(), v16.data(), kv_len, kv_len * o.head_dim, o.kv_heads, o.head_dim, dtype_of<T>()};
          const std::string what = c.name + " out, " + kvt + " K/V";
          SdpaExtras xw = x;
          xw.weights = weights.data();
          sdpa.forward(ctx, q.view(), kv16, out2.view(), xw);
          test::require_close(out2, c[std::string("out_kv_") + kvt], test::tol_f32, what + " (rows)");
          sdpa.forward(ctx, q.view(), kv16, out2.view(), x);
          test::require_close(out2, c[std::string("out_kv_") + kvt], test::tol_f32, what);
        });
      }
      // A bf16 cache under Precision::fast: the tiled kernel (cpu::simd with AVX512-BF16, 8 or more query rows)
      // multiplies bf16 operands (the scaled Q, K, P per tile, V) with f32 softmax and accumulation, against
      // PyTorch with the same roundings; P is rounded against the running maximum rather than the final one,
      // hence a tolerance (2e-3; passes at 1e-3, and swapping a V pair fails it). Elsewhere the exact f32 result.
      ctx.precision = cpu::Precision::fast;
      if (c.has("out_bf16_attention")) {
        std::vector<bf16> k16, v16;
        for (const float e : k) k16.push_back(to_bf16(e));
        for (const float e : v) v16.push_back(to_bf16(e));
        const KvView kv16{k16.data(), v16.data(), kv_len, kv_len * o.head_dim, o.kv_heads, o.head_dim, dtype::bf16};
        // On a CPU with AMX-BF16 (head_dim a multiple of 32) the tiled kernel runs on AMX tiles, and with
        // Context::amx off on AVX512-BF16: both are checked.
        for (const bool amx : {true, false}) {
          ctx.amx = amx;
          // Poisoned first: a kernel that skipped a row or a block would leave NaN rather than an earlier result.
          std::fill(out2.data(), out2.data() + out2.rows() * out2.cols(), std::numeric_limits<float>::quiet_NaN());
          sdpa.forward(ctx, q.view(), kv16, out2.view(), x);
          const bool bf16_kernel = std::is_same_v<TestType, cpu::simd<>> && cpu::gemm::available_bf16 && q_len >= 8;
          const std::string what = c.name + (amx ? " out" : " out (AMX off)");
          if (bf16_kernel)
            test::require_close(out2, c["out_bf16_attention"], test::Tolerance{2e-3, 2e-3}, what + ", bf16 attention");
          else
            test::require_close(out2, c["out_kv_bf16"], test::tol_f32, what + ", bf16 K/V (fast)");
        }
        ctx.amx = true;
      }
    }
  }
}

TEST_CASE("KvCache appends kv-head-major and refuses to overflow", "[kv_cache][errors]") {
  KvCache cache(2, 3, 4);
  Matrix<float> k(3, 6), v(3, 6);
  for (tfx::Index i = 0; i < 18; ++i) k.data()[i] = static_cast<float>(i), v.data()[i] = -static_cast<float>(i);
  cache.append(k.view(), v.view());
  const auto view = cache.view();
  CHECK(view.len == 3);
  CHECK(view.keys<float>(1)[2 * 3 + 1] == k(2, 3 + 1));  // head 1, position 2, dim 1
  CHECK(view.values<float>(0)[1 * 3 + 2] == v(1, 2));
  CHECK_THROWS_WITH(cache.append(k.view(), v.view()), Catch::Contains("capacity of 4 positions exceeded (holding 3, appending 3)"));
  CHECK_THROWS_AS(KvCache(0, 3, 4), tfx::error);
  // copy_from: the positions held, into a cache of the same geometry (no allocation), for beam search.
  KvCache other(cache.kv_heads(), cache.head_dim(), 8);
  other.copy_from(cache);
  CHECK(other.size() == cache.size());
  CHECK(other.view().values<float>(0)[1 * 3 + 2] == v(1, 2));
  CHECK(other.view().keys<float>(1)[2 * 3 + 1] == k(2, 3 + 1));  // head 1 sits at another offset in a bigger cache
  KvCache small(cache.kv_heads(), cache.head_dim(), 2), wrong(1, 5, 8);
  CHECK_THROWS_WITH(small.copy_from(cache), Catch::Contains("holding 3 positions into one of"));
  CHECK_THROWS_AS(wrong.copy_from(cache), tfx::error);
}

TEMPLATE_LIST_TEST_CASE("ScaledDotProductAttention of no query rows writes nothing", "[sdpa]", test::CpuPolicies) {
  // More threads than (kv head, query row) items, none of them: the decode kernel's split must not divide by 0.
  cpu::Context ctx(3);
  const ScaledDotProductAttention<TestType> sdpa(SdpaOptions{2, 1, 16});
  std::vector<float> kv(16 * 600, 0.5f);
  Matrix<float> q(0, 32), out(0, 32);
  const KvView cache{kv.data(), kv.data(), 600, 600 * 16, 1, 16};
  CHECK_NOTHROW(sdpa.forward(ctx, q.view(), cache, out.view()));
}

TEST_CASE("ScaledDotProductAttention rejects bad head counts and shapes", "[sdpa][errors]") {
  CHECK_THROWS_WITH((ScaledDotProductAttention<cpu::scalar>(SdpaOptions{6, 4, 8})), Catch::Contains("heads (6) must be a multiple of kv_heads (4)"));
  CHECK_THROWS_AS((ScaledDotProductAttention<cpu::scalar>(SdpaOptions{0, 1, 8})), tfx::error);
  cpu::Context ctx;
  const ScaledDotProductAttention<cpu::scalar> sdpa(SdpaOptions{2, 1, 4});
  std::vector<float> kv(16);
  Matrix<float> q(3, 8), out(3, 8);
  const KvView two{kv.data(), kv.data(), 2, 8, 1, 4};
  CHECK_THROWS_WITH(sdpa.forward(ctx, q.view(), two, out.view()), Catch::Contains("q_len 3 > kv_len 2"));
  const KvView wrong{kv.data(), kv.data(), 4, 16, 2, 4};
  CHECK_THROWS_WITH(sdpa.forward(ctx, q.view(), wrong, out.view()), Catch::Contains("keys have 2 heads"));
}
