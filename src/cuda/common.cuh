// Shared by the CUDA backend's .cu files (not installed, not a public header): error checks, storage-type
// conversions on the device, warp / block reductions and launch-size helpers.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <cublas_v2.h>

#include <algorithm>
#include <cstdint>
#include <cmath>

#include "tfx/core/dtype.hpp"
#include "tfx/core/error.hpp"

namespace tfx::cuda::detail {

using i64 = std::int64_t;

/// Throws tfx::error "CUDA <what>: <error name> (<error string>)" unless e is cudaSuccess (defined in runtime.cu).
void check(cudaError_t e, const char* what);
/// Throws tfx::error "cuBLAS <what>: <status name> (<status string>)" unless s is CUBLAS_STATUS_SUCCESS.
void check_blas(cublasStatus_t s, const char* what);
/// The last launch's status (a failed launch: a bad configuration, too much shared memory, no kernel image).
inline void check_launch(const char* what) { check(cudaGetLastError(), what); }

inline cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }

/// Calls f(T{}) with the storage type t names (float, tfx::bf16 or tfx::f16), on the host.
template <class F>
void dispatch_storage(dtype t, F&& f) {
  switch (t) {
    case dtype::f32: f(float{}); return;
    case dtype::bf16: f(tfx::bf16{}); return;
    case dtype::f16: f(tfx::f16{}); return;
  }
  tfx::fail("CUDA: unknown storage dtype ", static_cast<int>(t));
}

// ---- storage conversions (device) ---------------------------------------------------------------------------
// tfx::bf16 / tfx::f16 are 16-bit patterns; read and written as such. Widening is exact; narrowing rounds to
// nearest even exactly as tfx::to_bf16 / tfx::to_f16 do (NaN -> the canonical quiet NaN 0x7fc0 for bf16).

__device__ __forceinline__ float widen(float x) { return x; }
__device__ __forceinline__ float widen(tfx::bf16 x) {
  return __uint_as_float(static_cast<std::uint32_t>(x.bits) << 16);
}
__device__ __forceinline__ float widen(tfx::f16 x) { return __half2float(__ushort_as_half(x.bits)); }

template <class T>
__device__ __forceinline__ T narrow(float f);
template <>
__device__ __forceinline__ float narrow<float>(float f) {
  return f;
}
template <>
__device__ __forceinline__ tfx::bf16 narrow<tfx::bf16>(float f) {
  const std::uint32_t u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return tfx::bf16{0x7fc0};
  const std::uint32_t rounding_bias = 0x7fffu + ((u >> 16) & 1u);
  return tfx::bf16{static_cast<std::uint16_t>((u + rounding_bias) >> 16)};
}
template <>
__device__ __forceinline__ tfx::f16 narrow<tfx::f16>(float f) {
  const std::uint32_t u = __float_as_uint(f);  // NaN: the sign and a quiet NaN, as tfx::from_float<f16> gives
  if ((u & 0x7fffffffu) > 0x7f800000u) return tfx::f16{static_cast<std::uint16_t>(((u >> 16) & 0x8000u) | 0x7e00u)};
  return tfx::f16{__half_as_ushort(__float2half_rn(f))};  // cvt.rn.f16.f32: nearest even, subnormals, inf
}

__host__ __device__ __forceinline__ i64 min64(i64 a, i64 b) { return a < b ? a : b; }
__host__ __device__ __forceinline__ i64 max64(i64 a, i64 b) { return a > b ? a : b; }

// ---- reductions (device) --------------------------------------------------------------------------------------
// Butterfly (xor) reductions: every lane ends with the same, bit-identical value.

template <class T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
template <class T>
__device__ __forceinline__ T warp_max(T v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = max(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

/// Sum over the block (blockDim.x a multiple of 32, at most 1024), returned to every thread. `sh`: 32 shared
/// slots; safe to call repeatedly with the same slots.
template <class T>
__device__ __forceinline__ T block_sum(T v, T* sh) {
  v = warp_sum(v);
  const int lane = static_cast<int>(threadIdx.x & 31), warp = static_cast<int>(threadIdx.x >> 5);
  const int warps = static_cast<int>(blockDim.x >> 5);
  __syncthreads();  // the slots' previous readers are done
  if (lane == 0) sh[warp] = v;
  __syncthreads();
  return warp_sum(lane < warps ? sh[lane] : T(0));
}
template <class T>
__device__ __forceinline__ T block_max(T v, T* sh) {
  v = warp_max(v);
  const int lane = static_cast<int>(threadIdx.x & 31), warp = static_cast<int>(threadIdx.x >> 5);
  const int warps = static_cast<int>(blockDim.x >> 5);
  __syncthreads();
  if (lane == 0) sh[warp] = v;
  __syncthreads();
  return warp_max(lane < warps ? sh[lane] : T(-INFINITY));
}

// ---- launch shapes (host) -----------------------------------------------------------------------------------

/// A grid for a [rows, cols] element-wise kernel that loops rows over blockIdx.y (grid-stride) and columns over
/// blockIdx.x * blockDim.x + threadIdx.x (grid-stride).
inline dim3 grid_2d(i64 rows, i64 cols, int threads) {
  const i64 bx = std::min<i64>((cols + threads - 1) / threads, 1024);
  const i64 by = std::min<i64>(rows, 65535);
  return dim3(static_cast<unsigned>(bx), static_cast<unsigned>(by), 1);
}

inline void check_sizes(const char* what, i64 rows, i64 cols) {
  if (rows < 0 || cols < 0) tfx::fail("CUDA ", what, ": negative size [", rows, ", ", cols, "]");
}

}  // namespace tfx::cuda::detail
