#pragma once
#include "tfx/backend/cpu/simd/common.hpp"

TFX_VECTOR_CODE_BEGIN

namespace tfx::cpu::vec {

#if defined(__AVX512F__)
/// e^x for 16 floats x <= 0 (the shifted scores of a softmax), within 1.3 ulp of the exact value for x > -87.33
/// and 0 from there down (e^x near the smallest normal float, 1.18e-38), -inf included; NaN stays NaN. Cephes'
/// expf (x = n ln 2 + r, |r| <= ln 2 / 2, a degree-7 polynomial for e^r) with vscalefps for the 2^n and none of
/// the range handling a general exp needs: about half the instructions of xsimd::exp.
inline __m512 exp_nonpositive(__m512 x) {
  const __m512 lo = _mm512_set1_ps(-87.33f);
  const __mmask16 live = _mm512_cmp_ps_mask(x, lo, _CMP_NLE_UQ);  // x > lo, or NaN
  x = _mm512_max_ps(lo, x);  // NaN stays NaN (max_ps returns its second operand when one is NaN)
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);  // ln 2 in two parts (Cody-Waite)
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.f)));
  return _mm512_maskz_scalef_ps(live, p, n);
}
#endif

/// In-place softmax of n floats scaled by inv_temp: returns false (and writes zeros) for a row with no finite entry.
/// `lse`, when given, receives log(sum_j exp(s_j * inv_temp)) (-inf for such a row): what merges the softmaxes of
/// the parts of a longer row.
template <class A>
inline bool softmax_row(float* s, Index n, float inv_temp, float* lse = nullptr) {
  using B = fbatch<A>;
  constexpr Index W = B::size;
  B vmax(-std::numeric_limits<float>::infinity());
  Index j = 0;
  for (; j + W <= n; j += W) vmax = xsimd::max(vmax, B::load_unaligned(s + j));
  float m = reduce_max<A>(vmax);
  for (; j < n; ++j) m = std::max(m, s[j]);
  if (m == -std::numeric_limits<float>::infinity()) {
    std::fill(s, s + n, 0.f);
    if (lse) *lse = m;
    return false;
  }
  const B vm(m), vt(inv_temp);
  B acc(0.f);
  for (j = 0; j + W <= n; j += W) {
    const B e = xsimd::exp((B::load_unaligned(s + j) - vm) * vt);
    e.store_unaligned(s + j);
    acc += e;
  }
  float sum = reduce_sum<A>(acc);
  for (; j < n; ++j) sum += (s[j] = std::exp((s[j] - m) * inv_temp));
  if (lse) *lse = m * inv_temp + std::log(sum);
  const B vinv(1.f / sum);
  for (j = 0; j + W <= n; j += W) (B::load_unaligned(s + j) * vinv).store_unaligned(s + j);
  for (; j < n; ++j) s[j] /= sum;
  return true;
}

}  // namespace tfx::cpu::vec

namespace tfx::cpu {

template <class A>
void softmax_impl(simd<A>, Context& ctx, Rows<float> x, float temperature) {
  const float inv_temp = 1.f / temperature;
  const int nt = vec::threads_for_rows(ctx, x.rows, x.rows * x.cols, 8192);
  vec::parallel_for(nt, x.rows, [&](Index r) { vec::softmax_row<A>(x.row(r), x.cols, inv_temp); });
}

}  // namespace tfx::cpu

TFX_VECTOR_CODE_END
