#pragma once
#include "tfx/backend/cpu/simd/gemm.hpp"
#include "tfx/backend/cpu/simd/linear.hpp"
#include "tfx/backend/cpu/simd/softmax.hpp"
#include "tfx/core/context.hpp"

TFX_VECTOR_CODE_BEGIN

namespace tfx::cpu {

#if defined(__AVX512F__)
/// Prefill attention, flash-attention style: one work item is (kv head, block of BQ query rows); the `group` query
/// heads that share the kv head take each key tile together. Per tile of BK keys: S = Q K^T with the GEMM's
/// register tile (K^T packed once per tile for the whole group), masks, then an online softmax (running max m and
/// sum l per row; O rescaled when m grows) and O += P V with the same register tile. Memory per thread is a few
/// tiles whatever the sequence length; only key tiles inside the block's causal / sliding-window range are read.
/// Semantics are those of the row kernel below (fully masked rows give zeros).
/// Kd = kind::bf16 (a bf16 KV cache under Precision::fast): both products take bf16 operands two per 32-bit word
/// with vdpbf16ps, f32 accumulation, as PyTorch's bf16 attention does: the scaled Q rounded once, K pairs along
/// head_dim as stored, P rounded per tile and V pairs along keys; the softmax itself stays f32.
/// Amx (with Kd = kind::bf16, head_dim a multiple of 32): the same operands and roundings on AMX tiles: blocks of
/// 32 query rows and tiles of 256 keys, Q and P as rows of bf16 (A tiles), the packed K^T and V pairs as B tiles,
/// gemm's micro_amx; P made in one pass (exp_nonpositive, vcvtneps2bf16).
template <class A, class KT, gemm::kind Kd = gemm::kind::f32, bool Amx = false>
void sdpa_tiled(Context& ctx, const SdpaArgs& a) {
  using gemm::MR;
  using gemm::NR;
  constexpr bool bf = Kd == gemm::kind::bf16;
  static_assert(!Amx || (bf && gemm::available_amx));
  using B = vec::fbatch<A>;
  // Query rows per block (two register tiles, or two AMX tiles of 16 rows), keys per tile.
  constexpr Index BQ = Amx ? 32 : 2 * MR, BK = Amx ? 8 * NR : 2 * NR, KP = BK / NR;
  constexpr float ninf = -std::numeric_limits<float>::infinity();
  const Index n = a.kv.len, d = a.kv.head_dim, tq = a.q.rows, rs = a.kv.stride();
  const int group = a.heads / a.kv.kv_heads;
  const Index R = group * BQ;                       // score rows of a block: BQ per query head
  const Index dpan = (d + NR - 1) / NR;             // output panels of NR columns
  const Index ds = bf ? (d + 1) / 2 : d;            // steps of S = Q K^T: values of head_dim, or pairs
  const Index blocks = (tq + BQ - 1) / BQ, items = a.kv.kv_heads * blocks;
  const int nt = vec::threads_for(ctx, items);
  // Per thread: packed Q (R rows as tiles, [d][MR]), K^T tile ([KP][d][NR]), V tile ([dpan][BK][NR]), scores
  // [R][BK], packed P ([R / MR][BK][MR]), O [R][dpan * NR], running max and sum [R].
  // Every part starts on a 64-byte boundary: the micro-kernel loads its weight operand with aligned loads.
  const auto up = [](Index floats) { return (floats + 15) / 16 * 16; };
  const Index st_sz = 16 * gemm::detail::staged_words(ds);  // pack_a_tile's staging rows for Q
  const Index q_sz = up(R * d), k_sz = up(KP * d * NR), v_sz = up(dpan * BK * NR), s_sz = up(R * BK), p_sz = up(R * BK),
              o_sz = up(R * dpan * NR), per = q_sz + k_sz + v_sz + s_sz + p_sz + o_sz + up(2 * R) + up(st_sz);
  ScratchScope scratch(ctx.scratch);
  float* buf = scratch.floats(static_cast<std::size_t>(nt * per)).data();
  // K^T and V of the bk keys from j0 of one kv head, as the micro-kernel's B operands: kp [KP][ds][NR] (KP panels of
  // NR keys), vp [dpan][BK][NR] (bf16: [dpan][BK / 2][NR] key pairs); keys past bk are zeros.
  const auto pack_kv = [&](const KT* K, const KT* V, Index j0, Index bk, float* kp, float* vp) {
    for (Index c = 0; c < KP; ++c)  // K^T: [ds][NR] per panel of keys, 16 keys at a time
      for (Index j16 = c * NR; j16 < c * NR + NR; j16 += 16) {
        float* dst16 = kp + c * ds * NR + (j16 - c * NR);
        // Whole groups of 16 keys are 16 x 16 transposes of 32-bit words: f32 values, or the k pairs of bf16
        // key rows, already the words vdpbf16ps multiplies (rows an even number of values apart).
        if (j16 + 16 <= bk && ds % 16 == 0 && (bf ? rs % 2 == 0 && d % 2 == 0 : std::is_same_v<KT, float>)) {
          const auto* src = reinterpret_cast<const float*>(K + (j0 + j16) * rs);
          for (Index k = 0; k < ds; k += 16)
            gemm::detail::transpose16(src + k, bf ? rs / 2 : rs, dst16 + k * NR, NR);
          continue;
        }
        for (Index j = j16; j < j16 + 16; ++j) {
          float* dst = dst16 + (j - j16);
          if constexpr (bf) {
            auto* w = reinterpret_cast<std::uint32_t*>(dst);
            const auto* src = reinterpret_cast<const std::uint16_t*>(K + (j0 + j) * rs);
            for (Index k = 0; k < ds; ++k)
              w[k * NR] = j >= bk ? 0u : gemm::detail::pair_bits(src[2 * k], 2 * k + 1 < d ? src[2 * k + 1] : std::uint16_t{0});
          } else if (j < bk) {
            const KT* src = K + (j0 + j) * rs;
            for (Index k = 0; k < d; ++k) dst[k * NR] = to_float(src[k]);
          } else {
            for (Index k = 0; k < d; ++k) dst[k * NR] = 0.f;
          }
        }
      }
    for (Index c = 0; c < dpan; ++c) {  // V: [BK][NR] (bf16: [BK / 2][NR] key pairs) per panel of output columns
      if constexpr (bf) {
        auto* w = reinterpret_cast<std::uint32_t*>(vp + c * BK / 2 * NR);
        const Index cols = std::min(NR, d - c * NR);
        for (Index j = 0; j < BK; j += 2) {
          std::uint32_t* row = w + j / 2 * NR;
          if (j >= bk) {
            std::fill(row, row + NR, 0u);
            continue;
          }
          const auto* v0 = reinterpret_cast<const std::uint16_t*>(V + (j0 + j) * rs + c * NR);
          const auto* v1 = j + 1 < bk ? reinterpret_cast<const std::uint16_t*>(V + (j0 + j + 1) * rs + c * NR) : nullptr;
          Index col = 0;
          for (; col + 16 <= cols; col += 16) {  // the word of a column: key j's value low, key j + 1's high
            const __m512i lo = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(v0 + col)));
            const __m512i hi = v1 ? _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(v1 + col)))
                                  : _mm512_setzero_si512();
            _mm512_storeu_si512(row + col, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
          }
          for (; col < NR; ++col)
            row[col] = col >= cols ? 0u : gemm::detail::pair_bits(v0[col], v1 ? v1[col] : std::uint16_t{0});
        }
      } else {
        for (Index j = 0; j < BK; ++j) {
          float* dst = vp + (c * BK + j) * NR;
          const Index w = j < bk ? std::min(NR, d - c * NR) : 0;
          vec::to_f32(V + (j0 + j) * rs + c * NR, dst, w);
          std::fill(dst + w, dst + NR, 0.f);
        }
      }
    }
  };
  // Keys of the block of queries from row i0: [j_begin, j_end) (causal end, window start); both grow with i0.
  const auto key_range = [&](Index i0) {
    const Index p_first = a.q_offset + i0, p_last = p_first + std::min(BQ, tq - i0) - 1;
    const Index j_end = a.causal ? std::min(n, p_last + 1) : n;
    return std::pair<Index, Index>{a.window > 0 ? std::min(j_end, std::max<Index>(0, p_first - a.window + 1)) : 0, j_end};
  };
  // With several blocks of queries per kv head, each key tile is packed once for all of them (within a bound on
  // the memory it takes) rather than once per block: tiles [first_tile, n / BK] of every kv head, whole (keys
  // past a block's causal end are masked there, and multiply P = 0).
  constexpr Index max_shared_floats = Index{32} << 20;  // 128 MB
  const Index first_tile = key_range(0).first / BK;
  const Index shared_tiles = std::max<Index>(0, (n + BK - 1) / BK - first_tile);
  const Index kv_floats = a.kv.kv_heads * shared_tiles * (k_sz + v_sz);
  float* kv_pack = nullptr;
  if (blocks > 1 && kv_floats <= max_shared_floats) {
    kv_pack = scratch.floats(static_cast<std::size_t>(kv_floats)).data();
    const Index tiles = a.kv.kv_heads * shared_tiles;
    vec::parallel_for(vec::threads_for(ctx, tiles), tiles, [&](Index t) {
      const int g = static_cast<int>(t / shared_tiles);
      const Index j0 = (first_tile + t % shared_tiles) * BK;
      float* kp = kv_pack + t * (k_sz + v_sz);
      pack_kv(a.kv.keys<KT>(g), a.kv.values<KT>(g), j0, std::min(BK, n - j0), kp, kp + k_sz);
    });
  }
  vec::parallel_for(nt, items, [&](Index it) {
    float* qp = buf + omp_get_thread_num() * per;
    float *kbuf = qp + q_sz, *vbuf = kbuf + k_sz, *sc = vbuf + v_sz, *pp = sc + s_sz, *o = pp + p_sz, *m = o + o_sz,
          *l = m + R;
    auto* stage = reinterpret_cast<std::uint32_t*>(m + up(2 * R));
    if constexpr (Amx) gemm::detail::amx_configure();
    const int g = static_cast<int>(it / blocks);
    const Index i0 = (it % blocks) * BQ, rows = std::min(BQ, tq - i0);
    const KT* K = a.kv.keys<KT>(g);
    const KT* V = a.kv.values<KT>(g);
    // Q rows of every head of the group, scaled, as register tiles (AMX: rows of bf16), zero rows past the block's end.
    for (int r = 0; r < group; ++r) {
      const Rows<const float> qh(a.q.row(0) + static_cast<Index>(g * group + r) * d, tq, d, a.q.ld);
      if constexpr (Amx) {
        for (Index ii = 0; ii < BQ; ++ii)
          gemm::detail::bf16_row(i0 + ii < tq ? qh.row(i0 + ii) : nullptr, d, d,
                                 reinterpret_cast<std::uint16_t*>(qp) + (r * BQ + ii) * d, a.scale);
      } else {
        for (Index t = 0; t < 2; ++t)
          gemm::detail::pack_a_tile<Kd>(qh, i0 + t * MR, ds, qp + (r * 2 + t) * ds * MR, stage, a.scale);
      }
    }
    std::fill(o, o + o_sz, 0.f);
    std::fill(m, m + R, ninf);
    std::fill(l, l + R, 0.f);
    const auto [j_begin, j_end] = key_range(i0);
    // Key tiles start at multiples of BK (shared with the other blocks); keys before j_begin are masked below.
    for (Index j0 = j_begin / BK * BK; j0 < j_end; j0 += BK) {
      const Index bk = std::min(BK, j_end - j0);
      float *kp = kbuf, *vp = vbuf;
      if (kv_pack) {
        kp = kv_pack + (g * shared_tiles + (j0 / BK - first_tile)) * (k_sz + v_sz);
        vp = kp + k_sz;
      } else {
        pack_kv(K, V, j0, bk, kp, vp);
      }
      // AMX: columns of the tile past its last visible key (the causal end of the block) are neither computed nor
      // read: S, P and the steps of P V stop at we, bk rounded up to whole panels of NR keys.
      const Index we = Amx ? (bk + NR - 1) / NR * NR : BK;
      if constexpr (Amx) {  // S = (scale Q) K^T
        for (int r = 0; r < group; ++r)
          for (Index c = 0; c < we / NR; ++c)
            gemm::detail::micro_amx(ds, reinterpret_cast<const std::uint16_t*>(qp) + r * BQ * d, d * 2,
                                    reinterpret_cast<const std::uint32_t*>(kp) + c * ds * NR, nullptr, 0,
                                    sc + r * BQ * BK + c * NR, BK, BQ, NR);
      } else {
        for (Index t = 0; t < 2 * group; ++t)
          for (Index c = 0; c < KP; ++c)
            gemm::detail::micro<Kd>(ds, qp + t * ds * MR, kp + c * ds * NR, sc + t * MR * BK + c * NR, BK, MR, NR, false);
      }
      for (Index rr = 0; rr < R; ++rr) {  // masks, online softmax, P packed as register tiles
        const int r = static_cast<int>(rr / BQ);
        const Index ii = rr % BQ, i = i0 + ii, pos = a.q_offset + i;
        float* srow = sc + rr * BK;
        // Visible keys of this row: [lo, hi) of the tile (causal end, window start), then padding and masks.
        Index hi = ii >= rows ? 0 : a.causal ? std::clamp<Index>(pos - j0 + 1, 0, bk) : bk;
        const Index lo = a.window > 0 ? std::clamp<Index>(pos - a.window + 1 - j0, 0, hi) : 0;
        std::fill(srow, srow + lo, ninf);
        std::fill(srow + hi, srow + we, ninf);
        if (!a.key_padding.empty() || !a.mask.empty() || !a.alibi_slopes.empty())
          for (Index jj = lo; jj < hi; ++jj) {
            const Index j = j0 + jj;
            if (!a.key_padding.empty() && a.key_padding[static_cast<std::size_t>(j)]) {
              srow[jj] = ninf;
              continue;
            }
            if (!a.mask.empty()) srow[jj] += a.mask(i, j);
            if (!a.alibi_slopes.empty())
              srow[jj] += a.alibi_slopes[static_cast<std::size_t>(g * group + r)] * static_cast<float>(j - pos);
          }
        B vmax(ninf);
        for (Index jj = 0; jj < we; jj += B::size) vmax = xsimd::max(vmax, B::load_unaligned(srow + jj));
        const float tmax = vec::reduce_max<A>(vmax);
        const float m_new = std::max(m[rr], tmax);
        float* prow = pp + (rr / MR) * BK * MR + rr % MR;
        auto* pw = reinterpret_cast<std::uint32_t*>(pp + (rr / MR) * BK / 2 * MR + rr % MR);  // bf16: key pairs
        auto* prow16 = reinterpret_cast<std::uint16_t*>(pp) + rr * BK;                        // AMX: rows of bf16
        if (m_new == ninf) {  // nothing visible yet in this row
          if constexpr (Amx)
            std::fill(prow16, prow16 + we, std::uint16_t{0});
          else if constexpr (bf)
            for (Index jj = 0; jj < BK / 2; ++jj) pw[jj * MR] = 0u;
          else
            for (Index jj = 0; jj < BK; ++jj) prow[jj * MR] = 0.f;
          continue;
        }
        const float alpha = std::exp(m[rr] - m_new);  // 0 when m was -inf
        m[rr] = m_new;
        float sum;
        if constexpr (Amx) {  // P = e^(S - m) rounded to bf16 rows in the same pass
          __m512 vs = _mm512_setzero_ps();
          for (Index jj = 0; jj < we; jj += 16) {
            const __m512 e = vec::exp_nonpositive(_mm512_sub_ps(_mm512_loadu_ps(srow + jj), _mm512_set1_ps(m_new)));
            vs = _mm512_add_ps(vs, e);
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(prow16 + jj), (__m256i)_mm512_cvtneps_pbh(e));
          }
          sum = _mm512_reduce_add_ps(vs);
        } else {
          B vsum(0.f);
          for (Index jj = 0; jj < BK; jj += B::size) {  // BK is a multiple of every vector width
            const B e = xsimd::exp(B::load_unaligned(srow + jj) - B(m_new));
            e.store_unaligned(srow + jj);
            vsum += e;
          }
          sum = vec::reduce_sum<A>(vsum);
        }
        if constexpr (!Amx && bf) {  // (AMX wrote its P rows above)
          alignas(64) std::uint16_t rounded[BK];
          gemm::detail::round_bf16(srow, BK, rounded);
          for (Index jj = 0; jj < BK / 2; ++jj) std::memcpy(pw + jj * MR, rounded + 2 * jj, sizeof(std::uint32_t));
        } else if constexpr (!Amx) {
          for (Index jj = 0; jj < BK; ++jj) prow[jj * MR] = srow[jj];
        }
        l[rr] = l[rr] * alpha + sum;
        if (alpha != 1.f) {
          float* orow = o + rr * dpan * NR;
          for (Index k = 0; k < dpan * NR; k += 16)  // NR is a multiple of 16
            _mm512_storeu_ps(orow + k, _mm512_mul_ps(_mm512_loadu_ps(orow + k), _mm512_set1_ps(alpha)));
        }
      }
      constexpr Index v_steps = bf ? BK / 2 : BK;  // steps of a packed V panel: keys, or key pairs
      if constexpr (Amx) {  // O += P V
        for (int r = 0; r < group; ++r)
          for (Index c = 0; c < dpan; ++c)
            gemm::detail::micro_amx(we / 2, reinterpret_cast<const std::uint16_t*>(pp) + r * BQ * BK, BK * 2,
                                    reinterpret_cast<const std::uint32_t*>(vp) + c * v_steps * NR,
                                    o + r * BQ * dpan * NR + c * NR, dpan * NR, o + r * BQ * dpan * NR + c * NR,
                                    dpan * NR, BQ, NR);
      } else {
        for (Index t = 0; t < 2 * group; ++t)
          for (Index c = 0; c < dpan; ++c)
            gemm::detail::micro<Kd>(v_steps, pp + t * v_steps * MR, vp + c * v_steps * NR,
                                    o + t * MR * dpan * NR + c * NR, dpan * NR, MR, NR, true);
      }
    }
    for (Index rr = 0; rr < R; ++rr) {
      const Index ii = rr % BQ;
      if (ii >= rows) continue;
      const float inv = l[rr] > 0.f ? 1.f / l[rr] : 0.f;
      float* dst = a.out.row(i0 + ii) + static_cast<Index>(g * group + static_cast<int>(rr / BQ)) * d;
      const float* orow = o + rr * dpan * NR;
      for (Index k = 0; k < d; ++k) dst[k] = orow[k] * inv;
    }
    if constexpr (Amx) gemm::detail::amx_release();
  }, true);
}

namespace detail {
/// Lane j of the result is the sum of the 16 lanes of v[j]: interleaved adds of pairs, then of 128-bit lanes.
inline __m512 sum16(const __m512 (&v)[16]) {
  __m512 w[8], x[4];
  for (int i = 0; i < 8; ++i)  // per 128-bit lane: [a0+a2, b0+b2, a1+a3, b1+b3] of a = v[2i], b = v[2i + 1]
    w[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
  for (int i = 0; i < 4; ++i) {  // per 128-bit lane: that lane's sums of v[4i .. 4i + 3]
    const __m512d a = _mm512_castps_pd(w[2 * i]), b = _mm512_castps_pd(w[2 * i + 1]);
    x[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)), _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
  }
  const __m512 y0 = _mm512_add_ps(_mm512_shuffle_f32x4(x[0], x[1], 0x88), _mm512_shuffle_f32x4(x[0], x[1], 0xDD));
  const __m512 y1 = _mm512_add_ps(_mm512_shuffle_f32x4(x[2], x[3], 0x88), _mm512_shuffle_f32x4(x[2], x[3], 0xDD));
  return _mm512_add_ps(_mm512_shuffle_f32x4(y0, y1, 0x88), _mm512_shuffle_f32x4(y0, y1, 0xDD));
}
}  // namespace detail

/// The fewest keys a part of a decode item is split into (sdpa_decode): below that a thread's start and the merge
/// cost more than the keys it would take over.
inline constexpr Index decode_min_part = 256;

/// Attention for a few query rows (decode), head_dim a multiple of 16, f32 arithmetic over a KV cache of any
/// storage type (bf16 and f16 widened as read): one work item is (kv head, query row), the `group` query heads that
/// share the kv head read each key and value row from memory once between them. Scores of two heads in one pass, 8
/// keys at a time (16 for a lone head): one accumulator per (head, key) over head_dim, then a 16-way transpose-add,
/// so no key pays a horizontal sum of its own and a key row is loaded once for both heads. O = P V keeps
/// two heads' outputs (128 columns at a time) in registers across the keys instead of reading and writing them
/// per key. With fewer items than threads (one kv head, or a few, on many cores) each item's keys are split into
/// `parts` ranges, each a work item of its own with its own softmax; the parts' outputs are then merged by their
/// log-sum-exp (flash-decoding). Same semantics as sdpa_rows (masks, ALiBi, key padding, windows; fully masked
/// rows give zeros, and keys masked out in every head of a pass are not read).
template <class A, class KT>
void sdpa_decode(Context& ctx, const SdpaArgs& a) {
  const Index n = a.kv.len, d = a.kv.head_dim, tq = a.q.rows, rs = a.kv.stride();
  const int group = a.heads / a.kv.kv_heads;
  const Index items = static_cast<Index>(a.kv.kv_heads) * tq, chunks = d / 16;
  if (items == 0) return;
  // Threads the work is worth, then parts per item for the threads the items leave idle, each at least
  // decode_min_part of the keys a query can see (the window, or the cache).
  const Index work = items * group * n * d / 16384 + 1, worth = std::min<Index>(ctx.threads, work);
  const Index span = a.window > 0 ? std::min(n, a.window) : n;
  const Index parts = items >= worth ? 1 : std::clamp<Index>(span / decode_min_part, 1, (worth + items - 1) / items);
  const Index units = items * parts;
  const int nt = vec::threads_for(ctx, std::min(units, work));
  // Scores of a unit's keys from its first: a part has at most n / parts + 16 keys, and a pass stores up to 16
  // scores past the last.
  const Index stride = (parts == 1 ? n : n / parts + 16) + 16;
  constexpr float ninf = -std::numeric_limits<float>::infinity();
  ScratchScope scratch(ctx.scratch);
  const Index per = group * stride + group;
  float* sbuf = scratch.floats(static_cast<std::size_t>(nt * per)).data();
  // parts > 1: each unit's output [group][d] (normalised within its part) and log-sum-exp [group]
  float* part_out = parts > 1 ? scratch.floats(static_cast<std::size_t>(units * group * (d + 1))).data() : nullptr;
  float* part_lse = parts > 1 ? part_out + units * group * d : nullptr;
  vec::parallel_for(nt, units, [&](Index u) {
    const Index it = u / parts, part = u % parts;
    const int g = static_cast<int>(it / tq);
    const Index i = it % tq, pos = a.q_offset + i;
    float* s = sbuf + omp_get_thread_num() * per;  // [group][stride]: scores, then probabilities, of keys j_begin..
    float* live = s + group * stride;             // per head: 1 when some key is visible
    const KT* K = a.kv.keys<KT>(g);
    const KT* V = a.kv.values<KT>(g);
    // The item's visible keys [first, last), then this part's share of them (cut at multiples of 16 keys).
    const Index last = a.causal ? std::min(n, pos + 1) : n;
    const Index first = std::min(last, a.window > 0 ? std::max<Index>(0, pos - a.window + 1) : Index{0});
    const auto cut = [&](Index p) { return p == parts ? last : first + (last - first) * p / parts / 16 * 16; };
    const Index j_begin = cut(part), j_end = cut(part + 1);
    float* out = parts > 1 ? part_out + u * group * d : a.out.row(i) + static_cast<Index>(g * group) * d;
    const bool masked = !a.key_padding.empty() || !a.mask.empty() || !a.alibi_slopes.empty();
    // The cache streams from memory: a pass requests the line vec::stream_ahead bytes past each line it reads,
    // while that line is still one of the visible rows (rows [j_begin, j_end) of a head are contiguous).
    const Index row_bytes = rs * Index{sizeof(KT)};
    const auto ahead_of = [&](Index j) { return (j_end - j) * row_bytes >= vec::stream_ahead ? vec::stream_ahead : 0; };
    // S = scale q K^T for H heads (1 or 2) in one pass over the keys, 16 / H keys at a time: one accumulator per
    // (head, key) over head_dim, then the 16-way transpose-add. Two heads share each key row as it is loaded.
    // Only the pass of the first heads reads the rows from memory and requests the lines ahead, spread over the
    // chunks (a third and fourth head of a group find the keys in L2).
    const auto score = [&]<int H>(int r) {
      constexpr Index KB = 16 / H;
      const float* q = a.q.row(i) + static_cast<Index>(g * group + r) * d;
      float* sr = s + r * stride;
      const Index lines = r == 0 ? KB * row_bytes / 64 : 0, per_chunk = (lines + chunks - 1) / chunks;
      for (Index j0 = j_begin; j0 < j_end; j0 += KB) {
        const KT* rows[KB];  // keys past the end repeat the last one; their lanes are never read
        for (Index jj = 0; jj < KB; ++jj) rows[jj] = K + std::min(j0 + jj, j_end - 1) * rs;
        const char* block = reinterpret_cast<const char*>(K + j0 * rs);
        const Index ahead = ahead_of(j0 + KB);
        __m512 acc[16];
        for (auto& v : acc) v = _mm512_setzero_ps();
        for (Index c = 0; c < chunks; ++c) {
          for (Index l = c * per_chunk; l < std::min(lines, (c + 1) * per_chunk); ++l)
            vec::prefetch_ahead(block + 64 * l, ahead);
          __m512 qv[H];
          for (int h = 0; h < H; ++h) qv[h] = _mm512_loadu_ps(q + h * d + 16 * c);
#pragma GCC unroll 16
          for (Index jj = 0; jj < KB; ++jj) {
            const __m512 x = vec::load16(rows[jj] + 16 * c);
            for (int h = 0; h < H; ++h) acc[h * KB + jj] = _mm512_fmadd_ps(qv[h], x, acc[h * KB + jj]);
          }
        }
        const __m512 sum = _mm512_mul_ps(detail::sum16(acc), _mm512_set1_ps(a.scale));
        if constexpr (H == 1) {
          _mm512_storeu_ps(sr + (j0 - j_begin), sum);
        } else {  // lanes 0-7: the first head's keys, 8-15: the second's (rows have 16 floats of slack)
          _mm256_storeu_ps(sr + (j0 - j_begin), _mm512_castps512_ps256(sum));
          _mm256_storeu_ps(sr + stride + (j0 - j_begin),
                           _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(sum), 1)));
        }
      }
    };
    int heads_done = 0;
    for (; heads_done + 1 < group; heads_done += 2) score.template operator()<2>(heads_done);
    if (heads_done < group) score.template operator()<1>(heads_done);
    for (int r = 0; r < group; ++r) {
      const int h = g * group + r;
      float* sr = s + r * stride;
      if (masked)
        for (Index j = j_begin; j < j_end; ++j) {
          float& v = sr[j - j_begin];
          if (!a.key_padding.empty() && a.key_padding[static_cast<std::size_t>(j)]) {
            v = ninf;
            continue;
          }
          if (!a.mask.empty()) v += a.mask(i, j);
          if (!a.alibi_slopes.empty()) v += a.alibi_slopes[static_cast<std::size_t>(h)] * static_cast<float>(j - pos);
        }
      live[r] = vec::softmax_row<A>(sr, j_end - j_begin, 1.f, parts > 1 ? part_lse + u * group + r : nullptr)
                    ? 1.f
                    : 0.f;
    }
    // O = P V, 128 columns of one head (Two: of two) at a time. Keys whose probability is 0 in every head of the
    // pass are skipped where masks can make them so, and a head with no visible key writes zeros, as sdpa_rows does
    // (so values that are not finite behind a mask do not reach the output).
    const auto pv = [&]<bool Two>(int r) {
      const float* p0 = s + r * stride;
      const float* p1 = Two ? p0 + stride : p0;
      float* out0 = out + static_cast<Index>(r) * d;
      for (Index c0 = 0; c0 < d; c0 += 128) {
        const Index nc = std::min<Index>(8, (d - c0) / 16);
        __m512 o0[8], o1[8];
        for (int c = 0; c < 8; ++c) o0[c] = o1[c] = _mm512_setzero_ps();
        for (Index j = j_begin; j < j_end; ++j) {
          const KT* v = V + j * rs + c0;
          const Index ahead = ahead_of(j + 1);
          const Index jr = j - j_begin;
          if (masked && p0[jr] == 0.f && p1[jr] == 0.f) continue;
          const __m512 b0 = _mm512_set1_ps(p0[jr]), b1 = _mm512_set1_ps(p1[jr]);
#pragma GCC unroll 8
          for (int c = 0; c < 8; ++c)
            if (c < nc) {
              if ((16 * c * Index{sizeof(KT)}) % 64 == 0) vec::prefetch_ahead(v + 16 * c, ahead);
              const __m512 x = vec::load16(v + 16 * c);
              o0[c] = _mm512_fmadd_ps(b0, x, o0[c]);
              if constexpr (Two) o1[c] = _mm512_fmadd_ps(b1, x, o1[c]);
            }
        }
        for (int c = 0; c < nc; ++c) _mm512_storeu_ps(out0 + c0 + 16 * c, live[r] != 0.f ? o0[c] : _mm512_setzero_ps());
        if constexpr (Two)
          for (int c = 0; c < nc; ++c)
            _mm512_storeu_ps(out0 + d + c0 + 16 * c, live[r + 1] != 0.f ? o1[c] : _mm512_setzero_ps());
      }
    };
    int r = 0;
    for (; r + 1 < group; r += 2) pv.template operator()<true>(r);
    if (r < group) pv.template operator()<false>(r);
  }, true);
  if (parts == 1) return;
  // out = sum_p e^(lse_p) out_p / sum_p e^(lse_p), relative to the largest lse; zeros where no part saw a key.
  for (Index it = 0; it < items; ++it)
    for (int r = 0; r < group; ++r) {
      float* dst = a.out.row(it % tq) + static_cast<Index>((it / tq) * group + r) * d;
      const auto lse = [&](Index p) { return part_lse[(it * parts + p) * group + r]; };
      float top = ninf, total = 0.f;
      for (Index p = 0; p < parts; ++p) top = std::max(top, lse(p));
      std::fill(dst, dst + d, 0.f);
      if (top == ninf) continue;
      for (Index p = 0; p < parts; ++p) total += std::exp(lse(p) - top);
      for (Index p = 0; p < parts; ++p) {
        const float w = std::exp(lse(p) - top) / total;
        if (w == 0.f) continue;  // a part with no visible key (its output is zeros)
        vec::axpy<A>(w, part_out + ((it * parts + p) * group + r) * d, dst, d);
      }
    }
}
#endif

/// One (kv head, query row) pair per work item: the `group` query heads that share a kv head are scored together,
/// so each key and value row is read once per kv head rather than once per query head. Only the keys inside the
/// causal / sliding-window range are visited.
/// K and V of any storage type KT: rows of bf16 / f16 are widened to f32 in L1 as they are read.
template <class A, class KT>
void sdpa_rows(Context& ctx, const SdpaArgs& a) {
  const Index n = a.kv.len, d = a.kv.head_dim, tq = a.q.rows, rs = a.kv.stride();
  const int group = a.heads / a.kv.kv_heads;
  const Index items = static_cast<Index>(a.kv.kv_heads) * tq;
  const int nt = vec::threads_for(ctx, std::min<Index>(items, items * group * n * d / 16384 + 1));
  // bf16 keys and values are read as stored, two per 32-bit lane (vec::dot_bf16): q and the output are kept
  // split into even and odd elements, `half` each. f16 rows are widened to f32 in L1.
  constexpr bool split = std::is_same_v<KT, bf16>;
  const Index half = (d + 1) / 2, per = group * n + d + (split ? 4 * group * half : 0);
  ScratchScope scratch(ctx.scratch);
  float* sbuf = scratch.floats(static_cast<std::size_t>(nt * per)).data();
  vec::parallel_for(nt, items, [&](Index it) {
    const int g = static_cast<int>(it / tq);
    const Index i = it % tq;
    float* s = sbuf + omp_get_thread_num() * per;  // [group, n] scores, then probabilities
    float* row = s + group * n;                    // one widened K or V row
    float* qs = row + d;                           // bf16: [group][even | odd] of q, then of the output
    float* os = qs + 2 * group * half;
    if constexpr (split) {
      std::fill(qs, qs + 4 * group * half, 0.f);
      for (int r = 0; r < group; ++r) {
        const float* q = a.q.row(i) + static_cast<Index>(g * group + r) * d;
        for (Index e = 0; e < d; ++e) qs[r * 2 * half + (e % 2) * half + e / 2] = q[e];
      }
    }
    const KT* K = a.kv.keys<KT>(g);
    const KT* V = a.kv.values<KT>(g);
    const Index pos = a.q_offset + i;
    const Index j_end = a.causal ? std::min(n, pos + 1) : n;
    const Index j_begin = std::min(j_end, a.window > 0 ? std::max<Index>(0, pos - a.window + 1) : Index{0});
    std::fill(s, s + group * n, -std::numeric_limits<float>::infinity());
    for (Index j = j_begin; j < j_end; ++j) {
      if (!a.key_padding.empty() && a.key_padding[static_cast<std::size_t>(j)]) continue;
      const float* k = split ? nullptr : vec::as_f32(K + j * rs, row, d);
      for (int r = 0; r < group; ++r) {
        const int h = g * group + r;
        float v;
        if constexpr (split)
          v = vec::dot_bf16<A>(qs + r * 2 * half, qs + r * 2 * half + half, K + j * rs, d) * a.scale;
        else
          v = vec::dot<A>(a.q.row(i) + static_cast<Index>(h) * d, k, d) * a.scale;
        if (!a.mask.empty()) v += a.mask(i, j);
        if (!a.alibi_slopes.empty()) v += a.alibi_slopes[static_cast<std::size_t>(h)] * static_cast<float>(j - pos);
        s[r * n + j] = v;
      }
    }
    for (int r = 0; r < group; ++r) {
      float* sr = s + r * n;
      std::fill(sr, sr + j_begin, 0.f);
      std::fill(sr + j_end, sr + n, 0.f);
      vec::softmax_row<A>(sr + j_begin, j_end - j_begin, 1.f);
      float* o = a.out.row(i) + static_cast<Index>(g * group + r) * d;
      std::fill(o, o + d, 0.f);
    }
    if constexpr (split) {
      for (Index j = j_begin; j < j_end; ++j)
        for (int r = 0; r < group; ++r) {
          const float p = s[r * n + j];
          if (p != 0.f) vec::axpy_bf16<A>(p, V + j * rs, os + r * 2 * half, os + r * 2 * half + half, d);
        }
      for (int r = 0; r < group; ++r) {
        float* o = a.out.row(i) + static_cast<Index>(g * group + r) * d;
        for (Index e = 0; e < d; ++e) o[e] = os[r * 2 * half + (e % 2) * half + e / 2];
      }
    } else {
      for (Index j = j_begin; j < j_end; ++j) {
        const float* v = vec::as_f32(V + j * rs, row, d);
        for (int r = 0; r < group; ++r) {
          const float p = s[r * n + j];
          if (p != 0.f) vec::axpy<A>(p, v, a.out.row(i) + static_cast<Index>(g * group + r) * d, d);
        }
      }
    }
    for (int r = 0; r < group; ++r) {
      const int h = g * group + r;
      const float* sr = s + r * n;
      if (a.weights) std::copy(sr, sr + n, a.weights + (h * tq + i) * n);
      if (a.entropy) {
        float ent = 0;
        for (Index j = j_begin; j < j_end; ++j)
          if (sr[j] > 0) ent -= sr[j] * std::log(sr[j]);
        a.entropy[h * tq + i] = ent;
      }
    }
  }, true);
}

template <class A>
void sdpa_impl(simd<A>, Context& ctx, const SdpaArgs& a) {
  with_storage_type(a.kv.type, [&]<class KT>(KT) {
#if defined(__AVX512F__)
    if (!a.weights && !a.entropy) {
      if (a.q.rows >= 8) {
        if constexpr (std::is_same_v<KT, bf16> && gemm::available_bf16)
          if (ctx.precision == Precision::fast) {
            if constexpr (gemm::available_amx)
              if (a.kv.head_dim % 32 == 0 && gemm::amx_active(ctx))
                return sdpa_tiled<A, KT, gemm::kind::bf16, true>(ctx, a);
            return sdpa_tiled<A, KT, gemm::kind::bf16>(ctx, a);
          }
        return sdpa_tiled<A, KT>(ctx, a);
      }
      if (a.kv.head_dim % 16 == 0) return sdpa_decode<A, KT>(ctx, a);
    }
#endif
    sdpa_rows<A, KT>(ctx, a);
  });
}

}  // namespace tfx::cpu

TFX_VECTOR_CODE_END
