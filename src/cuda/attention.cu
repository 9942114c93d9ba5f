// Attention over a kv-head-major cache: a flash-attention kernel (online softmax, f32 accumulation) on CUDA cores,
// with flash-decoding (keys split over blocks, partial results merged by a second kernel) for few query rows.
//
// One kernel serves both: a block takes a tile of BQ "rows" of one kv head g, where the rows of g are the
// (head-in-group, query) pairs r = hh * q_len + i (head h = g * group + hh, position q_offset + i), and a range of
// keys (all visible keys, or one split's chunk of them). Rows of the same kv head share each K / V tile that the
// block stages in shared memory (widened to f32), so GQA reads the cache once per group in decode.
//   prefill (q_len > kDecodeMaxQ): BQ = 32 rows, 8 threads per row, one split.
//   decode  (q_len <= kDecodeMaxQ): BQ = 8 rows, a warp per row; kv_len / kMinChunk splits (at most kMaxSplits),
//           each writing (m, l, acc[head_dim]) per row to the workspace, merged by attention_merge_kernel.
// Per tile of BK = 32 keys: S = Q K^T (each thread KPT keys of its row), the row's running max m and sum l
// updated with shuffles among the row's threads, P = exp(S - m) through shared memory, acc = acc * alpha + P V
// (each thread CPT columns of its row, in registers). A row with no visible key outputs zeros.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "common.cuh"
#include "tfx/backend/cuda/raw.hpp"

namespace tfx::cuda::detail {
namespace {

constexpr int kThreads = 256;
constexpr int kBK = 32;            // keys per tile
constexpr int kDecodeMaxQ = 4;     // q_len up to this: the decode kernel (split keys)
constexpr i64 kMinChunk = 128;     // keys per split at least (4 tiles)
constexpr i64 kMaxSplits = 128;
constexpr int kMaxHeadDim = 256;
constexpr int kMergeThreads = 128;

struct AttnParams {
  const float* q;
  i64 ldq;
  i64 q_len;
  const void* k;
  const void* v;
  i64 kv_len;
  i64 head_stride;
  int group;
  int head_dim;
  float scale;
  bool causal;
  i64 q_offset;
  i64 window;
  float* out;
  i64 ldo;
  float* ws;    // splits > 1: [heads * q_len rows][splits][head_dim + 2] as (m, l, acc...)
  int splits;
  i64 chunk;    // keys per split, a multiple of kBK
};

/// Number of key splits for the decode path; 1 means no split (direct output). Nondecreasing in kv_len, so the
/// workspace for a longer cache also serves a shorter one (for the same q_len and heads).
inline i64 decode_splits(i64 q_len, i64 kv_len) {
  if (q_len > kDecodeMaxQ || kv_len <= kMinChunk) return 1;
  return std::min<i64>((kv_len + kMinChunk - 1) / kMinChunk, kMaxSplits);
}

/// Stages n contiguous cache elements (rows of D, n <= kBK * D) as f32 rows of `ld` floats; rows beyond n / D up
/// to kBK are zero-filled, so that P (zero there) times V stays finite.
template <class T, int DMAX>
__device__ __forceinline__ void load_tile(const T* __restrict__ src, int n, int D, float* __restrict__ dst, int ld) {
  constexpr int IT = kBK * DMAX / kThreads;
  const int tid = static_cast<int>(threadIdx.x);
  float vals[IT];
#pragma unroll
  for (int it = 0; it < IT; ++it) {
    const int e = tid + it * kThreads;
    vals[it] = e < n ? widen(src[e]) : 0.0f;
  }
  const int dq = kThreads / D, dr = kThreads - dq * D;
  int j = tid / D, d = tid - (tid / D) * D;
  const int total = kBK * D;
#pragma unroll
  for (int it = 0; it < IT; ++it) {
    if (tid + it * kThreads < total) dst[j * ld + d] = vals[it];
    j += dq;
    d += dr;
    if (d >= D) {
      d -= D;
      ++j;
    }
  }
}

template <class T, int DMAX, int BQ>
__global__ void __launch_bounds__(kThreads) attention_kernel(AttnParams p) {
  constexpr int TPR = kThreads / BQ;  // threads per row (8 or 32): consecutive lanes of one warp
  constexpr int KPT = kBK / TPR;      // keys per thread in S
  constexpr int CPT = DMAX / TPR;     // output columns per thread
  static_assert(TPR <= 32 && 32 % TPR == 0 && kBK % TPR == 0 && DMAX % TPR == 0);

  extern __shared__ float smem[];
  const int D = p.head_dim;
  const int ks = D | 1;  // odd row stride: reading one column across rows hits distinct banks
  float* Qs = smem;                // [BQ][ks]
  float* Ks = Qs + BQ * ks;        // [kBK][ks]
  float* Vs = Ks + kBK * ks;       // [kBK][D]
  float* Ps = Vs + kBK * D;        // [BQ][kBK + 1]

  const int tid = static_cast<int>(threadIdx.x);
  const int r = tid / TPR, sub = tid - r * TPR;
  const int lane = tid & 31, warp = tid >> 5;
  const int g = static_cast<int>(blockIdx.y);
  const i64 R = static_cast<i64>(p.group) * p.q_len;  // rows of this kv head
  const i64 r0 = static_cast<i64>(blockIdx.x) * BQ;

  // This thread's row: head h, query qi at position pos.
  const i64 rg = r0 + r;
  const bool row_ok = rg < R;
  const i64 hh = row_ok ? rg / p.q_len : 0;
  const i64 qi = row_ok ? rg - hh * p.q_len : 0;
  const i64 h = static_cast<i64>(g) * p.group + hh;
  const i64 pos = p.q_offset + qi;

  // Q tile: a warp per row.
  for (int rr = warp; rr < BQ; rr += kThreads / 32) {
    const i64 x = r0 + rr;
    const float* src = nullptr;
    if (x < R) {
      const i64 xh = x / p.q_len, xi = x - xh * p.q_len;
      src = p.q + xi * p.ldq + (static_cast<i64>(g) * p.group + xh) * D;
    }
    for (int d = lane; d < D; d += 32) Qs[rr * ks + d] = src != nullptr ? src[d] : 0.0f;
  }

  // Keys that some row of the tile may see, intersected with this block's split.
  const i64 rlast = min64(r0 + BQ, R) - 1;
  i64 imin = 0, imax = p.q_len - 1;
  if (r0 / p.q_len == rlast / p.q_len) {
    imin = r0 % p.q_len;
    imax = rlast % p.q_len;
  }
  i64 kbeg = 0, kend = p.kv_len;
  if (p.causal) kend = min64(kend, p.q_offset + imax + 1);
  if (p.window > 0) kbeg = max64(kbeg, p.q_offset + imin - p.window + 1);
  kbeg = kbeg / kBK * kBK;
  const i64 sbeg = static_cast<i64>(blockIdx.z) * p.chunk;
  kbeg = max64(kbeg, sbeg);
  kend = min64(kend, sbeg + p.chunk);

  const T* kbase = static_cast<const T*>(p.k) + static_cast<i64>(g) * p.head_stride;
  const T* vbase = static_cast<const T*>(p.v) + static_cast<i64>(g) * p.head_stride;

  float m = -INFINITY, l = 0.0f;
  float o[CPT];
#pragma unroll
  for (int c = 0; c < CPT; ++c) o[c] = 0.0f;

  const float* qrow = Qs + r * ks;
  float* prow = Ps + r * (kBK + 1);

  for (i64 k0 = kbeg; k0 < kend; k0 += kBK) {
    const int nk = static_cast<int>(min64(kBK, kend - k0));
    __syncthreads();  // the previous tile's K / V / P readers (and the Q writers) are done
    load_tile<T, DMAX>(kbase + k0 * D, nk * D, D, Ks, ks);
    load_tile<T, DMAX>(vbase + k0 * D, nk * D, D, Vs, D);
    __syncthreads();

    // S = Q K^T for keys sub + k * TPR of row r.
    float acc[KPT];
#pragma unroll
    for (int k = 0; k < KPT; ++k) acc[k] = 0.0f;
#pragma unroll 4
    for (int d = 0; d < D; ++d) {
      const float qv = qrow[d];
#pragma unroll
      for (int k = 0; k < KPT; ++k) acc[k] = fmaf(qv, Ks[(sub + k * TPR) * ks + d], acc[k]);
    }
    float sc[KPT];
    float mt = -INFINITY;
#pragma unroll
    for (int k = 0; k < KPT; ++k) {
      const int jj = sub + k * TPR;
      const i64 j = k0 + jj;
      const bool ok = row_ok && jj < nk && (!p.causal || j <= pos) && (p.window <= 0 || j > pos - p.window);
      sc[k] = ok ? acc[k] * p.scale : -INFINITY;
      mt = fmaxf(mt, sc[k]);
    }
#pragma unroll
    for (int off = TPR / 2; off > 0; off >>= 1) mt = fmaxf(mt, __shfl_xor_sync(0xffffffffu, mt, off));
    const float mn = fmaxf(m, mt);
    float alpha = 1.0f, ps = 0.0f;
    if (mn != -INFINITY) {  // uniform over the row's threads
      alpha = expf(m - mn);  // m = -inf: 0 (nothing accumulated yet)
#pragma unroll
      for (int k = 0; k < KPT; ++k) {
        const float e = expf(sc[k] - mn);  // masked: exp(-inf) = 0
        prow[sub + k * TPR] = e;
        ps += e;
      }
    } else {
#pragma unroll
      for (int k = 0; k < KPT; ++k) prow[sub + k * TPR] = 0.0f;
    }
#pragma unroll
    for (int off = TPR / 2; off > 0; off >>= 1) ps += __shfl_xor_sync(0xffffffffu, ps, off);
    l = l * alpha + ps;
    m = mn;
    __syncwarp();  // the row's P (written by its TPR lanes of this warp) is visible

    // acc = acc * alpha + P V
#pragma unroll
    for (int c = 0; c < CPT; ++c) o[c] *= alpha;
    for (int j = 0; j < nk; ++j) {
      const float pj = prow[j];
      const float* vr = Vs + j * D;
#pragma unroll
      for (int c = 0; c < CPT; ++c) {
        const int d = sub + c * TPR;
        if (d < D) o[c] = fmaf(pj, vr[d], o[c]);
      }
    }
  }

  if (!row_ok) return;
  if (p.splits == 1) {
    float* dst = p.out + qi * p.ldo + h * D;
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
#pragma unroll
    for (int c = 0; c < CPT; ++c) {
      const int d = sub + c * TPR;
      if (d < D) dst[d] = l > 0.0f ? o[c] * inv : 0.0f;
    }
  } else {
    float* dst = p.ws + ((h * p.q_len + qi) * p.splits + blockIdx.z) * static_cast<i64>(D + 2);
    if (sub == 0) {
      dst[0] = m;
      dst[1] = l;
    }
#pragma unroll
    for (int c = 0; c < CPT; ++c) {
      const int d = sub + c * TPR;
      if (d < D) dst[2 + d] = o[c];
    }
  }
}

/// out[row] = sum_s acc_s exp(m_s - M) / sum_s l_s exp(m_s - M), one block per (head, query) row.
__global__ void __launch_bounds__(kMergeThreads) attention_merge_kernel(const float* __restrict__ ws, int splits,
                                                                       int D, i64 q_len, float* __restrict__ out,
                                                                       i64 ldo) {
  __shared__ float wgt[kMaxSplits];
  const i64 row = blockIdx.x;  // h * q_len + qi
  const i64 h = row / q_len, qi = row - h * q_len;
  const i64 stride = D + 2;
  const float* base = ws + row * splits * stride;
  float M = -INFINITY;
  for (int s = 0; s < splits; ++s) M = fmaxf(M, base[s * stride]);
  float* dst = out + qi * ldo + h * D;
  if (M == -INFINITY) {  // no visible key in any split
    for (int d = static_cast<int>(threadIdx.x); d < D; d += blockDim.x) dst[d] = 0.0f;
    return;
  }
  for (int s = static_cast<int>(threadIdx.x); s < splits; s += blockDim.x) wgt[s] = expf(base[s * stride] - M);
  __syncthreads();
  float L = 0.0f;
  for (int s = 0; s < splits; ++s) L += base[s * stride + 1] * wgt[s];
  const float inv = 1.0f / L;  // L >= 1: the split holding M contributes l >= 1
  for (int d = static_cast<int>(threadIdx.x); d < D; d += blockDim.x) {
    float a = 0.0f;
    for (int s = 0; s < splits; ++s) a = fmaf(base[s * stride + 2 + d], wgt[s], a);
    dst[d] = a * inv;
  }
}

template <class T, int DMAX, int BQ>
void launch_attention(const AttnParams& p, int kv_heads, cudaStream_t stream) {
  const i64 R = static_cast<i64>(p.group) * p.q_len;
  const int D = p.head_dim, ks = D | 1;
  const std::size_t smem = sizeof(float) * static_cast<std::size_t>(BQ * ks + kBK * ks + kBK * D + BQ * (kBK + 1));
  auto kernel = attention_kernel<T, DMAX, BQ>;
  if (smem > 48 * 1024)
    check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)),
          "attention: cudaFuncSetAttribute (shared memory)");
  const dim3 grid(static_cast<unsigned>((R + BQ - 1) / BQ), static_cast<unsigned>(kv_heads),
                  static_cast<unsigned>(p.splits));
  kernel<<<grid, kThreads, smem, stream>>>(p);
  check_launch("attention");
}

template <class T, int BQ>
void launch_by_dim(const AttnParams& p, int kv_heads, cudaStream_t stream) {
  if (p.head_dim <= 64) launch_attention<T, 64, BQ>(p, kv_heads, stream);
  else if (p.head_dim <= 128) launch_attention<T, 128, BQ>(p, kv_heads, stream);
  else launch_attention<T, 256, BQ>(p, kv_heads, stream);
}

}  // namespace
}  // namespace tfx::cuda::detail

namespace tfx::cuda::raw {

using namespace tfx::cuda::detail;

std::size_t attention_workspace(i64 q_len, i64 kv_len, int heads, int head_dim) {
  const i64 splits = decode_splits(q_len, kv_len);
  if (splits <= 1 || q_len <= 0 || heads <= 0 || head_dim <= 0) return 0;
  return static_cast<std::size_t>(heads) * static_cast<std::size_t>(q_len) * static_cast<std::size_t>(splits) *
         static_cast<std::size_t>(head_dim + 2);
}

void attention(void* stream, const float* q, i64 ldq, i64 q_len, const void* k_cache, const void* v_cache,
               dtype cache_type, i64 kv_len, i64 head_stride, int heads, int kv_heads, int head_dim, float scale,
               bool causal, i64 q_offset, i64 window, float* out, i64 ldo, float* workspace) {
  if (q_len < 0 || kv_len < 0) tfx::fail("CUDA attention: negative q_len ", q_len, " or kv_len ", kv_len);
  if (heads <= 0 || kv_heads <= 0 || heads % kv_heads != 0)
    tfx::fail("CUDA attention: ", heads, " heads is not a multiple of ", kv_heads, " kv heads");
  if (head_dim <= 0 || head_dim > kMaxHeadDim)
    tfx::fail("CUDA attention: head_dim ", head_dim, " is outside 1 .. ", kMaxHeadDim);
  if (kv_heads > 65535) tfx::fail("CUDA attention: ", kv_heads, " kv heads (at most 65535)");
  if (q_len == 0) return;

  AttnParams p{};
  p.q = q;
  p.ldq = ldq;
  p.q_len = q_len;
  p.k = k_cache;
  p.v = v_cache;
  p.kv_len = kv_len;
  p.head_stride = head_stride;
  p.group = heads / kv_heads;
  p.head_dim = head_dim;
  p.scale = scale;
  p.causal = causal;
  p.q_offset = q_offset;
  p.window = window;
  p.out = out;
  p.ldo = ldo;
  const i64 splits = decode_splits(q_len, kv_len);
  p.splits = static_cast<int>(splits);
  if (splits > 1) {
    if (workspace == nullptr)
      tfx::fail("CUDA attention: the decode path needs attention_workspace() = ",
                attention_workspace(q_len, kv_len, heads, head_dim), " floats of workspace, got none");
    const i64 per = (kv_len + splits - 1) / splits;
    p.chunk = (per + kBK - 1) / kBK * kBK;
    p.ws = workspace;
  } else {
    p.chunk = (kv_len + kBK - 1) / kBK * kBK + kBK;  // covers every key
    p.ws = nullptr;
  }
  if ((static_cast<i64>(p.group) * q_len + 7) / 8 > 0x7fffffff)
    tfx::fail("CUDA attention: too many query rows (", q_len, ")");

  const cudaStream_t s = as_stream(stream);
  dispatch_storage(cache_type, [&]<class T>(T) {
    if (q_len <= kDecodeMaxQ) launch_by_dim<T, 8>(p, kv_heads, s);
    else launch_by_dim<T, 32>(p, kv_heads, s);
  });
  if (splits > 1) {
    attention_merge_kernel<<<static_cast<unsigned>(static_cast<i64>(heads) * q_len), kMergeThreads, 0, s>>>(
        workspace, p.splits, head_dim, q_len, out, ldo);
    check_launch("attention (merge)");
  }
}

}  // namespace tfx::cuda::raw
