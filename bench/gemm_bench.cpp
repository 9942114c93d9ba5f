// Prefill matrix products Y[M, N] = X[M, K] . W^T at the shapes of a Qwen3-0.6B-sized layer, side by side:
//   tfx_f32        tfx's packed AVX-512 f32 kernel (backend/cpu/simd/gemm.hpp)
//   tfx_bf16       the same with bf16 weights and bf16 dot products (Precision::fast): AMX tiles where the CPU
//                  has AMX-BF16, else AVX512-BF16; the <..., false> case is the AVX-512 kernel on any CPU
//   tfx_bf16_exact bf16 weights widened to f32 while packing (Precision::exact)
//   tfx_quantized  Q8_0 / Q4_0 weights; fast: activations quantized to Q8_0, int8 dot products (AVX512-VNNI), or
//                  on AMX tiles in bf16 where the CPU has AMX-BF16 (<..., false>: the int8 kernel on any CPU);
//                  exact: weights dequantized to f32 while packing
//   eigen_f32      Eigen 3.4's GEMM, output columns split over the threads (what tfx used before)
//   openblas_f32   OpenBLAS cblas_sgemm (Debian libopenblas-pthread-dev), when found at build time
//   blis_f32       BLIS bli_sgemm (Debian libblis-pthread-dev), when found at build time
//   onednn_bf16    oneDNN's matmul (Debian libdnnl-dev, the library under PyTorch's CPU products), when found at
//                  build time: the activations reordered to bf16 in the loop (as tfx rounds them per product), bf16
//                  weights [out, in] as stored, f32 output
// GFLOP/s = 2 M N K per second. All with the same thread count (TFX_BENCH_THREADS or all cores).
#include <omp.h>

#include "bench_common.hpp"
#include "tfx/backend/cpu/eigen/gemm.hpp"
#include "tfx/layers/linear.hpp"

#if defined(TFX_BENCH_OPENBLAS)
extern "C" {
void cblas_sgemm(int order, int transa, int transb, int m, int n, int k, float alpha, const float* a, int lda,
                 const float* b, int ldb, float beta, float* c, int ldc);
void openblas_set_num_threads(int n);
}
#endif
#if defined(TFX_BENCH_DNNL)
#include <oneapi/dnnl/dnnl.hpp>
#endif
#if defined(TFX_BENCH_BLIS)
// BLIS's typed API, declared here: blis.h also declares cblas_sgemm, with types that clash with the one above.
// dim_t and inc_t are 64-bit (Debian's build); trans_t 0 is BLIS_NO_TRANSPOSE.
extern "C" {
void bli_sgemm(int transa, int transb, std::int64_t m, std::int64_t n, std::int64_t k, const float* alpha,
               const float* a, std::int64_t rsa, std::int64_t csa, const float* b, std::int64_t rsb, std::int64_t csb,
               const float* beta, float* c, std::int64_t rsc, std::int64_t csc);
void bli_thread_set_num_threads(std::int64_t n);
}
#endif

using namespace tfx;

namespace {
struct Shape {
  Index m, k, n;
};
Shape shape_of(const benchmark::State& s) { return {s.range(0), s.range(1), s.range(2)}; }

template <class T>
struct Operands {
  std::vector<float> x;
  std::vector<T> w;
  std::vector<float> y;
  explicit Operands(Shape sh)
      : x(bench::random_vector(static_cast<std::size_t>(sh.m * sh.k), 2)),
        w(bench::random_vector<T>(static_cast<std::size_t>(sh.n * sh.k), 1, 0.05f)),
        y(static_cast<std::size_t>(sh.m * sh.n)) {}
};

void finish(benchmark::State& s, Shape sh, const char* what) {
  bench::set_flops_rate(s, 2.0 * sh.m * sh.n * sh.k);
  s.SetLabel(std::string(what) + ", " + std::to_string(bench::threads()) + " threads");
}

template <class T, cpu::Precision Pr, bool Amx = true>
void BM_tfx(benchmark::State& s) {
  const Shape sh = shape_of(s);
  Operands<T> o(sh);
  cpu::Context ctx(bench::threads());
  ctx.precision = Pr;
  ctx.amx = Amx;
  const Linear<T, bench::Simd> lin(Rows<const T>(o.w.data(), sh.n, sh.k));
  for (auto _ : s) {
    lin.forward(ctx, Rows<const float>(o.x.data(), sh.m, sh.k), Rows<float>(o.y.data(), sh.m, sh.n));
    benchmark::DoNotOptimize(o.y.data());
  }
  finish(s, sh, std::is_same_v<T, float>      ? "tfx f32"
                : Pr == cpu::Precision::exact ? "tfx bf16 (exact)"
                : cpu::gemm::amx_active(ctx)  ? "tfx bf16 (fast, AMX)"
                                              : "tfx bf16 (fast, AVX512-BF16)");
}

template <class Q, cpu::Precision Pr, bool Amx = true>
void BM_tfx_quantized(benchmark::State& s) {
  const Shape sh = shape_of(s);
  Operands<float> o(sh);
  std::vector<typename Q::value_type> q(static_cast<std::size_t>(sh.n * Q::padded(sh.k) / Q::code::per_unit));
  std::vector<typename Q::scale_type> d(static_cast<std::size_t>(sh.n * Q::padded(sh.k) / Q::block));
  const Q w = quantize_to<Q>(Dense<float>(Rows<const float>(o.w.data(), sh.n, sh.k)), q.data(), d.data());
  cpu::Context ctx(bench::threads());
  ctx.precision = Pr;
  ctx.amx = Amx;
  const Linear<Q, bench::Simd> lin(w);
  for (auto _ : s) {
    lin.forward(ctx, Rows<const float>(o.x.data(), sh.m, sh.k), Rows<float>(o.y.data(), sh.m, sh.n));
    benchmark::DoNotOptimize(o.y.data());
  }
  const char* how = Pr == cpu::Precision::exact ? " (exact: f32)" : cpu::gemm::amx_active(ctx) ? " (fast: AMX bf16)" : " (fast: int8)";
  finish(s, sh, (std::string("tfx ") + std::string(Q::name) + how).c_str());
}

void BM_eigen_f32(benchmark::State& s) {
  const Shape sh = shape_of(s);
  Operands<float> o(sh);
  const int nt = bench::threads();
  const Rows<const float> x(o.x.data(), sh.m, sh.k), w(o.w.data(), sh.n, sh.k);
  const Rows<float> y(o.y.data(), sh.m, sh.n);
  const Index share = (sh.n + nt - 1) / nt;
  for (auto _ : s) {
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int t = 0; t < nt; ++t) {
      const Index o0 = t * share, on = std::min(share, sh.n - o0);
      if (on > 0) cpu::eigen::gemm_nt(x, w.slice_rows(o0, on), y.slice_cols(o0, on));
    }
    benchmark::DoNotOptimize(o.y.data());
  }
  finish(s, sh, "Eigen 3.4 f32");
}

#if defined(TFX_BENCH_OPENBLAS)
void BM_openblas_f32(benchmark::State& s) {
  const Shape sh = shape_of(s);
  Operands<float> o(sh);
  openblas_set_num_threads(bench::threads());
  for (auto _ : s) {
    cblas_sgemm(101 /*row major*/, 111 /*no trans*/, 112 /*trans*/, static_cast<int>(sh.m), static_cast<int>(sh.n),
                static_cast<int>(sh.k), 1.f, o.x.data(), static_cast<int>(sh.k), o.w.data(), static_cast<int>(sh.k),
                0.f, o.y.data(), static_cast<int>(sh.n));
    benchmark::DoNotOptimize(o.y.data());
  }
  finish(s, sh, "OpenBLAS f32");
}
#endif

#if defined(TFX_BENCH_BLIS)
void BM_blis_f32(benchmark::State& s) {
  const Shape sh = shape_of(s);
  Operands<float> o(sh);
  bli_thread_set_num_threads(bench::threads());
  float one = 1.f, zero = 0.f;
  for (auto _ : s) {
    // Row-major X [m, k] (row stride k), W^T through strides: W [n, k] read as [k, n] with column stride k.
    bli_sgemm(0, 0, sh.m, sh.n, sh.k, &one, o.x.data(), sh.k, 1, o.w.data(), 1, sh.k,
              &zero, o.y.data(), sh.n, 1);
    benchmark::DoNotOptimize(o.y.data());
  }
  finish(s, sh, "BLIS f32");
}
#endif

#if defined(TFX_BENCH_DNNL)
void BM_onednn_bf16(benchmark::State& s) {
  const Shape sh = shape_of(s);
  Operands<bf16> o(sh);
  omp_set_num_threads(bench::threads());
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  const dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  const dnnl::memory::desc x32_md({sh.m, sh.k}, dt::f32, tag::ab), x16_md({sh.m, sh.k}, dt::bf16, tag::ab),
      w_md({sh.k, sh.n}, dt::bf16, tag::ba), y_md({sh.m, sh.n}, dt::f32, tag::ab);
  dnnl::memory x32(x32_md, eng, o.x.data()), x16(x16_md, eng), w(w_md, eng, o.w.data()), y(y_md, eng, o.y.data());
  const dnnl::matmul mm(dnnl::matmul::primitive_desc(dnnl::matmul::desc(x16_md, w_md, y_md), eng));
  const dnnl::reorder to_bf16(x32, x16);
  for (auto _ : s) {
    to_bf16.execute(strm, x32, x16);
    mm.execute(strm, {{DNNL_ARG_SRC, x16}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, y}});
    strm.wait();
    benchmark::DoNotOptimize(o.y.data());
  }
  finish(s, sh, "oneDNN bf16 matmul");
}
#endif

// Qwen3-0.6B prefill of 512 tokens: q (1024 -> 2048), k/v (1024 -> 1024), o (2048 -> 1024), gate/up (1024 -> 3072),
// down (3072 -> 1024); and a 64-token prompt. Then a MiniLM-L6-shaped encoder batch (32 texts of 136 tokens):
// q/k/v (384 -> 1152), the FFN (384 -> 1536, 1536 -> 384): short K.
void shapes(benchmark::internal::Benchmark* b) {
  for (const auto& a : std::vector<std::vector<int64_t>>{{512, 1024, 2048}, {512, 1024, 3072}, {512, 3072, 1024},
                                                         {64, 1024, 3072}, {4352, 384, 1152}, {4352, 384, 1536},
                                                         {4352, 1536, 384}})
    b->Args(a);
  b->Unit(benchmark::kMillisecond);
}
}  // namespace

BENCHMARK_TEMPLATE(BM_tfx, float, cpu::Precision::fast)->Apply(shapes);
BENCHMARK(BM_eigen_f32)->Apply(shapes);
#if defined(TFX_BENCH_OPENBLAS)
BENCHMARK(BM_openblas_f32)->Apply(shapes);
#endif
#if defined(TFX_BENCH_BLIS)
BENCHMARK(BM_blis_f32)->Apply(shapes);
#endif
BENCHMARK_TEMPLATE(BM_tfx, bf16, cpu::Precision::fast)->Apply(shapes);
BENCHMARK_TEMPLATE(BM_tfx, bf16, cpu::Precision::fast, false)->Apply(shapes);
#if defined(TFX_BENCH_DNNL)
BENCHMARK(BM_onednn_bf16)->Apply(shapes);
#endif
BENCHMARK_TEMPLATE(BM_tfx, bf16, cpu::Precision::exact)->Apply(shapes);
BENCHMARK_TEMPLATE(BM_tfx_quantized, Q8_0, cpu::Precision::fast)->Apply(shapes);
BENCHMARK_TEMPLATE(BM_tfx_quantized, Q4_0, cpu::Precision::fast)->Apply(shapes);
BENCHMARK_TEMPLATE(BM_tfx_quantized, Q8_0, cpu::Precision::fast, false)->Apply(shapes);
BENCHMARK_TEMPLATE(BM_tfx_quantized, Q4_0, cpu::Precision::fast, false)->Apply(shapes);
BENCHMARK_MAIN();
