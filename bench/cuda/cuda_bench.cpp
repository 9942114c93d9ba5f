// CUDA kernel benchmarks, timed with CUDA events on the context's stream, each against this GPU's ceilings:
//   copy       device-to-device copy: the measured HBM bandwidth every memory-bound figure is compared with
//   gemm       Linear (cuBLAS, f32 accumulation) in bf16 and f32: TFLOP/s against the datasheet's dense peaks
//   attention  prefill (flash, causal) in TFLOP/s; decode (split-K over a bf16 cache) in GB/s of K/V read
// Shapes are Qwen3-0.6B's (16 heads, 8 kv heads of 128) and a square 4096 GEMM. Prints one line per test.
//   tfx_cuda_bench [--quick]
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "tfx/backend/cuda.hpp"

using namespace tfx;
namespace raw = tfx::cuda::raw;

namespace {

struct DeviceBytes {
  Buffer b;
  explicit DeviceBytes(std::size_t n) : b(memory<device_space>::allocate(n)) {}
  template <class T = float>
  T* as() const {
    return reinterpret_cast<T*>(b.data());
  }
};

/// Fills n floats / 16-bit values with a fixed pseudo-random pattern in [-1, 1] (host-generated, uploaded once).
void fill(void* dst, std::size_t n, dtype t) {
  std::vector<std::uint16_t> h16;
  std::vector<float> h32;
  std::uint32_t s = 12345;
  auto next = [&] {
    s = s * 1664525u + 1013904223u;
    return static_cast<float>(s >> 8) / static_cast<float>(1u << 24) * 2.f - 1.f;
  };
  if (t == dtype::f32) {
    h32.resize(n);
    for (auto& v : h32) v = next();
    memory<device_space>::upload(dst, h32.data(), n * 4);
  } else {
    h16.resize(n);
    for (auto& v : h16) v = t == dtype::bf16 ? from_float<bf16>(next()).bits : from_float<f16>(next()).bits;
    memory<device_space>::upload(dst, h16.data(), n * 2);
  }
}

/// Median milliseconds of `reps` runs of f (after 3 warm-ups), timed with events on the stream.
double time_ms(cuda::Context& ctx, int reps, const std::function<void()>& f) {
  void* a = raw::event_create();
  void* b = raw::event_create();
  for (int i = 0; i < 3; ++i) f();
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    raw::event_record(a, ctx.stream());
    f();
    raw::event_record(b, ctx.stream());
    ms.push_back(raw::event_elapsed_ms(a, b));
  }
  raw::event_destroy(a);
  raw::event_destroy(b);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  if (!cuda::available()) {
    std::printf("no CUDA device: the CUDA benchmarks are skipped\n");
    return 77;
  }
  const int reps = quick ? 5 : 20;
  cuda::Context ctx;
  std::printf("device: %s\n", raw::device_description(0).c_str());
  // Datasheet ceilings of an H100 / H200 SXM (dense): the ratios below are against these and the measured copy.
  const double bf16_peak = 989.0, f32_peak = 67.0;

  // copy: 2 GiB read + 2 GiB written
  const std::size_t copy_bytes = std::size_t{1} << (quick ? 28 : 31);
  DeviceBytes src(copy_bytes), dst(copy_bytes);
  const double copy_ms = time_ms(ctx, reps, [&] { raw::copy_device(dst.as(), src.as(), copy_bytes, ctx.stream()); });
  const double hbm = 2.0 * static_cast<double>(copy_bytes) / copy_ms / 1e6;  // GB/s
  std::printf("copy        %6.2f GiB          %8.3f ms  %8.0f GB/s (read + write): the bandwidth ceiling below\n",
              static_cast<double>(copy_bytes) / (1 << 30), copy_ms, hbm);

  // gemm: y[M, N] = x[M, K] . W[N, K]^T
  for (const dtype wt : {dtype::bf16, dtype::f32}) {
    const Index M = 4096, N = 4096, K = 4096;
    DeviceBytes x(static_cast<std::size_t>(M * K) * 4), w(static_cast<std::size_t>(N * K) * dtype_size(wt)),
        y(static_cast<std::size_t>(M * N) * 4), ws(std::max<std::size_t>(1, raw::linear_workspace(M, K, wt)));
    fill(x.as(), static_cast<std::size_t>(M * K), dtype::f32);
    fill(w.as(), static_cast<std::size_t>(N * K), wt);
    const double ms = time_ms(ctx, reps, [&] {
      raw::linear(ctx.blas(), ctx.stream(), x.as(), K, M, w.as<void>(), wt, false, N, K, K, nullptr, y.as(), N, ws.as<void>());
    });
    const double tflops = 2.0 * M * N * K / ms / 1e9;
    const double peak = wt == dtype::bf16 ? bf16_peak : f32_peak;
    std::printf("gemm %-5s  %lldx%lldx%lld   %8.3f ms  %8.1f TFLOP/s  %5.1f%% of the %.0f TFLOP/s peak\n",
                std::string(dtype_name(wt)).c_str(), static_cast<long long>(M), static_cast<long long>(N),
                static_cast<long long>(K), ms, tflops, 100 * tflops / peak, peak);
  }

  // attention, Qwen3-0.6B heads
  const int heads = 16, kv_heads = 8, hd = 128;
  for (const Index T : {Index{512}, Index{2048}}) {  // prefill: T queries over T keys, causal
    const Index cap = T;
    DeviceBytes q(static_cast<std::size_t>(T * heads * hd) * 4), o(q.b.size),
        k(static_cast<std::size_t>(kv_heads * cap * hd) * 2), v(k.b.size);
    fill(q.as(), static_cast<std::size_t>(T * heads * hd), dtype::f32);
    fill(k.as(), static_cast<std::size_t>(kv_heads * cap * hd), dtype::bf16);
    fill(v.as(), static_cast<std::size_t>(kv_heads * cap * hd), dtype::bf16);
    const std::size_t wsn = raw::attention_workspace(T, T, heads, hd);
    DeviceBytes ws(std::max<std::size_t>(4, wsn * 4));
    const double ms = time_ms(ctx, reps, [&] {
      raw::attention(ctx.stream(), q.as(), heads * hd, T, k.as<void>(), v.as<void>(), dtype::bf16, T, cap * hd, heads,
                     kv_heads, hd, 0.088f, true, 0, 0, o.as(), heads * hd, ws.as());
    });
    const double flops = 4.0 * heads * hd * (static_cast<double>(T) * (T + 1) / 2);  // causal: QK^T and PV
    std::printf("attention prefill T=%-5lld %8.3f ms  %8.1f TFLOP/s (f32 arithmetic, bf16 K/V)\n",
                static_cast<long long>(T), ms, flops / ms / 1e9);
  }
  for (const Index L : {Index{4096}, Index{32768}}) {  // decode: one query over L cached keys
    DeviceBytes q(static_cast<std::size_t>(heads * hd) * 4), o(q.b.size), k(static_cast<std::size_t>(kv_heads * L * hd) * 2),
        v(k.b.size);
    fill(q.as(), static_cast<std::size_t>(heads * hd), dtype::f32);
    fill(k.as(), static_cast<std::size_t>(kv_heads * L * hd), dtype::bf16);
    fill(v.as(), static_cast<std::size_t>(kv_heads * L * hd), dtype::bf16);
    DeviceBytes ws(std::max<std::size_t>(4, raw::attention_workspace(1, L, heads, hd) * 4));
    const double ms = time_ms(ctx, reps, [&] {
      raw::attention(ctx.stream(), q.as(), heads * hd, 1, k.as<void>(), v.as<void>(), dtype::bf16, L, L * hd, heads,
                     kv_heads, hd, 0.088f, true, L - 1, 0, o.as(), heads * hd, ws.as());
    });
    const double gbs = 2.0 * static_cast<double>(k.b.size) / ms / 1e6;
    std::printf("attention decode L=%-6lld %8.3f ms  %8.0f GB/s of K/V  %5.1f%% of the measured copy bandwidth\n",
                static_cast<long long>(L), ms, gbs, 100 * gbs / hbm);
  }
  return 0;
}
