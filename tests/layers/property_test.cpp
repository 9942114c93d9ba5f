// cpu::simd against cpu::scalar on awkward sizes (1, 3, 17, 127, 129, 4097: not multiples of any vector width)
// and random data. The PyTorch goldens fix the semantics; these catch tail-loop and blocking bugs.
#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "support/golden.hpp"
#include "tfx/layers.hpp"

using namespace tfx;

namespace {
constexpr tfx::Index kSizes[] = {1, 3, 17, 127, 129, 4097};

Matrix<float> random_matrix(tfx::Index r, tfx::Index c, std::uint32_t seed, float scale = 1.f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> d(0.f, scale);
  Matrix<float> m(r, c);
  for (auto& v : m.storage()) v = d(gen);
  return m;
}

void require_near(const Matrix<float>& a, const Matrix<float>& b, double atol, double rtol) {
  REQUIRE(a.storage().size() == b.storage().size());
  for (std::size_t i = 0; i < a.storage().size(); ++i) {
    const double x = a.storage()[i], y = b.storage()[i];
    if (!(std::abs(x - y) <= atol + rtol * std::abs(y))) FAIL("element " << i << ": simd " << x << " vs scalar " << y);
  }
}
using Simd = cpu::simd<>;
using Scalar = cpu::scalar;
}  // namespace

TEST_CASE("simd norms, softmax and activations equal scalar on awkward sizes", "[property][simd]") {
  cpu::Context ctx(2);
  for (tfx::Index n : kSizes) {
    INFO("n = " << n);
    const auto x = random_matrix(3, n, static_cast<std::uint32_t>(n), 3.f);
    const auto wm = random_matrix(1, n, static_cast<std::uint32_t>(n + 1));
    const std::vector<float> w(wm.storage()), b(wm.storage().rbegin(), wm.storage().rend());
    Matrix<float> a(3, n), s(3, n);
    RMSNorm<float, Simd>(w, 1e-6f).forward(ctx, x.view(), a.view());
    RMSNorm<float, Scalar>(w, 1e-6f).forward(ctx, x.view(), s.view());
    require_near(a, s, 1e-5, 1e-5);
    LayerNorm<float, Simd>(w, b).forward(ctx, x.view(), a.view());
    LayerNorm<float, Scalar>(w, b).forward(ctx, x.view(), s.view());
    require_near(a, s, 1e-5, 1e-5);
    a = x, s = x;
    Softmax<Simd>(0.7f).forward(ctx, a.view());
    Softmax<Scalar>(0.7f).forward(ctx, s.view());
    require_near(a, s, 1e-6, 1e-5);
    for (auto act : {activation::silu, activation::gelu_erf, activation::gelu_tanh, activation::relu}) {
      a = x, s = x;
      kernels::activation(Simd{}, ctx, a.view(), act);
      kernels::activation(Scalar{}, ctx, s.view(), act);
      require_near(a, s, 1e-5, 1e-5);
    }
  }
}

TEST_CASE("simd linear equals scalar for f32, bf16 and f16 weights on awkward sizes", "[property][simd][linear]") {
  cpu::Context ctx(2);
  ctx.precision = cpu::Precision::exact;  // the scalar kernel never rounds activations (Precision::fast: goldens)
  for (tfx::Index n : kSizes) {
    for (tfx::Index rows : {tfx::Index{1}, tfx::Index{5}, tfx::Index{33}}) {
      INFO("in = " << n << ", rows = " << rows);
      const tfx::Index out_features = n == 4097 ? 33 : n + 2;
      const auto x = random_matrix(rows, n, 7);
      const auto wf = random_matrix(out_features, n, 8);
      const auto bias = random_matrix(1, out_features, 9).storage();
      for (const char* dt : {"f32", "bf16", "f16"}) {
        test::with_dtype(dt, [&]<class T>(T) {
          std::vector<T> w;
          for (float v : wf.storage()) w.push_back(from_float<T>(v));
          const std::vector<float>& bt = bias;
          const Rows<const T> wv(w.data(), out_features, n);
          Matrix<float> a(rows, out_features), s(rows, out_features);
          Linear<T, Simd>(wv, bt).forward(ctx, x.view(), a.view());
          Linear<T, Scalar>(wv, bt).forward(ctx, x.view(), s.view());
          require_near(a, s, 1e-4 * std::sqrt(static_cast<double>(n)), 1e-4);
          // [in, out] layout (GPT-2 Conv1D): the same matrix transposed, columns [1, 1 + out) of a wider tensor.
          std::vector<T> wt(static_cast<std::size_t>(n * (out_features + 2)));
          for (tfx::Index o = 0; o < out_features; ++o)
            for (tfx::Index i = 0; i < n; ++i) wt[static_cast<std::size_t>(i * (out_features + 2) + 1 + o)] = w[static_cast<std::size_t>(o * n + i)];
          const Rows<const T> wtv(wt.data() + 1, n, out_features, out_features + 2);
          Matrix<float> at(rows, out_features), st(rows, out_features);
          Linear<Dense<T, weight_layout::in_out>, Simd>(wtv, bt).forward(ctx, x.view(), at.view());
          Linear<Dense<T, weight_layout::in_out>, Scalar>(wtv, bt).forward(ctx, x.view(), st.view());
          require_near(at, st, 1e-4 * std::sqrt(static_cast<double>(n)), 1e-4);
          require_near(at, s, 1e-4 * std::sqrt(static_cast<double>(n)), 1e-4);
        });
      }
    }
  }
}

TEST_CASE("simd RoPE, embedding and SDPA equal scalar on awkward sizes", "[property][simd]") {
  cpu::Context ctx(2);
  for (tfx::Index n : kSizes) {
    INFO("n = " << n);
    // RoPE over head_dim 2n (even), 2 heads, both layouts
    RopeConfig rc;
    rc.head_dim = static_cast<int>(2 * n);
    const std::vector<std::int64_t> pos{0, 7, 1000};
    const auto x = random_matrix(3, 4 * n, 11);
    Matrix<float> a = x, s = x;
    RotaryEmbedding<rope::half_split, Simd>(rc).apply(ctx, a.view(), 2, pos);
    RotaryEmbedding<rope::half_split, Scalar>(rc).apply(ctx, s.view(), 2, pos);
    require_near(a, s, 1e-5, 1e-5);
    a = x, s = x;
    RotaryEmbedding<rope::interleaved, Simd>(rc).apply(ctx, a.view(), 2, pos);
    RotaryEmbedding<rope::interleaved, Scalar>(rc).apply(ctx, s.view(), 2, pos);
    require_near(a, s, 1e-5, 1e-5);

    const auto table = random_matrix(5, n, 12);
    const std::vector<std::int32_t> ids{4, 0, 2, 4};
    Matrix<float> ea(4, n), es(4, n);
    Embedding<float, Simd>(table.view()).forward(ctx, ids, ea.view());
    Embedding<float, Scalar>(table.view()).forward(ctx, ids, es.view());
    require_near(ea, es, 0, 0);

    // SDPA: head_dim n (capped), kv_len n, GQA 4/2, causal decode-ish chunk of 3 queries, window
    const int d = static_cast<int>(std::min<tfx::Index>(n, 129));
    const tfx::Index kv_len = std::max<tfx::Index>(n, 3);
    const auto k = random_matrix(2, kv_len * d, 13), v = random_matrix(2, kv_len * d, 14);
    const auto q = random_matrix(3, 4 * d, 15);
    const KvView kv{k.data(), v.data(), kv_len, kv_len * d, 2, d};
    for (tfx::Index window : {tfx::Index{0}, tfx::Index{2}}) {
      SdpaOptions o{4, 2, d, {}, true, window};
      Matrix<float> oa(3, 4 * d), os(3, 4 * d);
      ScaledDotProductAttention<Simd>(o).forward(ctx, q.view(), kv, oa.view());
      ScaledDotProductAttention<Scalar>(o).forward(ctx, q.view(), kv, os.view());
      require_near(oa, os, 1e-5, 1e-4);
    }
  }
}

TEST_CASE("Which kernels are native to cpu::simd is visible at compile time", "[coverage]") {
  using R = Rows<float>;
  using CR = Rows<const float>;
  STATIC_REQUIRE(kernels::has_native_rms_norm<Simd, cpu::Context&, CR, Vector<const float>, float, float, R>);
  STATIC_REQUIRE(kernels::has_native_linear<Simd, cpu::Context&, CR, const Dense<bf16>&, std::span<const float>, R>);
  STATIC_REQUIRE(kernels::has_native_linear<Simd, cpu::Context&, CR, const Dense<bf16, weight_layout::in_out>&,
                                            std::span<const float>, R>);
  STATIC_REQUIRE(kernels::has_native_sdpa<Simd, cpu::Context&, const SdpaArgs&>);
  STATIC_REQUIRE(kernels::has_native_softmax<Simd, cpu::Context&, R, float>);
  STATIC_REQUIRE(kernels::has_native_rope<Simd, cpu::Context&, R, int, int, RopeTable, rope_layout>);
  STATIC_REQUIRE(kernels::has_native_linear_group<Simd, cpu::Context&, CR, std::span<const LinearPart<Q8_0>>>);
  STATIC_REQUIRE(kernels::has_native_linear_group<Simd, cpu::Context&, CR, std::span<const LinearPart<Q4_0>>>);
  STATIC_REQUIRE(kernels::has_native_linear_group<Simd, cpu::Context&, CR, std::span<const LinearPart<Dense<bf16>>>>);
}

TEST_CASE("A product group gives each product's own result, bit for bit", "[coverage][linear]") {
  // q/k/v and gate/up run as one group (decode: one loop over all output rows; prefill: x packed once, one loop
  // over all column blocks); each part must equal the same product run alone. Parts of 70, 300 (two column
  // blocks) and 5 rows; 3 rows (decode) and 19 (prefill); with and without bias.
  const tfx::Index in = 600;  // Q4_0: a super-group of 512 and a tail
  const std::vector<tfx::Index> outs = {70, 300, 5};
  cpu::Context ctx(2);
  const auto run = [&]<class T>(T) {
    std::vector<Matrix<T>> ws;
    std::vector<Matrix<float>> bs;
    for (std::size_t p = 0; p < outs.size(); ++p) {
      const Matrix<float> w = random_matrix(outs[p], in, 40 + static_cast<std::uint32_t>(p), 0.1f);
      Matrix<T> wt(outs[p], in);
      for (std::size_t i = 0; i < w.storage().size(); ++i) wt.storage()[i] = from_float<T>(w.storage()[i]);
      ws.push_back(std::move(wt));
      bs.push_back(random_matrix(1, outs[p], 50 + static_cast<std::uint32_t>(p)));
    }
    std::vector<std::int8_t> q[3];
    std::vector<float> d[3];
    std::vector<std::uint8_t> q4v[3];
    std::vector<f16> d4[3];
    std::vector<Q8_0> q8;
    std::vector<Q4_0> q4;
    for (std::size_t p = 0; p < outs.size(); ++p) {
      q[p].resize(static_cast<std::size_t>(outs[p] * Q8_0::padded(in)));
      d[p].resize(q[p].size() / Q8_0::block);
      q8.push_back(quantize_q8_0(Dense<T>(ws[p].cview()), q[p].data(), d[p].data()));
      q4v[p].resize(static_cast<std::size_t>(outs[p] * Q4_0::padded(in) / 2));
      d4[p].resize(static_cast<std::size_t>(outs[p] * Q4_0::padded(in) / Q4_0::block));
      q4.push_back(quantize_to<Q4_0>(Dense<T>(ws[p].cview()), q4v[p].data(), d4[p].data()));
    }
    for (const tfx::Index rows : {tfx::Index{3}, tfx::Index{19}})
      for (const auto precision : {cpu::Precision::fast, cpu::Precision::exact})
        for (const bool bias : {false, true}) {
          ctx.precision = precision;
          const Matrix<float> x = random_matrix(rows, in, 60);
          const auto check = [&]<class L>(const std::array<L, 3>& lin) {
            std::array<Matrix<float>, 3> alone, grouped;
            for (std::size_t p = 0; p < 3; ++p) {
              alone[p] = Matrix<float>(rows, outs[p]);
              grouped[p] = Matrix<float>(rows, outs[p]);
              lin[p].forward(ctx, x.view(), alone[p].view());
            }
            forward_group(ctx, x.view(), std::array{&lin[0], &lin[1], &lin[2]},
                          std::array{grouped[0].view(), grouped[1].view(), grouped[2].view()});
            for (std::size_t p = 0; p < 3; ++p) {
              INFO("part " << p << ", " << rows << " rows, bias " << bias);
              CHECK(grouped[p].storage() == alone[p].storage());
            }
          };
          const auto b = [&](std::size_t p) { return bias ? std::span<const float>(bs[p].storage()) : std::span<const float>(); };
          check(std::array{Linear<T, Simd>(ws[0].cview(), b(0)), Linear<T, Simd>(ws[1].cview(), b(1)), Linear<T, Simd>(ws[2].cview(), b(2))});
          check(std::array{Linear<Q8_0, Simd>(q8[0], b(0)), Linear<Q8_0, Simd>(q8[1], b(1)), Linear<Q8_0, Simd>(q8[2], b(2))});
          check(std::array{Linear<Q4_0, Simd>(q4[0], b(0)), Linear<Q4_0, Simd>(q4[1], b(1)), Linear<Q4_0, Simd>(q4[2], b(2))});
        }
  };
  run(float{});
  run(bf16{});
}

TEST_CASE("parallel_for_shared_tail runs every index once and hands a slow share's rest to the other thread",
          "[threads]") {
  // Thread 0 blocks in its first index until thread 1 has run an index of thread 0's share (at most 10 s): only
  // the shared tail lets that happen, so without it the wait times out and the check fails.
  constexpr tfx::Index n = 64, chunk = 4;
  std::array<std::atomic<int>, n> runs{}, by{};
  std::atomic<bool> stolen{false};
  cpu::vec::parallel_for_shared_tail(2, n, chunk, [&](tfx::Index i) {
    const int t = omp_get_thread_num();
    runs[static_cast<std::size_t>(i)] += 1;
    by[static_cast<std::size_t>(i)] = t;
    if (t == 1 && i < n / 2) stolen = true;
    if (t == 0 && i == 0)
      for (int w = 0; w < 10000 && !stolen; ++w) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  for (tfx::Index i = 0; i < n; ++i) REQUIRE(runs[static_cast<std::size_t>(i)] == 1);
  CHECK(stolen);
  CHECK(by[n / 2] == 1);  // thread 1 starts with its own share (thread 0 cannot take it while it waits)
}
