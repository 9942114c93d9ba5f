// Packed GEMM for prefill: Y[M, N] = X[M, K] . W^T (+ b), W in either weight layout, on AVX-512.
//
//   f32 kernel   f32 activations x f32 weights (bf16/f16 weights widened while packing), 14 x 32 register tile,
//                FMA; replaces Eigen's GEMM (see docs/performance.md for the measured difference).
//   bf16 kernel  activations rounded to bf16 once per product, bf16 weights, vdpbf16ps (AVX512-BF16: two
//                products per f32 lane per instruction, accumulated in f32), 14 x 32 register tile. Used for
//                bf16 weights when Context::precision is Precision::fast.
//   AMX kernel   the bf16 kernel's operands on AMX tiles (tdpbf16ps), 32 x 32 blocks of four tile accumulators,
//                where the CPU has AMX-BF16 and the OS grants the tile state (product_amx); also Q8_0 and Q4_0
//                weights there, dequantized to bf16 while packing.
//   int8 kernel  Q8_0 weights x activations quantized to Q8_0 blocks once per product, vpdpbusd (AVX512-VNNI:
//                four byte products per i32 lane per instruction), 6 x 32 register tile; per block of 32 the i32
//                sums are scaled by both blocks' scales into f32 accumulators (llama.cpp's q8_0 x q8_0 product,
//                as a GEMM). See product_q8 below.
//
// Layout: X is packed once per product into tiles of MR rows, k-major ([K][MR] f32, or [K/2][MR] bf16 pairs),
// shared by the threads. Each thread owns blocks of NB output columns; per block of KC reduction steps it packs
// its weights into panels of NR = 32 columns, k-major ([KC][32] f32, or [KC/2][32] bf16 pairs, so one 64-byte
// load holds a k pair of 32 columns), then runs the micro-kernel over every row tile and every panel. Tails are
// zero padding in the packed buffers and masked stores, so any M, N, K and any row stride work.
// The weights are packed from the mapped checkpoint on the fly: nothing is copied or kept at load.
#pragma once
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "tfx/backend/cpu/simd/common.hpp"
#include "tfx/core/weights.hpp"

TFX_VECTOR_CODE_BEGIN

namespace tfx::cpu::gemm {

#if defined(__AVX512F__)
inline constexpr bool available_f32 = true;
#else
inline constexpr bool available_f32 = false;
#endif
#if defined(__AVX512F__) && defined(__AVX512BF16__)
inline constexpr bool available_bf16 = true;
#else
inline constexpr bool available_bf16 = false;
#endif
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__)
inline constexpr bool available_q8 = true;
#else
inline constexpr bool available_q8 = false;
#endif

inline constexpr Index MR = 14;  // rows of the register tile: 14 x 2 accumulators + 2 weight vectors + 1 broadcast
inline constexpr Index NR = 32;  // columns of the register tile (two 16-lane vectors)
inline constexpr Index NB = 256;  // output columns per thread block
inline constexpr Index KC = 256;  // reduction steps per packed weight block (f32; bf16 packs 2 * KC)

/// quantize_row_q8_0 (core/weights.hpp) for activations, with AVX-512 where the build has it, bit for bit: the block maximum is order-independent, and
/// x * (1 / d) is rounded half away from zero as std::lround does (trunc, then one step away from zero where the
/// dropped fraction is at least one half; the fraction v - trunc(v) is exact in f32).
inline void quantize_activations_q8_0(const float* x, Index n, Index stride, std::int8_t* q, float* d) {
#if defined(__AVX512F__) && defined(__AVX512BW__)
  const Index full = n / Q8_0::block * Q8_0::block;
  const __m512 sign = _mm512_set1_ps(-0.f), half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.f);
  for (Index i0 = 0; i0 < full; i0 += Q8_0::block) {
    const __m512 a = _mm512_loadu_ps(x + i0), b = _mm512_loadu_ps(x + i0 + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_andnot_ps(sign, a), _mm512_andnot_ps(sign, b)));
    const float dq = amax / 127.f, id = dq != 0.f ? 1.f / dq : 0.f;
    d[i0 / Q8_0::block] = dq;
    const auto round = [&](__m512 v) {
      v = _mm512_mul_ps(v, _mm512_set1_ps(id));
      const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
      const __mmask16 up = _mm512_cmp_ps_mask(_mm512_andnot_ps(sign, _mm512_sub_ps(v, t)), half, _CMP_GE_OQ);
      const __m512 step = _mm512_or_ps(one, _mm512_and_ps(sign, v));  // +-1 with v's sign
      return _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(_mm512_mask_add_ps(t, up, t, step)));
    };
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i0), round(a));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i0 + 16), round(b));
  }
  if (full < stride) quantize_row_q8_0(x + full, n - full, stride - full, q + full, d + full / Q8_0::block);
#else
  quantize_row_q8_0(x, n, stride, q, d);
#endif
}

/// Value type of the packed operands: f32, or a pair of bf16 in one 32-bit word (low half = even k).
enum class kind { f32, bf16 };

#if defined(__AVX512F__)
namespace detail {

inline std::uint32_t pair_bits(std::uint16_t lo, std::uint16_t hi) {
  return static_cast<std::uint32_t>(lo) | (static_cast<std::uint32_t>(hi) << 16);
}
/// The bf16 bits of 16 floats, rounded as to_bf16 does (nearest even, NaN to the canonical quiet NaN).
inline __m256i bf16_bits(__m512 x) {
  const __m512i u = _mm512_castps_si512(x);
  const __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff),
                                                         _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1))));
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
  return _mm512_cvtepi32_epi16(_mm512_srli_epi32(_mm512_mask_mov_epi32(r, nan, _mm512_set1_epi32(0x7fc00000)), 16));
}
/// dst[i] = to_bf16(src[i] * scale).bits for i < n, then a zero when n is odd (the pad of the last k pair):
/// to_bf16's integer rounding (nearest even, NaN to the canonical quiet NaN), 16 values per step, so every path
/// that rounds an operand to bf16 gives the same bits. Words of dst are then the k pairs the bf16 kernel multiplies.
inline void round_bf16(const float* src, Index n, std::uint16_t* dst, float scale = 1.f) {
  for (Index i = 0; i < n; i += 16) {
    const Index left = std::min<Index>(16, n - i);
    const __mmask16 live = static_cast<__mmask16>((1u << left) - 1u);
    // A whole vector by a plain load: a masked load is not forwarded from the stores that just wrote src.
    const __m512 x = left == 16 ? _mm512_loadu_ps(src + i) : _mm512_maskz_loadu_ps(live, src + i);
    const __m256i h = bf16_bits(_mm512_mul_ps(x, _mm512_set1_ps(scale)));
    if (left == 16) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), h);
    } else {
      alignas(32) std::uint16_t part[16];
      _mm256_store_si256(reinterpret_cast<__m256i*>(part), h);
      std::memcpy(dst + i, part, static_cast<std::size_t>(left) * sizeof(std::uint16_t));
    }
  }
  if (n % 2) dst[n] = 0;
}
/// A row of `padded` bf16 values: src (n values) times scale, rounded as round_bf16, then zeros; all zeros for a
/// null src (a row past the end of the matrix).
inline void bf16_row(const float* src, Index n, Index padded, std::uint16_t* dst, float scale = 1.f) {
  if (!src) n = 0;
  else round_bf16(src, n, dst, scale);
  std::fill(dst + n, dst + padded, std::uint16_t{0});
}
/// dst[c * ldd + r] = src[r * lds + c] for a 16 x 16 block of floats (three rounds of AVX-512 shuffles); only the
/// columns r of dst set in `keep` are written.
inline void transpose16(const float* src, Index lds, float* dst, Index ldd, __mmask16 keep = 0xffff) {
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * lds);
  for (int i = 0; i < 8; ++i) {  // per 128-bit lane: rows 2i, 2i+1 interleaved
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {  // r[4i + c], lane L: column 4L + c of rows 4i .. 4i + 3
    const auto lo = [&](int a, int b) {
      return _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[a]), _mm512_castps_pd(t[b])));
    };
    const auto hi = [&](int a, int b) {
      return _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[a]), _mm512_castps_pd(t[b])));
    };
    r[4 * i] = lo(4 * i, 4 * i + 2);
    r[4 * i + 1] = hi(4 * i, 4 * i + 2);
    r[4 * i + 2] = lo(4 * i + 1, 4 * i + 3);
    r[4 * i + 3] = hi(4 * i + 1, 4 * i + 3);
  }
  for (int c = 0; c < 4; ++c) {  // column 4L + c gathers lane L of r[c], r[4 + c], r[8 + c], r[12 + c]
    const __m512 x0 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x44), x1 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xEE);
    const __m512 y0 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x44), y1 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xEE);
    _mm512_mask_storeu_ps(dst + (0 + c) * ldd, keep, _mm512_shuffle_f32x4(x0, y0, 0x88));
    _mm512_mask_storeu_ps(dst + (4 + c) * ldd, keep, _mm512_shuffle_f32x4(x0, y0, 0xDD));
    _mm512_mask_storeu_ps(dst + (8 + c) * ldd, keep, _mm512_shuffle_f32x4(x1, y1, 0x88));
    _mm512_mask_storeu_ps(dst + (12 + c) * ldd, keep, _mm512_shuffle_f32x4(x1, y1, 0xDD));
  }
}

/// Words per staged row of pack_a_tile: the packed steps rounded up to whole 16 x 16 transposes.
inline Index staged_words(Index steps) { return (steps + 15) / 16 * 16; }

/// Packs rows [r0, r0 + MR) of x, times `scale` (zero rows past the end), into [steps][MR]; a step is one k (f32)
/// or a k pair (bf16, rounded to nearest even as PyTorch's .to(bfloat16)). The rows are staged as 16 rows of words
/// (f32 values or bf16 pairs, zero padded; stage holds 16 * staged_words(steps)), then turned k-major by 16 x 16
/// transposes, so the packed tile is written in order rather than one word every MR.
template <kind Kd>
inline void pack_a_tile(Rows<const float> x, Index r0, Index steps, void* dst, std::uint32_t* stage, float scale = 1.f) {
  const Index ld = staged_words(steps);
  for (Index m = 0; m < 16; ++m) {
    std::uint32_t* row = stage + m * ld;
    Index filled = 0;
    if (m < MR && r0 + m < x.rows) {
      const float* src = x.row(r0 + m);
      if constexpr (Kd == kind::f32) {
        auto* f = reinterpret_cast<float*>(row);
        if (scale == 1.f) std::memcpy(f, src, static_cast<std::size_t>(x.cols) * sizeof(float));
        else for (Index k = 0; k < x.cols; ++k) f[k] = src[k] * scale;
      } else {
        round_bf16(src, x.cols, reinterpret_cast<std::uint16_t*>(row), scale);  // odd K: a zero pad value
      }
      filled = steps;
    }
    std::fill(row + filled, row + ld, 0u);
  }
  float* d = static_cast<float*>(dst);
  constexpr auto rows = static_cast<__mmask16>((1u << MR) - 1u);
  Index s0 = 0;
  for (; s0 + 16 <= steps; s0 += 16) transpose16(reinterpret_cast<const float*>(stage + s0), ld, d + s0 * MR, MR, rows);
  if (s0 < steps) {  // the last steps through a buffer: the packed tile ends there
    alignas(64) float t[16 * 16];
    transpose16(reinterpret_cast<const float*>(stage + s0), ld, t, 16);
    for (Index i = 0; i < steps - s0; ++i) std::memcpy(d + (s0 + i) * MR, t + i * 16, MR * sizeof(float));
  }
}

/// Output column n of W over the reduction range [k0, k0 + kc), as f32: in place for f32 [out, in] rows, otherwise
/// widened or dequantized into buf (kc floats).
template <class T, weight_layout L>
inline const float* column_f32(const Dense<T, L>& w, Index n, Index k0, Index kc, float* buf) {
  if constexpr (L == weight_layout::out_in) {
    return vec::as_f32(w.m.row(n) + k0, buf, kc);
  } else {
    for (Index k = 0; k < kc; ++k) buf[k] = to_float(w.m(k0 + k, n));
    return buf;
  }
}
template <BlockQuantized Q>
inline const float* column_f32(const Q& w, Index n, Index k0, Index kc, float* buf) {
  w.dequantize(n, k0, kc, buf);
  return buf;
}

/// Packs W columns [n0, n0 + nb) x reduction [k0, k0 + kc) into panels of NR columns, [steps][NR] each (columns
/// past n0 + nb are zeros). Two formats take a shortcut: f32 [out, in] rows are transposed 16 x 16 in registers
/// (f16 rows too, each 16 x 16 block widened in L1 first), and a k pair of a bf16 [out, in] row is already the
/// 32-bit word the bf16 kernel multiplies. bf16 panels may be given more steps than the block has (`panel_steps`,
/// the AMX kernel's whole tiles): the extra steps are zeros; and a panel pitch (`panel_pitch` steps from one panel
/// to the next, the AMX kernel's panels over the whole reduction).
template <kind Kd, class W>
inline void pack_b_block(const W& w, Index n0, Index nb, Index k0, Index kc, void* dst, Index panel_steps = 0,
                         Index panel_pitch = 0) {
  const Index panels = (nb + NR - 1) / NR;
  float buf[2 * KC];  // one column's values as f32 (kc <= 2 * KC)
  if constexpr (Kd == kind::f32) {
    float* d = static_cast<float*>(dst);
    for (Index p = 0; p < panels; ++p) {
      float* panel = d + p * kc * NR;
      for (Index j0 = 0; j0 < NR; j0 += 16) {  // groups of 16 columns
        const Index first = n0 + p * NR + j0, valid = std::clamp<Index>(n0 + nb - first, 0, 16);
        if constexpr (std::is_same_v<W, Dense<float, weight_layout::out_in>> ||
                      std::is_same_v<W, Dense<f16, weight_layout::out_in>>) {
          if (valid == 16) {  // 16 rows at a time, 16 x 16 blocks transposed (f16 widened into L1 first)
            const auto* src = w.m.row(first) + k0;
            Index k = 0;
            for (; k + 16 <= kc; k += 16) {
              if constexpr (std::is_same_v<W, Dense<float, weight_layout::out_in>>) {
                transpose16(src + k, w.m.ld, panel + k * NR + j0, NR);
              } else {
                alignas(64) float wide[16 * 16];
                for (Index jj = 0; jj < 16; ++jj) _mm512_store_ps(wide + 16 * jj, vec::load16(src + jj * w.m.ld + k));
                transpose16(wide, 16, panel + k * NR + j0, NR);
              }
            }
            for (; k < kc; ++k)
              for (Index jj = 0; jj < 16; ++jj) panel[k * NR + j0 + jj] = to_float(src[jj * w.m.ld + k]);
            continue;
          }
        }
        for (Index jj = 0; jj < 16; ++jj) {
          float* col = panel + j0 + jj;
          if (jj >= valid) {
            for (Index k = 0; k < kc; ++k) col[k * NR] = 0.f;
            continue;
          }
          const float* src = column_f32(w, first + jj, k0, kc, buf);
          for (Index k = 0; k < kc; ++k) col[k * NR] = src[k];
        }
      }
    }
  } else {
    auto* d = static_cast<std::uint32_t*>(dst);
    const Index steps = (kc + 1) / 2, full = kc / 2, stride = std::max(steps, panel_steps);
    for (Index p = 0; p < panels; ++p) {
      std::uint32_t* panel = d + p * (panel_pitch ? panel_pitch : stride) * NR;
      std::fill(panel + steps * NR, panel + stride * NR, 0u);
      if constexpr (BlockQuantized<W>) {
        // Whole panels over whole blocks: a block of a column is dequantized 32 values at a time (q * d in f32, as
        // dequantize() computes it), rounded to 16 bf16 pair words, and 16 columns of staged words become 16 steps
        // of the panel by one transpose; the same bits as the column-by-column path below.
        if (n0 + p * NR + NR <= n0 + nb && k0 % W::block == 0 && kc % W::block == 0) {
          alignas(64) std::uint32_t stage[16 * 16];
          alignas(64) float vals[W::block];
          alignas(16) std::int8_t tmp[W::block];
          for (Index j0 = 0; j0 < NR; j0 += 16)
            for (Index b = k0 / W::block; b < (k0 + kc) / W::block; ++b) {
              for (Index jj = 0; jj < 16; ++jj) {
                const Index n = n0 + p * NR + j0 + jj;
                const std::int8_t* q = tmp;
                if constexpr (std::is_same_v<typename W::value_type, std::int8_t>) q = w.row(n) + b * W::block;
                else W::code::unpack_block(w.row(n), b, w.row_stride, tmp);
                const __m512 scale = _mm512_set1_ps(w.scale(n, b));
                for (int h = 0; h < 2; ++h)
                  _mm512_store_ps(vals + 16 * h, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
                                                                   _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 16 * h)))),
                                                               scale));
                round_bf16(vals, W::block, reinterpret_cast<std::uint16_t*>(stage + jj * 16));
              }
              transpose16(reinterpret_cast<const float*>(stage), 16,
                          reinterpret_cast<float*>(panel + (b * W::block - k0) / 2 * NR + j0), NR);
            }
          continue;
        }
      }
      if constexpr (std::is_same_v<W, Dense<bf16, weight_layout::out_in>>) {
        // Whole panels (rows an even number of values apart): the k-pair words of 16 rows are a 16 x 16 matrix of
        // 32-bit words, which transpose16 (on the same bits, viewed as floats) turns into 16 steps of the panel.
        if (n0 + p * NR + NR <= n0 + nb && w.m.ld % 2 == 0) {
          for (Index j0 = 0; j0 < NR; j0 += 16) {
            const bf16* src = w.m.row(n0 + p * NR + j0) + k0;
            Index st = 0;
            for (; st + 16 <= full; st += 16)
              transpose16(reinterpret_cast<const float*>(src + 2 * st), w.m.ld / 2,
                          reinterpret_cast<float*>(panel + st * NR + j0), NR);
            for (Index jj = 0; jj < 16; ++jj) {
              const bf16* row = src + jj * w.m.ld;
              for (Index t = st; t < full; ++t) std::memcpy(panel + t * NR + j0 + jj, row + 2 * t, sizeof(std::uint32_t));
              if (kc % 2) panel[full * NR + j0 + jj] = pair_bits(row[kc - 1].bits, 0);
            }
          }
          continue;
        }
      }
      for (Index j = 0; j < NR; ++j) {
        const Index n = n0 + p * NR + j;
        std::uint32_t* col = panel + j;
        if (n >= n0 + nb) {
          for (Index s = 0; s < steps; ++s) col[s * NR] = 0;
        } else if constexpr (std::is_same_v<W, Dense<bf16, weight_layout::out_in>>) {
          const bf16* src = w.m.row(n) + k0;
          for (Index s = 0; s < full; ++s) std::memcpy(col + s * NR, src + 2 * s, sizeof(std::uint32_t));
          if (kc % 2) col[full * NR] = pair_bits(src[kc - 1].bits, 0);
        } else {
          const float* src = column_f32(w, n, k0, kc, buf);
          for (Index s = 0; s < full; ++s) col[s * NR] = pair_bits(to_bf16(src[2 * s]).bits, to_bf16(src[2 * s + 1]).bits);
          if (kc % 2) col[full * NR] = pair_bits(to_bf16(src[kc - 1]).bits, 0);
        }
      }
    }
  }
}

/// y[:, n0 : n0 + nb] += bias[n0 : n0 + nb] (nothing for an empty bias).
inline void add_bias(std::span<const float> bias, Rows<float> y, Index n0, Index nb) {
  if (bias.empty()) return;
  for (Index r = 0; r < y.rows; ++r)
    for (Index o = n0; o < n0 + nb; ++o) y(r, o) += bias[static_cast<std::size_t>(o)];
}

/// Rows [0, mv) of a register tile (two 16-lane vectors a row) into C; columns >= nv are masked off; added to C's
/// values when `accumulate` (every reduction block after the first).
template <Index Rows_>
inline void store_tile(const __m512 (&acc)[Rows_][2], float* c, Index ldc, Index mv, Index nv, bool accumulate) {
  const auto lanes = [](Index n) -> __mmask16 { return n >= 16 ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1); };
  const __mmask16 k0 = lanes(nv), k1 = lanes(nv - 16);
  for (Index m = 0; m < mv; ++m) {
    float* cr = c + m * ldc;
    __m512 v0 = acc[m][0], v1 = acc[m][1];
    if (accumulate) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(k0, cr));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(k1, cr + 16));
    }
    _mm512_mask_storeu_ps(cr, k0, v0);
    _mm512_mask_storeu_ps(cr + 16, k1, v1);
  }
}

/// C[mv, nv] (+)= A-tile . B-panel over `steps` steps; rows >= mv and columns >= nv of the tile are not stored.
template <kind Kd>
[[gnu::noinline]] inline void micro(Index steps, const void* a_, const void* b_, float* c, Index ldc, Index mv, Index nv, bool accumulate) {
  __m512 acc[MR][2];
#pragma GCC unroll 14
  for (Index m = 0; m < MR; ++m) acc[m][0] = acc[m][1] = _mm512_setzero_ps();
  if constexpr (Kd == kind::f32) {
    const float* a = static_cast<const float*>(a_);
    const float* b = static_cast<const float*>(b_);
    for (Index k = 0; k < steps; ++k, a += MR, b += NR) {
      const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 14
      for (Index m = 0; m < MR; ++m) {
        const __m512 av = _mm512_set1_ps(a[m]);
        acc[m][0] = _mm512_fmadd_ps(av, b0, acc[m][0]);
        acc[m][1] = _mm512_fmadd_ps(av, b1, acc[m][1]);
      }
    }
  } else {
#if defined(__AVX512BF16__)
    const auto* a = static_cast<const std::int32_t*>(a_);
    const auto* b = static_cast<const std::uint32_t*>(b_);
    for (Index s = 0; s < steps; ++s, a += MR, b += NR) {
      const __m512bh b0 = (__m512bh)_mm512_load_si512(b), b1 = (__m512bh)_mm512_load_si512(b + 16);
#pragma GCC unroll 14
      for (Index m = 0; m < MR; ++m) {
        const __m512bh av = (__m512bh)_mm512_set1_epi32(a[m]);
        acc[m][0] = _mm512_dpbf16_ps(acc[m][0], av, b0);
        acc[m][1] = _mm512_dpbf16_ps(acc[m][1], av, b1);
      }
    }
#endif
  }
  store_tile(acc, c, ldc, mv, nv, accumulate);
}

/// The column blocks of a group of products, one loop over all of them: at most NB columns each, as many per
/// product as a multiple of the threads where that keeps them at least NR wide (384 columns on 2 threads are
/// 2 x 192, not 256 + 128: a thread idle for a third of the product).
template <class W>
struct ColumnBlocks {
  struct Block {
    std::size_t part;
    Index n0, nb;
  };
  std::span<const LinearPart<W>> parts;
  std::array<Index, vec::PartRanges::max_parts> width{};
  vec::PartRanges ranges;
  ColumnBlocks(const Context& ctx, std::span<const LinearPart<W>> parts_)
      : parts(parts_), ranges(parts_.size(), [&](std::size_t p) {
          const Index team = vec::threads_for(ctx, std::numeric_limits<Index>::max());
          const Index N = parts_[p].w->out_features(), base = (N + NB - 1) / NB, count = (base + team - 1) / team * team;
          width[p] = std::max(NR, ((N + count - 1) / count + NR - 1) / NR * NR);
          return (N + width[p] - 1) / width[p];
        }) {}
  Index total() const { return ranges.total(); }
  Block block(Index i) const {
    const std::size_t p = ranges.part_of(i);
    const Index n0 = (i - ranges.first[p]) * width[p];
    return {p, n0, std::min(width[p], parts[p].w->out_features() - n0)};
  }
};

/// Part `part` of `parts` of the weights pack_b_block(w, n0, nb, k0, kc) reads, asked into L2 (prefetcht1) while the
/// block before it computes, so that packing reads cached lines rather than memory (a prefill reads every weight
/// from memory once per product, and packing alone does not overlap that with arithmetic). Only layouts whose
/// reduction range is a run of bytes per output column: [out, in] rows and block-quantized rows.
template <class W>
inline void prefetch_b_block(const W& w, Index n0, Index nb, Index k0, Index kc, Index part, Index parts) {
  const Index per = (nb + parts - 1) / parts, r0 = part * per, r1 = std::min(nb, r0 + per);
  const auto lines = [](const void* p, std::size_t bytes) {
    const char* c = static_cast<const char*>(p);
    for (std::size_t o = 0; o < bytes; o += 64) _mm_prefetch(c + o, _MM_HINT_T1);
  };
  if constexpr (BlockQuantized<W>) {
    constexpr Index unit = W::code::per_unit;
    for (Index r = r0; r < r1; ++r)
      lines(w.row(n0 + r) + k0 / unit, static_cast<std::size_t>(kc / unit) * sizeof(typename W::value_type));
  } else if constexpr (W::layout == weight_layout::out_in) {
    for (Index r = r0; r < r1; ++r)
      lines(w.m.row(n0 + r) + k0, static_cast<std::size_t>(kc) * sizeof(typename W::element_type));
  }
}

/// The weights a thread packs after block gb's reduction range [k0, k0 + step): the next range of the same column
/// block, or else the first range of block gb + nt (the next one it takes when the threads keep pace, as they do
/// over blocks of equal width; a wrong guess costs only the bandwidth of the hint).
template <class W>
struct NextPack {
  const W* w = nullptr;
  Index n0 = 0, nb = 0, k0 = 0, kc = 0;
  NextPack(const ColumnBlocks<W>& blocks, Index gb, int nt, Index k0_, Index step, Index K) {
    Index g = gb;
    if (k0_ + step < K) k0 = k0_ + step;
    else if ((g = gb + nt) >= blocks.total()) return;
    const auto b = blocks.block(g);
    w = blocks.parts[b.part].w, n0 = b.n0, nb = b.nb, kc = std::min(step, K - k0);
  }
  void prefetch(Index part, Index parts) const {
    if (w) prefetch_b_block(*w, n0, nb, k0, kc, part, parts);
  }
};

}  // namespace detail

/// y_p = X . W_p^T (+ b_p) for every part p of a group that reads X (one product is a group of one), W a Dense
/// weight of either layout or Q8_0 (dequantized while packing): X is packed once, and the column blocks of all
/// parts are one parallel loop. Kd = kind::bf16 needs available_bf16.
template <kind Kd, class W>
void product(Context& ctx, Rows<const float> x, std::span<const LinearPart<W>> parts) {
  static_assert(Kd == kind::f32 || available_bf16, "gemm::product<kind::bf16> needs AVX512-BF16");
  const Index M = x.rows, K = x.cols;
  const Index per_step = Kd == kind::f32 ? 1 : 2;  // k values per packed step
  const Index kc_max = KC * per_step;
  const Index a_steps = (K + per_step - 1) / per_step;
  const Index tiles = (M + MR - 1) / MR;
  const detail::ColumnBlocks<W> blocks(ctx, parts);
  const int nt = vec::threads_for(ctx, blocks.total());

  ScratchScope scratch(ctx.scratch);
  // Both packed types are 4 bytes: f32 values, or bf16 pairs.
  auto* a_pack = scratch.take<std::uint32_t>(static_cast<std::size_t>(tiles * a_steps * MR)).data();
  const Index stage_sz = 16 * detail::staged_words(a_steps);
  auto* stage = scratch.take<std::uint32_t>(static_cast<std::size_t>(vec::threads_for(ctx, tiles) * stage_sz)).data();
  auto* b_pack = scratch.take<std::uint32_t>(static_cast<std::size_t>(nt * NB * KC)).data();

  vec::parallel_for(vec::threads_for(ctx, tiles), tiles, [&](Index t) {
    detail::pack_a_tile<Kd>(x, t * MR, a_steps, a_pack + t * a_steps * MR, stage + omp_get_thread_num() * stage_sz);
  });
  vec::parallel_for(nt, blocks.total(), [&](Index gb) {
    const auto [p, n0, nb] = blocks.block(gb);
    const W& w = *parts[p].w;
    const Rows<float> y = parts[p].y;
    std::uint32_t* bp = b_pack + omp_get_thread_num() * NB * KC;
    for (Index k0 = 0; k0 < K; k0 += kc_max) {
      const Index kc = std::min(kc_max, K - k0);
      const Index steps = (kc + per_step - 1) / per_step;
      detail::pack_b_block<Kd>(w, n0, nb, k0, kc, bp);
      const detail::NextPack<W> next(blocks, gb, nt, k0, kc_max, K);
      for (Index t = 0; t < tiles; ++t) {
        next.prefetch(t, tiles);
        const std::uint32_t* at = a_pack + (t * a_steps + k0 / per_step) * MR;
        for (Index j = 0; j < nb; j += NR)
          detail::micro<Kd>(steps, at, bp + (j / NR) * steps * NR, &y(t * MR, n0 + j), y.ld,
                            std::min(MR, M - t * MR), std::min(NR, nb - j), k0 > 0);
      }
    }
    detail::add_bias(parts[p].bias, y, n0, nb);
  }, true);
}

#if defined(__AMX_TILE__) && defined(__AMX_BF16__) && defined(__AVX512BF16__) && defined(__linux__)
inline constexpr bool available_amx = true;
namespace detail {
inline constexpr Index AM = 32;  // rows of an AMX block: two A tiles of 16 rows
inline constexpr Index AK = 32;  // k per tile step: an A tile row is 32 bf16, a B tile 16 k pairs

/// Linux gives a process AMX tile state only once it asks (arch_prctl ARCH_REQ_XCOMP_PERM for XTILEDATA, for the
/// whole process); asked once. False where the kernel refuses: the AVX-512 kernels run instead.
inline bool amx_permitted() {
  static const bool ok = [] {
    constexpr long req_xcomp_perm = 0x1023, xtiledata = 18;
    return syscall(SYS_arch_prctl, req_xcomp_perm, xtiledata) == 0;
  }();
  return ok;
}

/// Palette 1, eight tiles of 16 rows x 64 bytes: 0-3 the 2 x 2 f32 accumulators (16 x 16 each), 4-5 A (16 rows x 32
/// bf16), 6-7 B (16 k pairs x 16 columns). Tile state is per thread: each worker configures it.
inline void amx_configure() {
  struct alignas(64) Config {
    std::uint8_t palette, start_row, reserved[14];
    std::uint16_t colsb[16];
    std::uint8_t rows[16];
  } cfg{};
  static_assert(sizeof(Config) == 64);
  cfg.palette = 1;
  for (int t = 0; t < 8; ++t) cfg.colsb[t] = 64, cfg.rows[t] = 16;
  _tile_loadconfig(&cfg);
}
inline void amx_release() { _tile_release(); }

/// C[mv, nv] = C_in + A . B-panel for a block of AM rows and NR columns (C_in zero where c_in is null; c_in may be
/// c): A rows of bf16 (`lda` bytes apart, zero padded; the tile of the next 32 k values `a_step` bytes on: 64 for
/// k-contiguous rows, AM * 64 for product_amx's tiles stored whole), the panel [steps][NR] k-pair words, steps a
/// multiple of 16. A partial block (mv < AM or nv < NR) goes through a buffer.
[[gnu::noinline]] inline void micro_amx(Index steps, const std::uint16_t* a, Index lda, const std::uint32_t* b,
                                        const float* c_in, Index ld_in, float* c, Index ldc, Index mv, Index nv,
                                        Index a_step = 64) {
  alignas(64) float part[AM * NR];
  const bool whole = mv == AM && nv == NR;
  float* cc = c;
  Index ldcc = ldc;
  if (!whole) {
    for (Index m = 0; m < AM; ++m)
      for (Index n = 0; n < NR; ++n) part[m * NR + n] = c_in && m < mv && n < nv ? c_in[m * ld_in + n] : 0.f;
    cc = part, ldcc = NR, c_in = part, ld_in = NR;
  }
  const auto cs = static_cast<int>(ldcc * sizeof(float));
  if (c_in) {
    const auto ins = static_cast<int>(ld_in * sizeof(float));
    _tile_loadd(0, c_in, ins);
    _tile_loadd(1, c_in + 16, ins);
    _tile_loadd(2, c_in + 16 * ld_in, ins);
    _tile_loadd(3, c_in + 16 * ld_in + 16, ins);
  } else {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
  }
  const auto* a0 = reinterpret_cast<const char*>(a);
  const char* a1 = a0 + 16 * lda;
  for (Index s = 0; s < steps; s += 16, a0 += a_step, a1 += a_step) {
    _tile_loadd(4, a0, static_cast<int>(lda));
    _tile_loadd(5, a1, static_cast<int>(lda));
    _tile_loadd(6, b + s * NR, NR * 4);
    _tile_loadd(7, b + s * NR + 16, NR * 4);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  _tile_stored(0, cc, cs);
  _tile_stored(1, cc + 16, cs);
  _tile_stored(2, cc + 16 * ldcc, cs);
  _tile_stored(3, cc + 16 * ldcc + 16, cs);
  if (!whole)
    for (Index m = 0; m < mv; ++m) std::memcpy(c + m * ldc, part + m * NR, static_cast<std::size_t>(nv) * sizeof(float));
}
}  // namespace detail

/// Whether fast bf16 products (and bf16 prefill attention) run on AMX tiles in this context: AMX-BF16 in the build,
/// the tile state granted by the OS, Context::amx on and Precision::fast (exact products never round to bf16).
inline bool amx_active(const Context& ctx) {
  return ctx.amx && ctx.precision == Precision::fast && detail::amx_permitted();
}

/// product<kind::bf16> on AMX tiles (the same operands: activations rounded to bf16 once, bf16 weights, f32
/// sums). X is rounded to bf16 and stored as whole A tiles ([row block][K / 32][32 rows][32 k]: a tile load reads
/// 1 KB in a row; k-contiguous rows of a long K fall into the same few cache sets). Per block of output columns a
/// thread packs the weights of a window of up to KW reduction steps (one k block for short prompts) into the bf16
/// panels of product() (whole tiles of 16 k pairs, zero padded; 1 MB at most, so they stay in L2), then for each
/// block of 32 rows runs the window in chunks of KC k pairs (A's chunk stays in L1 while the panels stream from L2).
/// Each 32 x 32 block of Y is four tile accumulators fed by tdpbf16ps (16 x 16 x 32 products an instruction);
/// between the chunks of a window they go through a staging block in L1, and only the last chunk stores them to Y:
/// tiles stored into Y and loaded back per chunk (16 rows thousands of bytes apart each time) took a quarter of the
/// product's time. Needs amx_permitted().
template <class W>
void product_amx(Context& ctx, Rows<const float> x, std::span<const LinearPart<W>> parts) {
  using namespace detail;
  const Index M = x.rows, K = x.cols;
  constexpr Index KW = 8 * KC;  // reduction steps per packed window (a multiple of 2 * KC; 4 and 12 measured alike)
  const Index Kp = (K + AK - 1) / AK * AK, ktiles = Kp / AK, blocks_m = (M + AM - 1) / AM, kc_max = 2 * KC;
  // Up to 4 blocks of rows (128 tokens) the product is mostly packing, and the window is one k block: a window of
  // panels and the weight rows streaming past them fill L2 before the few row blocks read it (pp64 -9%).
  const Index kw = blocks_m <= 4 ? kc_max : KW;
  const Index pitch = std::min(Kp, kw) / 2;  // k pairs per packed panel
  const ColumnBlocks<W> blocks(ctx, parts);
  const int nt = vec::threads_for(ctx, blocks.total());

  ScratchScope scratch(ctx.scratch);
  auto* a_pack = scratch.take<std::uint16_t>(static_cast<std::size_t>(blocks_m * AM * Kp)).data();
  auto* b_pack = scratch.take<std::uint32_t>(static_cast<std::size_t>(nt * NB * pitch)).data();
  auto* c_stage = scratch.take<float>(static_cast<std::size_t>(nt * AM * NB)).data();  // sums between k blocks
  vec::parallel_for(vec::threads_for(ctx, blocks_m), blocks_m * AM, [&](Index r) {
    std::uint16_t* tiles = a_pack + (r / AM) * AM * Kp + (r % AM) * AK;
    for (Index kt = 0; kt < ktiles; ++kt)  // each 32 values of the row rounded straight into its tile
      bf16_row(r < M ? x.row(r) + kt * AK : nullptr, std::min(AK, K - kt * AK), AK, tiles + kt * AM * AK);
  });
  vec::parallel_for(nt, blocks.total(), [&](Index gb) {
    amx_configure();
    const auto [p, n0, nb] = blocks.block(gb);
    const Rows<float> y = parts[p].y;
    std::uint32_t* bp = b_pack + omp_get_thread_num() * NB * pitch;
    float* cs = c_stage + omp_get_thread_num() * AM * NB;
    for (Index w0 = 0; w0 < K; w0 += kw) {
      const Index w1 = std::min(K, w0 + kw);
      for (Index k0 = w0; k0 < w1; k0 += kc_max) {
        const Index kc = std::min(kc_max, w1 - k0);
        pack_b_block<kind::bf16>(*parts[p].w, n0, nb, k0, kc, bp + (k0 - w0) / 2 * NR, staged_words((kc + 1) / 2),
                                 pitch);
      }
      const NextPack<W> next(blocks, gb, nt, w0, kw, K);
      for (Index t = 0; t < blocks_m; ++t) {
        next.prefetch(t, blocks_m);
        for (Index k0 = w0; k0 < w1; k0 += kc_max) {
          // The first k block of a window starts from zero (or Y, after the first window), the last one writes Y;
          // the sums between them stay in the staging block.
          const bool first = k0 == w0, last = k0 + kc_max >= w1;
          const Index steps = staged_words((std::min(kc_max, w1 - k0) + 1) / 2);
          for (Index j = 0; j < nb; j += NR) {
            float* yb = &y(t * AM, n0 + j);
            micro_amx(steps, a_pack + t * AM * Kp + k0 * AM, AK * 2, bp + (j / NR) * pitch * NR + (k0 - w0) / 2 * NR,
                      first ? (w0 == 0 ? nullptr : yb) : cs + j, first ? y.ld : NB, last ? yb : cs + j,
                      last ? y.ld : NB, std::min(AM, M - t * AM), std::min(NR, nb - j), AM * AK * 2);
          }
        }
      }
    }
    add_bias(parts[p].bias, y, n0, nb);
    amx_release();
  }, true);
}
#endif  // AMX

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__)
namespace detail {
inline constexpr Index MRQ = 6;           // rows of the int8 register tile: 6 x 2 f32 + 6 x 2 i32 accumulators
inline constexpr Index QB = Q8_0::block;  // 32 values per block: 8 steps of 4 bytes
inline constexpr Index QSTEPS = QB / 4;
inline constexpr Index KCQ = 16;  // blocks per packed weight chunk (512 values of k)
inline constexpr Index QB_WORDS = QSTEPS * NR + 2 * NR;  // one packed weight block of a panel (see pack_b_block_q8)

/// vpdpbusd multiplies unsigned by signed bytes, so activations are packed as q + 128 (in [1, 255]); the excess
/// 128 * sum(w_q) of each block and column is subtracted by starting that block's i32 sums at its negative.
/// A tile: [blocks][QSTEPS][MRQ] words of 4 bytes, then [blocks][MRQ] activation scales.
inline void pack_a_tile_q8(Rows<const float> x, Index r0, Index stride, std::uint32_t* words, float* scales,
                           std::int8_t* qrow, float* drow) {
  const Index blocks = stride / QB;
  for (Index m = 0; m < MRQ; ++m) {
    const Index r = r0 + m;
    if (r >= x.rows) {  // zero rows: q = 0 (byte 128) and scale 0
      for (Index b = 0; b < blocks; ++b) {
        scales[b * MRQ + m] = 0.f;
        for (Index s = 0; s < QSTEPS; ++s) words[(b * QSTEPS + s) * MRQ + m] = 0x80808080u;
      }
      continue;
    }
    quantize_activations_q8_0(x.row(r), x.cols, stride, qrow, drow);
    for (Index b = 0; b < blocks; ++b) {
      scales[b * MRQ + m] = drow[b];
      for (Index s = 0; s < QSTEPS; ++s) {
        std::uint32_t word;
        std::memcpy(&word, qrow + b * QB + 4 * s, 4);
        words[(b * QSTEPS + s) * MRQ + m] = word ^ 0x80808080u;  // + 128 in every byte
      }
    }
  }
}

/// Block b of row n of W as 32 int8 values: in place for Q8_0; Q4_0's nibbles (q4_0_code's layout) unpacked to
/// q - 8 into tmp.
inline const std::int8_t* block_int8(const Q8_0& w, Index n, Index b, std::int8_t*) { return w.row(n) + b * QB; }
inline const std::int8_t* block_int8(const Q4_0& w, Index n, Index b, std::int8_t* tmp) {
  q4_0_code::unpack_block(w.row(n), b, w.row_stride, tmp);
  return tmp;
}

/// Packs columns [n0, n0 + nb) x blocks [b0, b0 + nblk) of W into panels of NR columns. Per panel and block
/// (QB_WORDS words): [QSTEPS][NR] words (4 consecutive k of one column), NR weight scales, NR i32 -128 * sum(q).
template <BlockQuantized Q>
inline void pack_b_block_q8(const Q& w, Index n0, Index nb, Index b0, Index nblk, std::uint32_t* dst) {
  const Index panels = (nb + NR - 1) / NR;
  alignas(32) std::int8_t tmp[QB];
  for (Index p = 0; p < panels; ++p)
    for (Index j = 0; j < NR; ++j) {  // one column at a time: its nblk blocks are contiguous in the row
      const Index n = n0 + p * NR + j;
      for (Index b = 0; b < nblk; ++b) {
        std::uint32_t* blk = dst + (p * nblk + b) * QB_WORDS;
        float* ds = reinterpret_cast<float*>(blk + QSTEPS * NR);
        auto* corr = reinterpret_cast<std::int32_t*>(blk + QSTEPS * NR + NR);
        if (n >= n0 + nb) {
          for (Index s = 0; s < QSTEPS; ++s) blk[s * NR + j] = 0;
          ds[j] = 0.f, corr[j] = 0;
          continue;
        }
        // The next columns' rows start in other pages, where the hardware prefetcher does not follow: ask ahead.
        if (n + 4 < n0 + nb) {
          _mm_prefetch(reinterpret_cast<const char*>(w.row(n + 4) + (b0 + b) * QB / Q::code::per_unit), _MM_HINT_T0);
          if (b % 16 == 0) _mm_prefetch(reinterpret_cast<const char*>(w.scales(n + 4) + b0 + b), _MM_HINT_T0);
        }
        const std::int8_t* q = block_int8(w, n, b0 + b, tmp);
        // sum(q) from the byte sums of q + 128 (vpsadbw against zero).
        const __m256i u = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q)), _mm256_set1_epi8(-128));
        const __m256i sad = _mm256_sad_epu8(u, _mm256_setzero_si256());
        const auto sum = static_cast<std::int32_t>(_mm256_extract_epi64(sad, 0) + _mm256_extract_epi64(sad, 1) +
                                                   _mm256_extract_epi64(sad, 2) + _mm256_extract_epi64(sad, 3)) - 128 * QB;
        for (Index s = 0; s < QSTEPS; ++s) std::memcpy(blk + s * NR + j, q + 4 * s, 4);
        ds[j] = w.scale(n, b0 + b);
        corr[j] = -128 * sum;
      }
    }
}

/// C[mv, nv] (+)= A-tile . B-panel over `nblk` blocks.
[[gnu::noinline]] inline void micro_q8(Index nblk, const std::uint32_t* a, const float* da, const std::uint32_t* b,
                                       float* c, Index ldc, Index mv, Index nv, bool accumulate) {
  __m512 acc[MRQ][2];
#pragma GCC unroll 6
  for (Index m = 0; m < MRQ; ++m) acc[m][0] = acc[m][1] = _mm512_setzero_ps();
  for (Index blk = 0; blk < nblk; ++blk, a += QSTEPS * MRQ, da += MRQ, b += QB_WORDS) {
    const __m512i c0 = _mm512_load_si512(b + QSTEPS * NR + NR), c1 = _mm512_load_si512(b + QSTEPS * NR + NR + 16);
    __m512i isum[MRQ][2];
#pragma GCC unroll 6
    for (Index m = 0; m < MRQ; ++m) isum[m][0] = c0, isum[m][1] = c1;
#pragma GCC unroll 8
    for (Index s = 0; s < QSTEPS; ++s) {
      const __m512i b0 = _mm512_load_si512(b + s * NR), b1 = _mm512_load_si512(b + s * NR + 16);
#pragma GCC unroll 6
      for (Index m = 0; m < MRQ; ++m) {
        const __m512i av = _mm512_set1_epi32(static_cast<int>(a[s * MRQ + m]));
        isum[m][0] = _mm512_dpbusd_epi32(isum[m][0], av, b0);
        isum[m][1] = _mm512_dpbusd_epi32(isum[m][1], av, b1);
      }
    }
    const float* ds = reinterpret_cast<const float*>(b + QSTEPS * NR);
    const __m512 d0 = _mm512_load_ps(ds), d1 = _mm512_load_ps(ds + 16);
#pragma GCC unroll 6
    for (Index m = 0; m < MRQ; ++m) {
      const __m512 dav = _mm512_set1_ps(da[m]);
      acc[m][0] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(isum[m][0]), d0), dav, acc[m][0]);
      acc[m][1] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(isum[m][1]), d1), dav, acc[m][1]);
    }
  }
  store_tile(acc, c, ldc, mv, nv, accumulate);
}
}  // namespace detail

/// y_p = X . W_p^T (+ b_p) for block-quantized weights W_p (Q8_0, or Q4_0 unpacked to int8 while packing) with X
/// quantized to Q8_0 blocks (the int8 kernel, Precision::fast), for a group of products that read X. The blocking
/// of product(): X packed once into tiles of MRQ rows; each thread packs NB columns x KCQ blocks of one part's W
/// at a time.
template <BlockQuantized Q>
void product_q8(Context& ctx, Rows<const float> x, std::span<const LinearPart<Q>> parts) {
  using namespace detail;
  const Index M = x.rows, stride = Q::padded(x.cols), blocks = stride / QB;
  const Index tiles = (M + MRQ - 1) / MRQ;
  const vec::PartRanges col_blocks(parts.size(), [&](std::size_t p) { return (parts[p].w->out + NB - 1) / NB; });
  const Index a_words = blocks * QSTEPS * MRQ, a_tile = a_words + blocks * MRQ;
  const Index b_words = (NB / NR) * KCQ * QB_WORDS;
  const int nt = vec::threads_for(ctx, col_blocks.total()), nta = vec::threads_for(ctx, tiles);

  ScratchScope scratch(ctx.scratch);
  auto* a_pack = scratch.take<std::uint32_t>(static_cast<std::size_t>(tiles * a_tile)).data();
  auto* qrows = scratch.take<std::int8_t>(static_cast<std::size_t>(nta * stride)).data();
  float* drows = scratch.floats(static_cast<std::size_t>(nta * blocks)).data();
  auto* b_pack = scratch.take<std::uint32_t>(static_cast<std::size_t>(nt * b_words)).data();

  vec::parallel_for(nta, tiles, [&](Index t) {
    std::uint32_t* tile = a_pack + t * a_tile;
    const int slot = omp_get_thread_num();
    pack_a_tile_q8(x, t * MRQ, stride, tile, reinterpret_cast<float*>(tile + a_words), qrows + slot * stride,
                   drows + slot * blocks);
  });
  vec::parallel_for(nt, col_blocks.total(), [&](Index cb) {
    const std::size_t p = col_blocks.part_of(cb);
    const Q& w = *parts[p].w;
    const Rows<float> y = parts[p].y;
    const Index n0 = (cb - col_blocks.first[p]) * NB, nb = std::min(NB, w.out - n0);
    std::uint32_t* bp = b_pack + omp_get_thread_num() * b_words;
    for (Index b0 = 0; b0 < blocks; b0 += KCQ) {
      const Index nblk = std::min(KCQ, blocks - b0);
      pack_b_block_q8(w, n0, nb, b0, nblk, bp);
      for (Index t = 0; t < tiles; ++t) {
        const std::uint32_t* tile = a_pack + t * a_tile;
        const float* da = reinterpret_cast<const float*>(tile + a_words) + b0 * MRQ;
        for (Index j = 0; j < nb; j += NR)
          micro_q8(nblk, tile + b0 * QSTEPS * MRQ, da, bp + (j / NR) * nblk * QB_WORDS, &y(t * MRQ, n0 + j), y.ld,
                   std::min(MRQ, M - t * MRQ), std::min(NR, nb - j), b0 > 0);
      }
    }
    add_bias(parts[p].bias, y, n0, nb);
  }, true);
}
#endif

#endif  // __AVX512F__

#if !(defined(__AMX_TILE__) && defined(__AMX_BF16__) && defined(__AVX512BF16__) && defined(__linux__))
inline constexpr bool available_amx = false;
inline bool amx_active(const Context&) { return false; }
// Declared for calls in branches that are discarded where available_amx is false; never defined.
namespace detail {
void amx_configure();
void amx_release();
void micro_amx(Index steps, const std::uint16_t* a, Index lda, const std::uint32_t* b, const float* c_in, Index ld_in,
               float* c, Index ldc, Index mv, Index nv, Index a_step = 64);
}  // namespace detail
template <class W>
void product_amx(Context& ctx, Rows<const float> x, std::span<const LinearPart<W>> parts);
#endif

}  // namespace tfx::cpu::gemm

TFX_VECTOR_CODE_END
