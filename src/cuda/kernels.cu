// The CUDA backend's element-wise and row kernels. Semantics: the CPU reference kernels (backend/cpu/scalar/).
// Row statistics (norms, softmax) are one block per row with double accumulation, as the reference does;
// element-wise activations are f32 with the accurate (not fast-math) library functions.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "common.cuh"
#include "tfx/backend/cuda/raw.hpp"

namespace tfx::cuda::detail {
namespace {

constexpr int kThreads = 256;

/// Threads for a one-block-per-row kernel over rows of `dim` elements (a multiple of 32).
inline int row_threads(i64 dim) { return dim > 4096 ? 1024 : dim > 1024 ? 512 : 256; }
inline unsigned row_blocks(i64 rows) { return static_cast<unsigned>(std::min<i64>(rows, 1 << 30)); }

#define TFX_ROWS_2D(r, rows) for (i64 r = blockIdx.y; r < (rows); r += gridDim.y)
#define TFX_COLS_2D(c, cols)                                                                          \
  for (i64 c = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x; c < (cols);                 \
       c += static_cast<i64>(gridDim.x) * blockDim.x)

// ---- embedding ------------------------------------------------------------------------------------------------

template <class T>
__global__ void embedding_kernel(const std::int32_t* __restrict__ ids, i64 n, const T* __restrict__ table,
                                 i64 ld_table, i64 dim, float* __restrict__ out, i64 ld_out) {
  TFX_ROWS_2D(r, n) {
    const T* src = table + static_cast<i64>(ids[r]) * ld_table;
    float* dst = out + r * ld_out;
    TFX_COLS_2D(c, dim) dst[c] = widen(src[c]);
  }
}

// ---- norms ----------------------------------------------------------------------------------------------------
// x and y may be the same rows: each thread reads and then writes only its own columns, after the block's
// reduction has read all of them.

template <class T>
__global__ void __launch_bounds__(1024)
    rms_norm_kernel(const float* x, i64 ldx, i64 rows, i64 dim, const T* __restrict__ w, float eps, float offset,
                    float* y, i64 ldy) {
  __shared__ double sh[32];
  for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * ldx;
    float* yr = y + r * ldy;
    double ss = 0;
    for (i64 c = threadIdx.x; c < dim; c += blockDim.x) {
      const double v = xr[c];
      ss += v * v;
    }
    ss = block_sum(ss, sh);
    const double inv = 1.0 / sqrt(ss / static_cast<double>(dim) + static_cast<double>(eps));
    for (i64 c = threadIdx.x; c < dim; c += blockDim.x)
      yr[c] = static_cast<float>(static_cast<double>(xr[c]) * inv *
                                 (static_cast<double>(offset) + static_cast<double>(widen(w[c]))));
  }
}

template <class T>
__global__ void __launch_bounds__(1024)
    layer_norm_kernel(const float* x, i64 ldx, i64 rows, i64 dim, const T* __restrict__ gamma,
                      const T* __restrict__ beta, float eps, float* y, i64 ldy) {
  __shared__ double sh[32];
  for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * ldx;
    float* yr = y + r * ldy;
    double s = 0;
    for (i64 c = threadIdx.x; c < dim; c += blockDim.x) s += static_cast<double>(xr[c]);
    const double mean = block_sum(s, sh) / static_cast<double>(dim);
    double v = 0;
    for (i64 c = threadIdx.x; c < dim; c += blockDim.x) {
      const double d = static_cast<double>(xr[c]) - mean;
      v += d * d;
    }
    const double var = block_sum(v, sh);
    const double inv = 1.0 / sqrt(var / static_cast<double>(dim) + static_cast<double>(eps));
    for (i64 c = threadIdx.x; c < dim; c += blockDim.x) {
      double o = (static_cast<double>(xr[c]) - mean) * inv * static_cast<double>(widen(gamma[c]));
      if (beta != nullptr) o += static_cast<double>(widen(beta[c]));
      yr[c] = static_cast<float>(o);
    }
  }
}

// ---- element-wise -----------------------------------------------------------------------------------------------

__device__ __forceinline__ float activate(float x, tfx::activation a) {
  switch (a) {
    case tfx::activation::silu: return x / (1.0f + expf(-x));
    case tfx::activation::gelu_erf: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752440f));
    case tfx::activation::gelu_tanh: {
      const float k = 0.79788456080286535588f;  // sqrt(2 / pi)
      return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
    }
    case tfx::activation::relu: return x > 0.0f ? x : 0.0f;
  }
  return x;
}

__global__ void activation_kernel(float* __restrict__ x, i64 ldx, i64 rows, i64 cols, tfx::activation a) {
  TFX_ROWS_2D(r, rows) {
    float* xr = x + r * ldx;
    TFX_COLS_2D(c, cols) xr[c] = activate(xr[c], a);
  }
}

__global__ void gated_activation_kernel(float* __restrict__ gate, i64 ldg, const float* __restrict__ up, i64 ldu,
                                        i64 rows, i64 cols, tfx::activation a) {
  TFX_ROWS_2D(r, rows) {
    float* g = gate + r * ldg;
    const float* u = up + r * ldu;
    TFX_COLS_2D(c, cols) g[c] = activate(g[c], a) * u[c];
  }
}

// y and x may be the same rows (y += y).
__global__ void add_kernel(float* y, i64 ldy, const float* x, i64 ldx, i64 rows, i64 cols) {
  TFX_ROWS_2D(r, rows) {
    float* yr = y + r * ldy;
    const float* xr = x + r * ldx;
    TFX_COLS_2D(c, cols) yr[c] += xr[c];
  }
}

// ---- softmax ----------------------------------------------------------------------------------------------------

__global__ void __launch_bounds__(1024) softmax_kernel(float* x, i64 ldx, i64 rows, i64 cols, float temperature) {
  __shared__ double sh[32];
  const double t = static_cast<double>(temperature);
  for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
    float* xr = x + r * ldx;
    double m = -INFINITY;
    for (i64 c = threadIdx.x; c < cols; c += blockDim.x) m = fmax(m, static_cast<double>(xr[c]) / t);
    m = block_max(m, sh);
    if (m == -INFINITY) {  // no finite entry: zeros, as the reference
      for (i64 c = threadIdx.x; c < cols; c += blockDim.x) xr[c] = 0.0f;
      continue;
    }
    double s = 0;
    for (i64 c = threadIdx.x; c < cols; c += blockDim.x) s += exp(static_cast<double>(xr[c]) / t - m);
    const double inv = 1.0 / block_sum(s, sh);
    for (i64 c = threadIdx.x; c < cols; c += blockDim.x)
      xr[c] = static_cast<float>(exp(static_cast<double>(xr[c]) / t - m) * inv);
  }
}

// ---- RoPE ---------------------------------------------------------------------------------------------------------

// theta = float(pos) * inv_freq[j] in f32 (as Hugging Face and the CPU table); cos / sin of that f32 angle in
// double, rounded to f32 (the correctly rounded cosf / sinf), then times the scaling in f32.
__global__ void rope_table_kernel(const float* __restrict__ inv_freq, i64 half, i64 start, i64 n, float scaling,
                                  float* __restrict__ cos_out, float* __restrict__ sin_out) {
  TFX_ROWS_2D(t, n) {
    const float p = static_cast<float>(start + t);
    TFX_COLS_2D(j, half) {
      const double theta = static_cast<double>(__fmul_rn(p, inv_freq[j]));
      cos_out[t * half + j] = __fmul_rn(static_cast<float>(cos(theta)), scaling);
      sin_out[t * half + j] = __fmul_rn(static_cast<float>(sin(theta)), scaling);
    }
  }
}

__global__ void rope_kernel(float* __restrict__ x, i64 ldx, i64 rows, int heads, int head_dim,
                            const float* __restrict__ cos_t, const float* __restrict__ sin_t, i64 half,
                            bool half_split) {
  const i64 cols = static_cast<i64>(heads) * half;
  TFX_ROWS_2D(t, rows) {
    TFX_COLS_2D(c, cols) {
      const i64 h = c / half, j = c - h * half;
      float* v = x + t * ldx + h * head_dim;
      const double cs = cos_t[t * half + j], sn = sin_t[t * half + j];
      const i64 a = half_split ? j : 2 * j;
      const i64 b = half_split ? j + half : 2 * j + 1;
      const double xa = v[a], xb = v[b];
      v[a] = static_cast<float>(xa * cs - xb * sn);
      v[b] = static_cast<float>(xb * cs + xa * sn);
    }
  }
}

// ---- KV cache -----------------------------------------------------------------------------------------------------

template <class T>
__global__ void kv_append_kernel(T* __restrict__ kc, T* __restrict__ vc, i64 head_stride, int kv_heads,
                                 int head_dim, i64 pos, const float* __restrict__ k, i64 ldk,
                                 const float* __restrict__ v, i64 ldv, i64 n) {
  const i64 cols = static_cast<i64>(kv_heads) * head_dim;
  TFX_ROWS_2D(t, n) {
    TFX_COLS_2D(c, cols) {
      const i64 h = c / head_dim, e = c - h * head_dim;
      const i64 at = h * head_stride + (pos + t) * head_dim + e;
      kc[at] = narrow<T>(k[t * ldk + c]);
      vc[at] = narrow<T>(v[t * ldv + c]);
    }
  }
}

#undef TFX_ROWS_2D
#undef TFX_COLS_2D

}  // namespace
}  // namespace tfx::cuda::detail

namespace tfx::cuda::raw {

using namespace tfx::cuda::detail;

void embedding(void* stream, const std::int32_t* ids, i64 n, const void* table, dtype table_type, i64 ld_table,
               i64 dim, float* out, i64 ld_out) {
  check_sizes("embedding", n, dim);
  if (n == 0 || dim == 0) return;
  dispatch_storage(table_type, [&]<class T>(T) {
    embedding_kernel<T><<<grid_2d(n, dim, kThreads), kThreads, 0, as_stream(stream)>>>(
        ids, n, static_cast<const T*>(table), ld_table, dim, out, ld_out);
  });
  check_launch("embedding");
}

void rms_norm(void* stream, const float* x, i64 ldx, i64 rows, i64 dim, const void* w, dtype w_type, float eps,
              float offset, float* y, i64 ldy) {
  check_sizes("rms_norm", rows, dim);
  if (rows == 0 || dim == 0) return;
  dispatch_storage(w_type, [&]<class T>(T) {
    rms_norm_kernel<T><<<row_blocks(rows), row_threads(dim), 0, as_stream(stream)>>>(
        x, ldx, rows, dim, static_cast<const T*>(w), eps, offset, y, ldy);
  });
  check_launch("rms_norm");
}

void layer_norm(void* stream, const float* x, i64 ldx, i64 rows, i64 dim, const void* gamma, const void* beta,
                dtype w_type, float eps, float* y, i64 ldy) {
  check_sizes("layer_norm", rows, dim);
  if (rows == 0 || dim == 0) return;
  dispatch_storage(w_type, [&]<class T>(T) {
    layer_norm_kernel<T><<<row_blocks(rows), row_threads(dim), 0, as_stream(stream)>>>(
        x, ldx, rows, dim, static_cast<const T*>(gamma), static_cast<const T*>(beta), eps, y, ldy);
  });
  check_launch("layer_norm");
}

void activation(void* stream, float* x, i64 ldx, i64 rows, i64 cols, tfx::activation act) {
  check_sizes("activation", rows, cols);
  if (rows == 0 || cols == 0) return;
  activation_kernel<<<grid_2d(rows, cols, kThreads), kThreads, 0, as_stream(stream)>>>(x, ldx, rows, cols, act);
  check_launch("activation");
}

void gated_activation(void* stream, float* gate, i64 ldg, const float* up, i64 ldu, i64 rows, i64 cols,
                      tfx::activation act) {
  check_sizes("gated_activation", rows, cols);
  if (rows == 0 || cols == 0) return;
  gated_activation_kernel<<<grid_2d(rows, cols, kThreads), kThreads, 0, as_stream(stream)>>>(gate, ldg, up, ldu,
                                                                                            rows, cols, act);
  check_launch("gated_activation");
}

void add(void* stream, float* y, i64 ldy, const float* x, i64 ldx, i64 rows, i64 cols) {
  check_sizes("add", rows, cols);
  if (rows == 0 || cols == 0) return;
  add_kernel<<<grid_2d(rows, cols, kThreads), kThreads, 0, as_stream(stream)>>>(y, ldy, x, ldx, rows, cols);
  check_launch("add");
}

void softmax(void* stream, float* x, i64 ldx, i64 rows, i64 cols, float temperature) {
  check_sizes("softmax", rows, cols);
  if (rows == 0 || cols == 0) return;
  softmax_kernel<<<row_blocks(rows), row_threads(cols), 0, as_stream(stream)>>>(x, ldx, rows, cols, temperature);
  check_launch("softmax");
}

void rope_table(void* stream, const float* inv_freq, i64 half, i64 start, i64 n, float scaling, float* cos,
                float* sin) {
  check_sizes("rope_table", n, half);
  if (n == 0 || half == 0) return;
  rope_table_kernel<<<grid_2d(n, half, kThreads), kThreads, 0, as_stream(stream)>>>(inv_freq, half, start, n,
                                                                                   scaling, cos, sin);
  check_launch("rope_table");
}

void rope(void* stream, float* x, i64 ldx, i64 rows, int heads, int head_dim, const float* cos, const float* sin,
          i64 half, rope_layout layout) {
  check_sizes("rope", rows, half);
  if (2 * half > head_dim) tfx::fail("CUDA rope: rotary dim ", 2 * half, " exceeds head_dim ", head_dim);
  if (rows == 0 || half == 0 || heads <= 0) return;
  const i64 cols = static_cast<i64>(heads) * half;
  rope_kernel<<<grid_2d(rows, cols, kThreads), kThreads, 0, as_stream(stream)>>>(
      x, ldx, rows, heads, head_dim, cos, sin, half, layout == rope_layout::half_split);
  check_launch("rope");
}

void kv_append(void* stream, void* k_cache, void* v_cache, dtype cache_type, i64 head_stride, int kv_heads,
               int head_dim, i64 pos, const float* k, i64 ldk, const float* v, i64 ldv, i64 n) {
  check_sizes("kv_append", n, static_cast<i64>(kv_heads) * head_dim);
  if (n == 0 || kv_heads <= 0 || head_dim <= 0) return;
  const i64 cols = static_cast<i64>(kv_heads) * head_dim;
  dispatch_storage(cache_type, [&]<class T>(T) {
    kv_append_kernel<T><<<grid_2d(n, cols, kThreads), kThreads, 0, as_stream(stream)>>>(
        static_cast<T*>(k_cache), static_cast<T*>(v_cache), head_stride, kv_heads, head_dim, pos, k, ldk, v, ldv,
        n);
  });
  check_launch("kv_append");
}

}  // namespace tfx::cuda::raw
