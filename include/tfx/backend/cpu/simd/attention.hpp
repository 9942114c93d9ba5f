#pragma once
#include "tfx/backend/cpu/scalar/attention.hpp"
#include "tfx/backend/cpu/simd/softmax.hpp"
#include "tfx/core/context.hpp"

TFX_VECTOR_CODE_BEGIN

namespace tfx::cpu {

/// One (head, query) pair per work item: scores with vector dot products, softmax, then out += p_j v_j.
/// Keys outside the causal / window range are never touched, so decode over a long cache reads only what it needs.
template <class A>
void sdpa_impl(simd<A>, Context& ctx, const SdpaArgs& a) {
  const Index n = a.kv.len, d = a.kv.head_dim, tq = a.q.rows;
  const int group = a.heads / a.kv.kv_heads;
  const Index items = static_cast<Index>(a.heads) * tq;
  const int nt = vec::threads_for(ctx, items * n * d / 16384 + 1);
  ScratchScope scratch(ctx.scratch);
  float* sbuf = scratch.floats(static_cast<std::size_t>(nt * n)).data();
#pragma omp parallel for num_threads(nt) if(nt > 1) schedule(dynamic, 4)
  for (Index it = 0; it < items; ++it) {
    const int h = static_cast<int>(it / tq);
    const Index i = it % tq;
    float* s = sbuf + omp_get_thread_num() * n;
    const float* K = a.kv.k + (h / group) * a.kv.head_stride;
    const float* V = a.kv.v + (h / group) * a.kv.head_stride;
    const float* q = a.q.row(i) + static_cast<Index>(h) * d;
    const Index pos = a.q_offset + i;
    const Index j_end = a.causal ? std::min(n, pos + 1) : n;
    const Index j_begin = a.window > 0 ? std::max<Index>(0, pos - a.window + 1) : 0;
    for (Index j = 0; j < n; ++j) {
      if (j < j_begin || j >= j_end || !ref::key_allowed(a, pos, j)) {
        s[j] = -std::numeric_limits<float>::infinity();
        continue;
      }
      float v = vec::dot<A>(q, K + j * d, d) * a.scale;
      if (!a.mask.empty()) v += a.mask(i, j);
      if (!a.alibi_slopes.empty()) v += a.alibi_slopes[static_cast<std::size_t>(h)] * static_cast<float>(j - pos);
      s[j] = v;
    }
    float* o = a.out.row(i) + static_cast<Index>(h) * d;
    std::fill(o, o + d, 0.f);
    const bool any = vec::softmax_row<A>(s, n, 1.f);
    if (any)
      for (Index j = j_begin; j < j_end; ++j)
        if (s[j] != 0.f) vec::axpy<A>(s[j], V + j * d, o, d);
    if (a.weights) std::copy(s, s + n, a.weights + (h * tq + i) * n);
    if (a.entropy) {
      float ent = 0;
      for (Index j = 0; j < n; ++j)
        if (s[j] > 0) ent -= s[j] * std::log(s[j]);
      a.entropy[h * tq + i] = ent;
    }
  }
}

}  // namespace tfx::cpu

TFX_VECTOR_CODE_END
