// Helpers shared by the xsimd kernels. The only place that names xsimd APIs that changed between versions.
#pragma once
#include <omp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>

#include "tfx/backend/cpu/simd/diagnostics.hpp"
#include "tfx/backend/cpu/simd/policy.hpp"
#include "tfx/core/dtype.hpp"
#include "tfx/core/error.hpp"
#include "tfx/core/view.hpp"
#include "tfx/kernels/types.hpp"

TFX_VECTOR_CODE_BEGIN

namespace tfx::cpu::vec {

template <class A>
using fbatch = xsimd::batch<float, A>;

template <class A>
inline float reduce_sum(fbatch<A> b) {
  return xsimd::hadd(b);  // xsimd >= 9 renames this reduce_add
}

template <class A>
inline float reduce_max(fbatch<A> b) {
  alignas(64) float lanes[fbatch<A>::size];
  b.store_aligned(lanes);
  return *std::max_element(lanes, lanes + fbatch<A>::size);
}

/// Decode streams each weight row once from memory. Its dot products request the line this many bytes ahead of
/// the one they read into L2 as they go (one request per 64 bytes read, interleaved with the loads): the rows of a
/// matrix are contiguous, so the requests run on into the next rows of the thread's share and keep more lines in
/// flight than the hardware prefetcher does. On a 2-core Xeon a model-shaped BF16 decode loop read 27-29 GB/s this
/// way against 24-25 GB/s with each whole row requested 8 rows ahead (bursts of 32 requests that fill the line
/// buffers the loads then wait for) and 22 GB/s with no requests. In the model 4-16 KB measured alike, 2 KB about
/// 4% and 1 KB 13% slower (BF16 tg64); prefetcht0 instead of prefetcht1 measured 20% slower in the loop.
inline constexpr Index stream_ahead = 8192;

/// Requests the line `ahead` bytes past p into L2 when ahead is not 0: a hint, which never faults and cannot
/// change a result.
inline void prefetch_ahead(const void* p, Index ahead) {
  if (ahead) __builtin_prefetch(static_cast<const char*>(p) + ahead, 0, 2);
}

/// sum_i a[i] * b[i] in f32 with vector accumulators. `ahead` (bytes, 0: none) requests b's lines that far on as
/// they are read: decode passes stream_ahead for a weight row b read once from memory.
template <class A>
inline float dot(const float* a, const float* b, Index n, Index ahead = 0) {
  constexpr Index W = fbatch<A>::size, lines = (2 * W * Index{sizeof(float)} + 63) / 64;
  fbatch<A> acc0(0.f), acc1(0.f);
  Index i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    for (Index l = 0; l < lines; ++l) prefetch_ahead(b + i + l * 16, ahead);
    acc0 = xsimd::fma(fbatch<A>::load_unaligned(a + i), fbatch<A>::load_unaligned(b + i), acc0);
    acc1 = xsimd::fma(fbatch<A>::load_unaligned(a + i + W), fbatch<A>::load_unaligned(b + i + W), acc1);
  }
  for (; i + W <= n; i += W) acc0 = xsimd::fma(fbatch<A>::load_unaligned(a + i), fbatch<A>::load_unaligned(b + i), acc0);
  float s = reduce_sum<A>(acc0 + acc1);
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

/// y[i] += alpha * x[i]
template <class A>
inline void axpy(float alpha, const float* x, float* y, Index n) {
  constexpr Index W = fbatch<A>::size;
  const fbatch<A> va(alpha);
  Index i = 0;
  for (; i + W <= n; i += W) xsimd::fma(va, fbatch<A>::load_unaligned(x + i), fbatch<A>::load_unaligned(y + i)).store_unaligned(y + i);
  for (; i < n; ++i) y[i] += alpha * x[i];
}

/// Widens n storage values to f32 (a plain loop the compiler vectorises; identity copy for float). `ahead`: as
/// dot's, for src.
template <class T>
inline void to_f32(const T* src, float* dst, Index n, Index ahead = 0) {
  constexpr Index line = 64 / Index{sizeof(T)};
  Index i = 0;
  if (ahead)
    for (; i + line <= n; i += line) {
      prefetch_ahead(src + i, ahead);
      for (Index j = i; j < i + line; ++j) dst[j] = to_float(src[j]);
    }
  for (; i < n; ++i) dst[i] = to_float(src[i]);
}

/// A pointer to n f32 values of src: src itself for float, else widened into `buf` (`ahead`: as to_f32's).
template <class T>
inline const float* as_f32(const T* src, float* buf, Index n, Index ahead = 0) {
  if constexpr (std::is_same_v<T, float>) {
    return src;
  } else {
    to_f32(src, buf, n, ahead);
    return buf;
  }
}

inline int threads_for(const Context& ctx, Index work_items) {
  return static_cast<int>(std::max<Index>(1, std::min<Index>(ctx.threads, work_items)));
}

/// Runs body(i) for i in [0, n) on nt OpenMP threads (static or dynamic schedule). With one thread the loop runs
/// inline without entering the OpenMP runtime: even a serialised parallel region costs about a microsecond, which
/// adds up over the dozen kernels of every layer in a decode step. omp_get_thread_num() in body is the worker slot.
template <class F>
inline void parallel_for(int nt, Index n, F&& body, bool dynamic = false) {
  if (nt <= 1) {
    for (Index i = 0; i < n; ++i) body(i);
  } else if (dynamic) {
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (Index i = 0; i < n; ++i) body(i);
  } else {
#pragma omp parallel for num_threads(nt) schedule(static)
    for (Index i = 0; i < n; ++i) body(i);
  }
}

/// Runs body(i) for i in [0, n) on nt OpenMP threads: each thread walks its own contiguous share in chunks, then
/// helps with what is left of the others' shares (taking chunks from the same counters). For memory-bound loops
/// (decode streams every weight row once): each thread keeps one sequential stream, as a static schedule does, but
/// a thread whose share streamed faster does not wait at the end for the other.
template <class F>
inline void parallel_for_shared_tail(int nt, Index n, Index chunk, F&& body) {
  if (nt <= 1) {
    for (Index i = 0; i < n; ++i) body(i);
    return;
  }
  struct alignas(64) Share {
    std::atomic<Index> next;
    Index end;
  };
  std::array<Share, 16> local;  // no allocation for teams of up to 16 (a decode step runs this loop many times)
  std::unique_ptr<Share[]> heap;
  Share* shares = local.data();
  if (nt > static_cast<int>(local.size())) shares = (heap = std::make_unique<Share[]>(static_cast<std::size_t>(nt))).get();
  for (int t = 0; t < nt; ++t) {
    shares[t].next.store(n * t / nt, std::memory_order_relaxed);
    shares[t].end = n * (t + 1) / nt;
  }
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num();
    for (int k = 0; k < nt; ++k) {
      Share& s = shares[(t + k) % nt];
      for (;;) {
        const Index i0 = s.next.fetch_add(chunk, std::memory_order_relaxed);
        if (i0 >= s.end) break;
        for (Index i = i0; i < std::min(s.end, i0 + chunk); ++i) body(i);
      }
    }
  }
}

/// One loop over the items of several parts (the output rows or column blocks of a group of products): part p
/// owns items [first[p], first[p + 1]).
struct PartRanges {
  static constexpr std::size_t max_parts = 8;
  std::array<Index, max_parts + 1> first{};
  std::size_t parts = 0;
  /// items(p): the item count of part p.
  template <class Items>
  PartRanges(std::size_t n, Items&& items) : parts(n) {
    TFX_CHECK(n <= max_parts, "a group of ", n, " products; at most ", max_parts);
    for (std::size_t p = 0; p < n; ++p) first[p + 1] = first[p] + items(p);
  }
  Index total() const { return first[parts]; }
  std::size_t part_of(Index i) const {
    std::size_t p = 0;
    while (i >= first[p + 1]) ++p;
    return p;
  }
};

/// Threads for a loop over `rows` independent rows holding `elements` values in all: one per `grain` elements,
/// never more than there are rows (a team larger than the loop would only wait).
inline int threads_for_rows(const Context& ctx, Index rows, Index elements, Index grain) {
  return threads_for(ctx, std::min(rows, elements / grain + 1));
}

#if defined(__AVX512F__)
/// 16 stored values as f32: f32 as stored, bf16 and f16 widened (exactly, as to_float).
template <class T>
inline __m512 load16(const T* p) {
  if constexpr (std::is_same_v<T, float>)
    return _mm512_loadu_ps(p);
  else if constexpr (std::is_same_v<T, bf16>)
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))), 16));
  else
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
#endif

}  // namespace tfx::cpu::vec

TFX_VECTOR_CODE_END
