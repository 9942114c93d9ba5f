#pragma once
#include <array>
#include <cstring>
#include <vector>

#include "tfx/backend/cpu/eigen/gemm.hpp"
#include "tfx/backend/cpu/simd/common.hpp"
#include "tfx/backend/cpu/simd/gemm.hpp"
#include "tfx/core/weights.hpp"

TFX_VECTOR_CODE_BEGIN

namespace tfx::cpu {

/// y = x . W^T + b. Up to four rows (decode) use dot products that stream W once (RowDecoder: f32 FMA; bf16 with
/// vdpbf16ps under Precision::fast, else split into f32 pairs; f16 widened as loaded; Q8_0 and Q4_0 with vpdpbusd
/// under fast). More rows (prefill) use the packed AVX-512 GEMM (gemm.hpp: bf16 / int8 dot products under
/// Precision::fast); without AVX-512, output columns are split into blocks over the threads and each block is one
/// Eigen product (bf16/f16 weights widened block by block into per-thread scratch, so the whole matrix is never
/// copied).
namespace vec {
/// sum_i x[i] * w[i] for bf16 w, two elements per 32-bit lane: the low half of each lane is element 2j, the high
/// half 2j+1, so `lane << 16` and `lane & 0xffff0000` are those two values as f32 with no conversion step. x comes
/// pre-split into its even and odd elements (done once per input row, reused for every output row).
template <class A>
inline float dot_bf16(const float* x_even, const float* x_odd, const bf16* w, Index n, Index ahead = 0) {
  using B = fbatch<A>;
  using U = xsimd::batch<std::uint32_t, A>;
  constexpr Index W = B::size;
  const Index pairs = n / 2;
  const auto* wp = reinterpret_cast<const std::uint32_t*>(w);
  B acc0(0.f), acc1(0.f);
  Index j = 0;
  for (; j + W <= pairs; j += W) {
    prefetch_ahead(wp + j, ahead);  // W 32-bit lanes: at most one line
    const U u = U::load_unaligned(wp + j);
    acc0 = xsimd::fma(xsimd::bitwise_cast<B>(u << 16), B::load_unaligned(x_even + j), acc0);
    acc1 = xsimd::fma(xsimd::bitwise_cast<B>(u & U(0xffff0000u)), B::load_unaligned(x_odd + j), acc1);
  }
  float s = reduce_sum<A>(acc0 + acc1);
  for (; j < pairs; ++j) s += x_even[j] * to_float(w[2 * j]) + x_odd[j] * to_float(w[2 * j + 1]);
  if (n % 2) s += x_even[pairs] * to_float(w[n - 1]);
  return s;
}

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
inline constexpr bool direct_f16 = true;
/// sum_i x[i] * w[i] for f16 w widened as it is loaded (vcvtph2ps, exact as to_float), f32 accumulation: 32
/// products (one 64-byte line of w) per step, a masked last group (w is never read past its n values).
/// `ahead`: as vec::dot's.
inline float dot_f16(const float* x, const f16* w, Index n, Index ahead) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  Index i = 0;
  for (; i + 32 <= n; i += 32) {
    prefetch_ahead(w + i, ahead);
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), load16(w + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), load16(w + i + 16), acc1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
    acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + i), _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, w + i)), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}
#else
inline constexpr bool direct_f16 = false;  // RowDecoder widens f16 rows into a buffer, then vec::dot
// Declared for RowDecoder's branch that is discarded without AVX-512; never defined.
float dot_f16(const float* x, const f16* w, Index n, Index ahead);
#endif

/// sum_i x[i] * w[i] for x already rounded to bf16 (Precision::fast decode), with vdpbf16ps: 32 products per
/// instruction, f32 accumulation. Pairs of (x, w) words; a partial last group of pairs is a masked load, an odd
/// last element is added alone (w is never read past its n values).
inline float dot_bf16_rounded(const std::uint16_t* x, const bf16* w, Index n, Index ahead) {
#if defined(__AVX512F__) && defined(__AVX512BF16__)
  const Index pairs = n / 2;
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  Index j = 0;
  for (; j + 32 <= pairs; j += 32) {
    prefetch_ahead(w + 2 * j, ahead);
    prefetch_ahead(w + 2 * j + 32, ahead);
    acc0 = _mm512_dpbf16_ps(acc0, (__m512bh)_mm512_loadu_si512(x + 2 * j), (__m512bh)_mm512_loadu_si512(w + 2 * j));
    acc1 = _mm512_dpbf16_ps(acc1, (__m512bh)_mm512_loadu_si512(x + 2 * j + 32), (__m512bh)_mm512_loadu_si512(w + 2 * j + 32));
  }
  for (; j < pairs; j += 16) {
    const __mmask16 m = pairs - j >= 16 ? __mmask16(0xffff) : __mmask16((1u << (pairs - j)) - 1);
    acc0 = _mm512_dpbf16_ps(acc0, (__m512bh)_mm512_maskz_loadu_epi32(m, x + 2 * j), (__m512bh)_mm512_maskz_loadu_epi32(m, w + 2 * j));
  }
  float s = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
  if (n % 2) s += to_float(bf16{x[n - 1]}) * to_float(w[n - 1]);
  return s;
#else
  (void)ahead;
  float s = 0.f;
  for (Index i = 0; i < n; ++i) s += to_float(bf16{x[i]}) * to_float(w[i]);
  return s;
#endif
}

/// An activation row as dot_q8 reads it: its Q8_0 blocks (qx, dx) and corr, -128 * sum(qx) per block, made once
/// per row.
/// The sum of one Q8_0 block of activations (the correction terms of the integer dots below, which multiply unsigned
/// by signed bytes).
inline std::int32_t block_sum(const std::int8_t* q) {
  std::int32_t sum = 0;
  for (Index i = 0; i < Q8_0::block; ++i) sum += q[i];
  return sum;
}

struct Q8Activations {
  Index blocks = 0;
  const std::int8_t* qx = nullptr;
  const float* dx = nullptr;
  float* corr = nullptr;  // [blocks]
  void prepare() const {
    for (Index b = 0; b < blocks; ++b) corr[b] = static_cast<float>(-128 * block_sum(qx + b * Q8_0::block));
  }
};

/// sum over blocks b of dx[b] * dw[b] * (qx_b . qw_b), for an even number of blocks of 32 int8 values. With
/// AVX512-VNNI two blocks per instruction: vpdpbusd multiplies unsigned by signed bytes, so it is given the
/// weights as unsigned bytes qw + 128 (one xor) and the activations as they are, and the surplus 128 * sum(qx)
/// is taken off once per 16 blocks (one FMA with the row's corr); the products dx * dw are made 16 blocks at a
/// time and spread over each pair's lanes by a permute. `ahead`: as stream_ahead, in bytes of values (the scales
/// are requested ahead / 8 bytes on: 4 bytes for 32 values).
inline float dot_q8(const Q8Activations& a, const std::int8_t* qw, const float* dw, Index ahead) {
  const Index blocks = a.blocks;
#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512DQ__)
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
  const __m512i spread = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0, accc = acc0;
  for (Index b0 = 0; b0 < blocks; b0 += 16) {
    const __mmask16 m = blocks - b0 >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << (blocks - b0)) - 1);
    prefetch_ahead(dw + b0, ahead / 8);
    const __m512 s = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, a.dx + b0), _mm512_maskz_loadu_ps(m, dw + b0));
    accc = _mm512_fmadd_ps(s, _mm512_maskz_loadu_ps(m, a.corr + b0), accc);
    const Index pairs = std::min<Index>(16, blocks - b0) / 2;
    for (Index p = 0; p < pairs; ++p) {
      const Index b = b0 + 2 * p;
      prefetch_ahead(qw + b * Q8_0::block, ahead);
      const __m512i wv = _mm512_xor_si512(_mm512_loadu_si512(qw + b * Q8_0::block), bias);
      const __m512i sum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wv, _mm512_loadu_si512(a.qx + b * Q8_0::block));
      const __m512 scale = _mm512_permutexvar_ps(_mm512_add_epi32(spread, _mm512_set1_epi32(static_cast<int>(2 * p))), s);
      if (p % 2) acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), scale, acc1);
      else acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), scale, acc0);
    }
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), accc));
#else
  (void)ahead;
  float s = 0.f;
  for (Index b = 0; b < blocks; ++b) {
    std::int32_t sum = 0;
    for (Index i = 0; i < Q8_0::block; ++i) sum += a.qx[b * Q8_0::block + i] * qw[b * Q8_0::block + i];
    s += a.dx[b] * dw[b] * static_cast<float>(sum);
  }
  return s;
#endif
}
/// An activation row as dot_q4 reads it, made once per row from its Q8_0 blocks (qx, dx over Q4_0::padded(n)
/// values): xi, the int8 values with each super-group of 512 reordered to q4_0_code's layout (the 4 values of
/// block j that a weight lane meets sit in lane j) and the tail as is; corr, -8 * sum(qx) per block (the weights'
/// nibbles are q + 8); and for the tail's groups of 4 blocks, corr8 (-8 * sum in lane 0 of each block's 8 lanes)
/// and dxv8 (each block's dx in its 8 lanes).
struct Q4Activations {
  Index stride = 0, blocks = 0, full_blocks = 0;  // full_blocks: the blocks of whole super-groups
  std::int8_t* xi = nullptr;
  const std::int8_t* qx = nullptr;  // the Q8_0 values in order
  const float* dx = nullptr;
  std::int32_t *corr = nullptr, *corr8 = nullptr;
  float* dxv8 = nullptr;
  void prepare() const {
    for (Index b = 0; b < blocks; ++b) {
      const std::int32_t sum = block_sum(qx + b * Q8_0::block);
      corr[b] = -8 * sum;
      if (b >= full_blocks)
        for (Index l = 0; l < 8; ++l) {
          corr8[(b - full_blocks) * 8 + l] = l == 0 ? -8 * sum : 0;
          dxv8[(b - full_blocks) * 8 + l] = dx[b];
        }
    }
    for (Index g = 0; g < full_blocks * 32; g += q4_0_code::super)
      for (Index c = 0; c < 8; ++c)
        for (Index j = 0; j < 16; ++j) std::memcpy(xi + g + c * 64 + 4 * j, qx + g + j * 32 + 4 * c, 4);
    std::memcpy(xi + full_blocks * 32, qx + full_blocks * 32, static_cast<std::size_t>((blocks - full_blocks) * 32));
  }
};

/// sum over blocks b of dx[b] * dw[b] * (qx_b . (qw_b - 8)) for a Q4_0 weight row and an activation row prepared
/// as Q4Activations. With AVX512-VNNI: per super-group of 16 blocks, four 64-byte loads of nibbles, masked and
/// shifted, are the unsigned operands of eight vpdpbusd against the signed activations, lane j summing block j
/// (started at its -8 * sum(qx)); one conversion, one multiply by dx * dw and one FMA scale all 16 blocks. The
/// tail's groups of 4 blocks: one load, two vpdpbusd, each block's sum in 8 lanes. `ahead`: as stream_ahead, in
/// bytes of nibbles (the scales are requested ahead / 8 bytes on: 2 bytes for 16 bytes of nibbles).
inline float dot_q4(const Q4Activations& a, const std::uint8_t* qw, const f16* dw, Index ahead) {
#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512DQ__)
  const __m512i low = _mm512_set1_epi8(0x0f);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  Index b = 0;
  for (; b < a.full_blocks; b += 16) {
    const std::uint8_t* w = qw + b * 16;
    const std::int8_t* x = a.xi + b * 32;
    for (int c = 0; c < 4; ++c) prefetch_ahead(w + c * 64, ahead);
    if (b % 32 == 0) prefetch_ahead(dw + b, ahead / 8);  // 32 blocks' scales: one line
    const auto nib = [&](int c) {
      const __m512i l = _mm512_loadu_si512(w + c / 2 * 64);
      return _mm512_and_si512(c % 2 ? _mm512_srli_epi16(l, 4) : l, low);
    };
    const auto xs = [&](int c) { return _mm512_loadu_si512(x + c * 64); };
    __m512i s0 = _mm512_dpbusd_epi32(_mm512_loadu_si512(a.corr + b), nib(0), xs(0));
    __m512i s1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), nib(1), xs(1));
    __m512i s2 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), nib(2), xs(2));
    __m512i s3 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), nib(3), xs(3));
    s0 = _mm512_dpbusd_epi32(s0, nib(4), xs(4));
    s1 = _mm512_dpbusd_epi32(s1, nib(5), xs(5));
    s2 = _mm512_dpbusd_epi32(s2, nib(6), xs(6));
    s3 = _mm512_dpbusd_epi32(s3, nib(7), xs(7));
    const __m512i sum = _mm512_add_epi32(_mm512_add_epi32(s0, s1), _mm512_add_epi32(s2, s3));
    const __m512 scale = _mm512_mul_ps(_mm512_loadu_ps(a.dx + b),
                                       _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(dw + b))));
    acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), scale, acc0);
  }
  const __m512i idx0 = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m512i idx1 = _mm512_set_epi32(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2);
  for (; b < a.blocks; b += 4) {
    const Index t = (b - a.full_blocks) * 8;
    prefetch_ahead(qw + b * 16, ahead);
    const __m512i w = _mm512_loadu_si512(qw + b * 16);
    const __m512i w01 = _mm512_and_si512(w, low), w23 = _mm512_and_si512(_mm512_srli_epi16(w, 4), low);
    const __m512i i01 = _mm512_dpbusd_epi32(_mm512_loadu_si512(a.corr8 + t), w01, _mm512_loadu_si512(a.xi + b * 32));
    const __m512i i23 = _mm512_dpbusd_epi32(_mm512_loadu_si512(a.corr8 + t + 16), w23, _mm512_loadu_si512(a.xi + b * 32 + 64));
    const __m512 d4 = _mm512_castps128_ps512(_mm_cvtph_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(dw + b))));
    const __m512 s01 = _mm512_mul_ps(_mm512_permutexvar_ps(idx0, d4), _mm512_loadu_ps(a.dxv8 + t));
    const __m512 s23 = _mm512_mul_ps(_mm512_permutexvar_ps(idx1, d4), _mm512_loadu_ps(a.dxv8 + t + 16));
    acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i01), s01, acc0);
    acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i23), s23, acc1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
#else
  (void)ahead;
  float s = 0.f;
  for (Index b = 0; b < a.blocks; ++b) {
    std::int32_t sum = 0;
    for (Index i = b * Q4_0::block; i < (b + 1) * Q4_0::block; ++i) sum += a.qx[i] * q4_0_code::value(qw, i, a.stride);
    s += a.dx[b] * to_float(dw[b]) * static_cast<float>(sum);
  }
  return s;
#endif
}
/// y_even += alpha * w[0::2], y_odd += alpha * w[1::2] for n bf16 values w (the layout of dot_bf16's x).
template <class A>
inline void axpy_bf16(float alpha, const bf16* w, float* y_even, float* y_odd, Index n) {
  using B = fbatch<A>;
  using U = xsimd::batch<std::uint32_t, A>;
  constexpr Index W = B::size;
  const Index pairs = n / 2;
  const auto* wp = reinterpret_cast<const std::uint32_t*>(w);
  const B va(alpha);
  Index j = 0;
  for (; j + W <= pairs; j += W) {
    const U u = U::load_unaligned(wp + j);
    xsimd::fma(va, xsimd::bitwise_cast<B>(u << 16), B::load_unaligned(y_even + j)).store_unaligned(y_even + j);
    xsimd::fma(va, xsimd::bitwise_cast<B>(u & U(0xffff0000u)), B::load_unaligned(y_odd + j)).store_unaligned(y_odd + j);
  }
  for (; j < pairs; ++j) y_even[j] += alpha * to_float(w[2 * j]), y_odd[j] += alpha * to_float(w[2 * j + 1]);
  if (n % 2) y_even[pairs] += alpha * to_float(w[n - 1]);
}
}  // namespace vec

/// Weights whose products may use bf16 dot products under Precision::fast: bf16 and block-quantized (dequantized
/// to bf16).
template <class W>
inline constexpr bool narrow_weights = BlockQuantized<W>;
template <weight_layout L>
inline constexpr bool narrow_weights<Dense<bf16, L>> = true;

/// The packed GEMM for products of more than four rows that read the same input x (one or a group), when this
/// build has it; false means "not handled". Under Precision::fast: int8 dot products for Q8_0 and Q4_0 weights
/// (AVX512-VNNI), bf16 dot products for bf16 weights (and for Q8_0 and Q4_0 without VNNI); f32 otherwise. A group packs x
/// once and runs the column blocks of all its products in one parallel loop.
template <class W>
bool packed_product(Context& ctx, Rows<const float> x, std::span<const LinearPart<W>> parts) {
#if defined(__AVX512F__)
  if (x.rows > 4) {
    // On AMX tiles in bf16 where the CPU has AMX-BF16: bf16 weights, and block-quantized ones dequantized while
    // packing (faster there than the int8 AVX-512 kernel).
    if constexpr (narrow_weights<W> && gemm::available_amx)
      if (gemm::amx_active(ctx)) {
        gemm::product_amx(ctx, x, parts);
        return true;
      }
#if defined(__AVX512BW__) && defined(__AVX512VNNI__)  // product_q8 exists only then (a qualified name is looked
                                                     // up even in a discarded if constexpr branch)
    if constexpr (BlockQuantized<W>)
      if (ctx.precision == Precision::fast) {
        gemm::product_q8(ctx, x, parts);
        return true;
      }
#endif
    if constexpr (narrow_weights<W> && gemm::available_bf16)
      if (ctx.precision == Precision::fast) {
        gemm::product<gemm::kind::bf16>(ctx, x, parts);
        return true;
      }
    gemm::product<gemm::kind::f32>(ctx, x, parts);
    return true;
  }
#endif
  (void)ctx, (void)x, (void)parts;
  return false;
}
template <class W>
bool packed_product(Context& ctx, Rows<const float> x, const W& w, std::span<const float> bias, Rows<float> y) {
  const LinearPart<W> part{&w, bias, y};
  return packed_product(ctx, x, std::span<const LinearPart<W>>(&part, 1));
}

/// Products of at most this many rows run as decode (RowDecoder); more go through the packed GEMM.
inline constexpr Index max_decode_rows = 4;

template <class A, class W>
struct RowDecoder;

template <class A, class T>
struct RowDecoder<A, Dense<T, weight_layout::out_in>> {
  Rows<const float> x;
  Index k;
  float* split = nullptr;         // bf16, exact: [rows][2 * half], the even then the odd elements of each input row
  std::uint16_t* rounded = nullptr;  // bf16, fast: [rows][k + 1] the input rounded to bf16 (vdpbf16ps)
  float* rows = nullptr;          // f16 without AVX-512: [slots][k] widened weight rows
  RowDecoder(ScratchScope& scratch, const Context& ctx, Rows<const float> in, int slots) : x(in), k(in.cols) {
    if constexpr (std::is_same_v<T, bf16>) {
      if (gemm::available_bf16 && ctx.precision == Precision::fast) {
        rounded = scratch.take<std::uint16_t>(static_cast<std::size_t>(x.rows * (k + 1))).data();
        for (Index r = 0; r < x.rows; ++r)
          for (Index i = 0; i < k; ++i) rounded[r * (k + 1) + i] = to_bf16(x(r, i)).bits;
        return;
      }
      const Index half = (k + 1) / 2;
      split = scratch.floats(static_cast<std::size_t>(x.rows * 2 * half)).data();
      for (Index r = 0; r < x.rows; ++r)
        for (Index i = 0; i < k; ++i) split[r * 2 * half + (i % 2) * half + i / 2] = x(r, i);
    } else if constexpr (!std::is_same_v<T, float> && !vec::direct_f16) {
      rows = scratch.floats(static_cast<std::size_t>(slots * k)).data();
    }
  }
  void row(const Dense<T, weight_layout::out_in>& w, Index o, float* out, int slot) const {
    if constexpr (std::is_same_v<T, bf16>) {
      // The first input row's pass reads the weight row from memory and requests the lines ahead; the others
      // find it in L1.
      if (rounded) {
        for (Index r = 0; r < x.rows; ++r)
          out[r] = vec::dot_bf16_rounded(rounded + r * (k + 1), w.m.row(o), k, r == 0 ? vec::stream_ahead : 0);
        return;
      }
      const Index half = (k + 1) / 2;
      for (Index r = 0; r < x.rows; ++r)
        out[r] = vec::dot_bf16<A>(split + r * 2 * half, split + r * 2 * half + half, w.m.row(o), k,
                                  r == 0 ? vec::stream_ahead : 0);
    } else if constexpr (std::is_same_v<T, float>) {
      for (Index r = 0; r < x.rows; ++r)
        out[r] = vec::dot<A>(x.row(r), w.m.row(o), k, r == 0 ? vec::stream_ahead : 0);
    } else if constexpr (vec::direct_f16) {
      for (Index r = 0; r < x.rows; ++r)
        out[r] = vec::dot_f16(x.row(r), w.m.row(o), k, r == 0 ? vec::stream_ahead : 0);
    } else {
      const float* wr = vec::as_f32(w.m.row(o), rows + slot * k, k, vec::stream_ahead);
      for (Index r = 0; r < x.rows; ++r) out[r] = vec::dot<A>(x.row(r), wr, k);
    }
  }
};

/// Block-quantized weights under Precision::fast: the activations are quantized to int8 blocks too (as llama.cpp
/// does) and the products are integer dot products (Q8_0: two blocks per vpdpbusd; Q4_0: four blocks per 64-byte
/// load of nibbles), so the weights stream at about one byte (Q8_0) or half a byte (Q4_0) per value. Under
/// Precision::exact each weight row is dequantized to f32 and multiplied with the f32 activations.
template <class A, class Code>
struct RowDecoder<A, BlockQuant<Code>> {
  using Q = BlockQuant<Code>;
  static constexpr bool q4 = std::is_same_v<Q, Q4_0>;
  Rows<const float> x;
  bool integer;
  Index stride = 0, blocks = 0;
  std::int8_t* qx = nullptr;
  float* dx = nullptr;
  std::array<vec::Q4Activations, max_decode_rows> q4x{};  // Q4_0: per input row
  std::array<vec::Q8Activations, max_decode_rows> q8x{};  // Q8_0: per input row
  float* rows = nullptr;  // exact: [slots][in] dequantized weight rows
  RowDecoder(ScratchScope& scratch, const Context& ctx, Rows<const float> in, int slots)
      : x(in), integer(ctx.precision == Precision::fast) {
    stride = Q::padded(x.cols), blocks = stride / Q::block;
    if (integer) {
      qx = scratch.take<std::int8_t>(static_cast<std::size_t>(x.rows * stride)).data();
      dx = scratch.floats(static_cast<std::size_t>(x.rows * blocks)).data();
      for (Index r = 0; r < x.rows; ++r) gemm::quantize_activations_q8_0(x.row(r), x.cols, stride, qx + r * stride, dx + r * blocks);
      if constexpr (!q4) {
        for (Index r = 0; r < x.rows; ++r) {
          vec::Q8Activations a;
          a.blocks = blocks, a.qx = qx + r * stride, a.dx = dx + r * blocks;
          a.corr = scratch.floats(static_cast<std::size_t>(blocks)).data();
          a.prepare();
          q8x[static_cast<std::size_t>(r)] = a;
        }
      }
      if constexpr (q4) {
        const Index full = stride / q4_0_code::super * q4_0_code::super / Q::block, tail = blocks - full;
        for (Index r = 0; r < x.rows; ++r) {
          vec::Q4Activations a;
          a.stride = stride, a.blocks = blocks, a.full_blocks = full;
          a.xi = scratch.take<std::int8_t>(static_cast<std::size_t>(stride)).data();
          a.qx = qx + r * stride, a.dx = dx + r * blocks;
          a.corr = scratch.take<std::int32_t>(static_cast<std::size_t>(blocks)).data();
          a.corr8 = scratch.take<std::int32_t>(static_cast<std::size_t>(tail * 8)).data();
          a.dxv8 = scratch.floats(static_cast<std::size_t>(tail * 8)).data();
          a.prepare();
          q4x[static_cast<std::size_t>(r)] = a;
        }
      }
    } else {
      rows = scratch.floats(static_cast<std::size_t>(slots * x.cols)).data();
    }
  }
  void row(const Q& w, Index o, float* out, int slot) const {
    if (integer) {
      for (Index r = 0; r < x.rows; ++r) {
        const Index ahead = r == 0 ? vec::stream_ahead : 0;
        if constexpr (q4)
          out[r] = vec::dot_q4(q4x[static_cast<std::size_t>(r)], w.row(o), w.scales(o), ahead);
        else
          out[r] = vec::dot_q8(q8x[static_cast<std::size_t>(r)], w.row(o), w.scales(o), ahead);
      }
    } else {
      float* wr = rows + slot * x.cols;
      w.dequantize(o, 0, w.in, wr);
      for (Index r = 0; r < x.rows; ++r) out[r] = vec::dot<A>(x.row(r), wr, w.in);
    }
  }
};

/// Decode of a group of products that read the same input: one parallel loop over all their output rows (one
/// OpenMP region instead of one per matrix; q/k/v and gate/up are such groups), the input prepared once.
template <class A, class W>
void decode_rows(Context& ctx, Rows<const float> x, std::span<const LinearPart<W>> parts) {
  const vec::PartRanges ranges(parts.size(), [&](std::size_t p) { return parts[p].w->out_features(); });
  const int nt = vec::threads_for(ctx, ranges.total() / 64);
  ScratchScope scratch(ctx.scratch);
  const RowDecoder<A, W> d(scratch, ctx, x, nt);
  // Each thread streams its own share of the rows, then helps finish the others': chunks of 16 rows.
  vec::parallel_for_shared_tail(nt, ranges.total(), 16, [&](Index i) {
    const std::size_t p = ranges.part_of(i);
    const LinearPart<W>& part = parts[p];
    const Index o = i - ranges.first[p];
    float out[max_decode_rows];
    d.row(*part.w, o, out, omp_get_thread_num());
    const float b = part.bias.empty() ? 0.f : part.bias[static_cast<std::size_t>(o)];
    for (Index r = 0; r < x.rows; ++r) part.y(r, o) = out[r] + b;
  });
}

template <class A, class W>
concept row_decodable = requires { sizeof(RowDecoder<A, W>); };

/// Products that read the same input: decode runs them as one loop (decode_rows), prefill as one packed GEMM
/// (x packed once, one parallel loop over all column blocks); otherwise one after the other.
template <class A, class W>
void linear_group_impl(simd<A> p, Context& ctx, Rows<const float> x, std::span<const LinearPart<W>> parts) {
  if constexpr (row_decodable<A, W>)
    if (x.rows <= max_decode_rows) return decode_rows<A, W>(ctx, x, parts);
  if (packed_product(ctx, x, parts)) return;
  for (const LinearPart<W>& part : parts) linear_impl(p, ctx, x, *part.w, part.bias, part.y);
}

template <class A, class T>
void linear_impl(simd<A>, Context& ctx, Rows<const float> x, const Dense<T, weight_layout::out_in>& wd,
                 std::span<const float> bias, Rows<float> y) {
  if (x.rows <= max_decode_rows) {
    const LinearPart<Dense<T, weight_layout::out_in>> part{&wd, bias, y};
    return decode_rows<A>(ctx, x, std::span(&part, 1));
  }
  if (packed_product(ctx, x, wd, bias, y)) return;
  const Rows<const T> w = wd.m;
  // Output rows per block: for f32 one contiguous share per thread (Eigen packs the activations once per call, so
  // fewer, larger calls are cheaper); for bf16/f16 as many rows as fit ~1 MiB of widened weights, at least 64.
  const Index n_out = w.rows, k = w.cols;
  const Index share = (n_out + ctx.threads - 1) / ctx.threads;
  const Index block = std::is_same_v<T, float> ? std::max<Index>(share, 16)
                                               : std::clamp<Index>((Index{1} << 18) / k, 64, std::max<Index>(share, 64));
  const Index n_blocks = (n_out + block - 1) / block;
  const int nt = vec::threads_for(ctx, n_blocks);
  ScratchScope scratch(ctx.scratch);
  float* wbuf = std::is_same_v<T, float> ? nullptr : scratch.floats(static_cast<std::size_t>(nt * block * k)).data();
  vec::parallel_for(nt, n_blocks, [&](Index b) {
    const Index o0 = b * block, on = std::min(block, n_out - o0);
    float* tbuf = wbuf ? wbuf + omp_get_thread_num() * block * k : nullptr;
    Rows<const float> wb;
    if constexpr (std::is_same_v<T, float>) {
      wb = w.slice_rows(o0, on);
    } else {
      for (Index o = 0; o < on; ++o) vec::to_f32(w.row(o0 + o), tbuf + o * k, k);
      wb = Rows<const float>(tbuf, on, k);
    }
    eigen::gemm_nt(x, wb, y.slice_cols(o0, on));
    if (!bias.empty())
      for (Index r = 0; r < x.rows; ++r)
        for (Index o = o0; o < o0 + on; ++o) y(r, o) += bias[static_cast<std::size_t>(o)];
  }, true);
}

/// y = x . W + b for W [in, out] (GPT-2 Conv1D), used in place: W may be a column slice of a fused tensor.
/// Output columns are split into blocks over the threads. A few rows (decode) stream each block's columns of W
/// row by row into y (y[o0:o1] += x_i * W[i, o0:o1]); more rows widen the block to f32 if needed and call Eigen.
template <class A, class T>
void linear_impl(simd<A>, Context& ctx, Rows<const float> x, const Dense<T, weight_layout::in_out>& wd,
                 std::span<const float> bias, Rows<float> y) {
  if (packed_product(ctx, x, wd, bias, y)) return;
  const Rows<const T> w = wd.m;
  const Index k = w.rows, n_out = w.cols;
  const bool decode = x.rows <= 4;
  const Index share = (n_out + ctx.threads - 1) / ctx.threads;
  const Index block = decode ? 256
                      : std::is_same_v<T, float> ? std::max<Index>(share, 16)
                                                 : std::clamp<Index>((Index{1} << 18) / k, 64, std::max<Index>(share, 64));
  const Index n_blocks = (n_out + block - 1) / block;
  const int nt = vec::threads_for(ctx, n_blocks);
  ScratchScope scratch(ctx.scratch);
  const Index per_thread = std::is_same_v<T, float> ? 0 : decode ? block : block * k;
  float* wbuf = per_thread ? scratch.floats(static_cast<std::size_t>(nt * per_thread)).data() : nullptr;
  vec::parallel_for(nt, n_blocks, [&](Index b) {
    const Index o0 = b * block, on = std::min(block, n_out - o0);
    float* tbuf = wbuf ? wbuf + omp_get_thread_num() * per_thread : nullptr;
    if (decode) {
      for (Index r = 0; r < x.rows; ++r)
        for (Index o = 0; o < on; ++o) y(r, o0 + o) = bias.empty() ? 0.f : bias[static_cast<std::size_t>(o0 + o)];
      for (Index i = 0; i < k; ++i) {
        const float* wr = vec::as_f32(w.row(i) + o0, tbuf, on);
        for (Index r = 0; r < x.rows; ++r) vec::axpy<A>(x(r, i), wr, y.row(r) + o0, on);
      }
      return;
    }
    Rows<const float> wb;
    if constexpr (std::is_same_v<T, float>) {
      wb = w.slice_cols(o0, on);
    } else {
      for (Index i = 0; i < k; ++i) vec::to_f32(w.row(i) + o0, tbuf + i * on, on);
      wb = Rows<const float>(tbuf, k, on);
    }
    eigen::gemm_nn(x, wb, y.slice_cols(o0, on));
    if (!bias.empty())
      for (Index r = 0; r < x.rows; ++r)
        for (Index o = o0; o < o0 + on; ++o) y(r, o) += bias[static_cast<std::size_t>(o)];
  }, true);
}

/// y = x . W^T + b for block-quantized weights: decode as RowDecoder<BlockQuant> describes; more than four rows
/// through the packed GEMM (the int8 kernel, or dequantizing while packing).
template <class A, BlockQuantized Q>
void linear_impl(simd<A>, Context& ctx, Rows<const float> x, const Q& w, std::span<const float> bias, Rows<float> y) {
  if (x.rows <= max_decode_rows) {
    const LinearPart<Q> part{&w, bias, y};
    return decode_rows<A>(ctx, x, std::span(&part, 1));
  }
  if (packed_product(ctx, x, w, bias, y)) return;
  // Without AVX-512 (no packed GEMM): dequantize each row and use the decode dot products.
  ScratchScope scratch(ctx.scratch);
  const int nt = vec::threads_for(ctx, w.out / 64);
  float* rows = scratch.floats(static_cast<std::size_t>(nt * w.in)).data();
  vec::parallel_for(nt, w.out, [&](Index o) {
    float* wr = rows + omp_get_thread_num() * w.in;
    w.dequantize(o, 0, w.in, wr);
    for (Index r = 0; r < x.rows; ++r) y(r, o) = vec::dot<A>(x.row(r), wr, w.in) + (bias.empty() ? 0.f : bias[static_cast<std::size_t>(o)]);
  });
}

}  // namespace tfx::cpu

TFX_VECTOR_CODE_END
