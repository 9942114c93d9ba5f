#pragma once
#include <vector>

#include "tfx/backend/cpu/scalar/common.hpp"

namespace tfx::cpu {

namespace ref {
/// Whether query position `pos` may attend key j (mask and padding aside from the additive mask).
inline bool key_allowed(const SdpaArgs& a, Index pos, Index j) {
  if (a.causal && j > pos) return false;
  if (a.window > 0 && j <= pos - a.window) return false;
  if (!a.key_padding.empty() && a.key_padding[static_cast<std::size_t>(j)]) return false;
  return true;
}
}  // namespace ref

/// out[i, h] = sum_j softmax_j(scale q[i,h].k[g(h), j] + mask[i,j] + alibi) v[g(h), j],  g(h) = h / (H / H_kv)
/// K and V as the cache stores them (f32, bf16 or f16), widened exactly.
inline void sdpa_impl(scalar, Context&, const SdpaArgs& a) {
  with_storage_type(a.kv.type, [&]<class T>(T) {
  const Index n = a.kv.len, d = a.kv.head_dim, rs = a.kv.stride();
  const int group = a.heads / a.kv.kv_heads;
  std::vector<double> s(static_cast<std::size_t>(n));
  for (int h = 0; h < a.heads; ++h) {
    const T* K = a.kv.keys<T>(h / group);
    const T* V = a.kv.values<T>(h / group);
    for (Index i = 0; i < a.q.rows; ++i) {
      const float* q = a.q.row(i) + h * d;
      const Index pos = a.q_offset + i;
      for (Index j = 0; j < n; ++j) {
        if (!ref::key_allowed(a, pos, j)) {
          s[static_cast<std::size_t>(j)] = -std::numeric_limits<double>::infinity();
          continue;
        }
        double dot = 0;
        for (Index e = 0; e < d; ++e) dot += static_cast<double>(q[e]) * to_float(K[j * rs + e]);
        double v = dot * a.scale;
        if (!a.mask.empty()) v += a.mask(i, j);
        if (!a.alibi_slopes.empty()) v += static_cast<double>(a.alibi_slopes[static_cast<std::size_t>(h)]) * static_cast<double>(j - pos);
        s[static_cast<std::size_t>(j)] = v;
      }
      ref::softmax(s.data(), n);
      float* o = a.out.row(i) + h * d;
      for (Index e = 0; e < d; ++e) {
        double acc = 0;
        for (Index j = 0; j < n; ++j) acc += s[static_cast<std::size_t>(j)] * to_float(V[j * rs + e]);
        o[e] = static_cast<float>(acc);
      }
      if (a.weights)
        for (Index j = 0; j < n; ++j) a.weights[(h * a.q.rows + i) * n + j] = static_cast<float>(s[static_cast<std::size_t>(j)]);
      if (a.entropy) {
        double ent = 0;
        for (Index j = 0; j < n; ++j)
          if (s[static_cast<std::size_t>(j)] > 0) ent -= s[static_cast<std::size_t>(j)] * std::log(s[static_cast<std::size_t>(j)]);
        a.entropy[h * a.q.rows + i] = static_cast<float>(ent);
      }
    }
  }
  });
}

}  // namespace tfx::cpu
