// The CUDA backend's compiled half: host functions that launch kernels, implemented in src/cuda/*.cu and built
// by nvcc into the tfx_cuda library (CMake option TFX_CUDA). This header is plain C++ (no CUDA headers), so the
// rest of tfx, and a consumer's own code, compile with any C++20 compiler; only the .cu files need nvcc.
//
// Every pointer below is a device pointer unless its comment says "host". Every call is asynchronous on `stream`
// (a cudaStream_t passed as void*), except the ones that say they synchronise. Matrices are row-major with a row
// stride `ld*` in elements. Errors (a failed launch, an out-of-memory allocation, a cuBLAS status) throw
// tfx::error naming the call and the CUDA / cuBLAS error string.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "tfx/core/dtype.hpp"
#include "tfx/kernels/types.hpp"

namespace tfx::cuda::raw {

using i64 = std::int64_t;

// ---- runtime ------------------------------------------------------------------------------------------------
/// Number of CUDA devices; 0 when there is none or no driver (never throws).
int device_count();
/// "NVIDIA H200 (sm_90, 132 SMs, 139.8 GiB)" for device `dev`.
std::string device_description(int dev);
void set_device(int dev);
void* malloc(std::size_t bytes);  // cudaMalloc; throws tfx::error on failure
void free(void* p) noexcept;
void* host_malloc_pinned(std::size_t bytes);
void host_free_pinned(void* p) noexcept;
void copy_to_device(void* dst, const void* host_src, std::size_t bytes, void* stream);  // async
void copy_to_host(void* host_dst, const void* src, std::size_t bytes, void* stream);    // async
void copy_device(void* dst, const void* src, std::size_t bytes, void* stream);          // async
void* stream_create();
void stream_destroy(void* stream) noexcept;
void stream_synchronize(void* stream);
void* event_create();
void event_destroy(void* event) noexcept;
void event_record(void* event, void* stream);
/// Milliseconds between two recorded events (synchronises on `end`).
float event_elapsed_ms(void* start, void* end);
void* blas_create(void* stream);  // a cuBLAS handle bound to `stream`
void blas_destroy(void* blas) noexcept;

// ---- kernels (semantics: the CPU reference kernels in backend/cpu/scalar/) -----------------------------------
/// out[i, :] = table[ids[i], :] widened to f32. ids: device, already validated against `vocab`.
void embedding(void* stream, const std::int32_t* ids, i64 n, const void* table, dtype table_type, i64 ld_table,
               i64 dim, float* out, i64 ld_out);
/// y = (x / sqrt(mean(x^2) + eps)) * (offset + w), statistics in f32. y may alias x. w: `dim` elements of w_type.
void rms_norm(void* stream, const float* x, i64 ldx, i64 rows, i64 dim, const void* w, dtype w_type, float eps,
              float offset, float* y, i64 ldy);
/// y = (x - mean) / sqrt(var + eps) * gamma + beta (biased variance). beta may be null. y may alias x.
void layer_norm(void* stream, const float* x, i64 ldx, i64 rows, i64 dim, const void* gamma, const void* beta,
                dtype w_type, float eps, float* y, i64 ldy);
/// x = act(x)
void activation(void* stream, float* x, i64 ldx, i64 rows, i64 cols, tfx::activation act);
/// gate = act(gate) * up
void gated_activation(void* stream, float* gate, i64 ldg, const float* up, i64 ldu, i64 rows, i64 cols,
                      tfx::activation act);
/// y += x
void add(void* stream, float* y, i64 ldy, const float* x, i64 ldx, i64 rows, i64 cols);
/// x = softmax(x / temperature) per row; -inf entries give 0; an all -inf row gives zeros.
void softmax(void* stream, float* x, i64 ldx, i64 rows, i64 cols, float temperature);
/// cos[t, j] = cos(float(start + t) * inv_freq[j]) * scaling, sin likewise; t < n, j < half. inv_freq: device.
void rope_table(void* stream, const float* inv_freq, i64 half, i64 start, i64 n, float scaling, float* cos,
                float* sin);
/// Rotates the first 2 * half dims of each head of each row of x ([rows, heads * head_dim]) by row t's
/// cos / sin (tables [rows, half], row stride half), in `layout`.
void rope(void* stream, float* x, i64 ldx, i64 rows, int heads, int head_dim, const float* cos, const float* sin,
          i64 half, rope_layout layout);
/// Writes rows t < n of k and v ([n, kv_heads * head_dim] f32) at positions pos + t of a kv-head-major cache
/// (element (h, p, e) at h * head_stride + p * head_dim + e), rounded to the cache's type (nearest even).
void kv_append(void* stream, void* k_cache, void* v_cache, dtype cache_type, i64 head_stride, int kv_heads,
               int head_dim, i64 pos, const float* k, i64 ldk, const float* v, i64 ldv, i64 n);
/// Attention of q ([q_len, heads * head_dim]) over kv_len cached keys / values (the cache layout above, of
/// cache_type), GQA group = heads / kv_heads; query row i sits at position q_offset + i and sees key j iff
/// (!causal || j <= pos) && (window == 0 || j > pos - window). Flash-attention style (online softmax, f32
/// accumulation); decode (few query rows, a long cache) splits the keys over blocks and merges the partial
/// results (flash-decoding) through `workspace` (attention_workspace() floats).
void attention(void* stream, const float* q, i64 ldq, i64 q_len, const void* k_cache, const void* v_cache,
               dtype cache_type, i64 kv_len, i64 head_stride, int heads, int kv_heads, int head_dim, float scale,
               bool causal, i64 q_offset, i64 window, float* out, i64 ldo, float* workspace);
std::size_t attention_workspace(i64 q_len, i64 kv_len, int heads, int head_dim);
/// y = x . W^T + bias (W [out, in] when !in_out, else [in, out], row stride ldw, elements of w_type) through
/// cuBLAS with f32 accumulation: f32 weights multiply f32 x; bf16 / f16 weights multiply x rounded to the
/// weights' type (`workspace`: linear_workspace() bytes). bias: `out` f32 values or null.
void linear(void* blas, void* stream, const float* x, i64 ldx, i64 rows, const void* w, dtype w_type, bool in_out,
            i64 out, i64 in, i64 ldw, const float* bias, float* y, i64 ldy, void* workspace);
std::size_t linear_workspace(i64 rows, i64 in, dtype w_type);

}  // namespace tfx::cuda::raw
