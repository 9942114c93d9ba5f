#pragma once
#include "tfx/backend/cpu/simd/softmax.hpp"
#include "tfx/core/context.hpp"

TFX_VECTOR_CODE_BEGIN

namespace tfx::cpu {

/// One (kv head, query row) pair per work item: the `group` query heads that share a kv head are scored together,
/// so each key and value row is read once per kv head rather than once per query head. Only the keys inside the
/// causal / sliding-window range are visited.
template <class A>
void sdpa_impl(simd<A>, Context& ctx, const SdpaArgs& a) {
  const Index n = a.kv.len, d = a.kv.head_dim, tq = a.q.rows;
  const int group = a.heads / a.kv.kv_heads;
  const Index items = static_cast<Index>(a.kv.kv_heads) * tq;
  const int nt = vec::threads_for(ctx, std::min<Index>(items, items * group * n * d / 16384 + 1));
  ScratchScope scratch(ctx.scratch);
  float* sbuf = scratch.floats(static_cast<std::size_t>(nt * group * n)).data();
  vec::parallel_for(nt, items, [&](Index it) {
    const int g = static_cast<int>(it / tq);
    const Index i = it % tq;
    float* s = sbuf + omp_get_thread_num() * group * n;  // [group, n] scores, then probabilities
    const float* K = a.kv.k + g * a.kv.head_stride;
    const float* V = a.kv.v + g * a.kv.head_stride;
    const Index pos = a.q_offset + i;
    const Index j_end = a.causal ? std::min(n, pos + 1) : n;
    const Index j_begin = std::min(j_end, a.window > 0 ? std::max<Index>(0, pos - a.window + 1) : Index{0});
    std::fill(s, s + group * n, -std::numeric_limits<float>::infinity());
    for (Index j = j_begin; j < j_end; ++j) {
      if (!a.key_padding.empty() && a.key_padding[static_cast<std::size_t>(j)]) continue;
      const float* k = K + j * d;
      for (int r = 0; r < group; ++r) {
        const int h = g * group + r;
        float v = vec::dot<A>(a.q.row(i) + static_cast<Index>(h) * d, k, d) * a.scale;
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
    for (Index j = j_begin; j < j_end; ++j)
      for (int r = 0; r < group; ++r) {
        const float p = s[r * n + j];
        if (p != 0.f) vec::axpy<A>(p, V + j * d, a.out.row(i) + static_cast<Index>(g * group + r) * d, d);
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

}  // namespace tfx::cpu

TFX_VECTOR_CODE_END
