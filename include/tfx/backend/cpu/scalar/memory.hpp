#pragma once
#include <algorithm>

#include "tfx/backend/cpu/scalar/common.hpp"

namespace tfx::cpu {

/// Rows t of k and v ([n, kv_heads * head_dim], token-major) to positions dst.pos + t of a kv-head-major cache,
/// rounded to the cache's type (nearest even).
inline void kv_append_impl(scalar, Context&, KvSlots<host_space> dst, Rows<const float> k, Rows<const float> v) {
  with_storage_type(dst.type, [&]<class T>(T) {
    T* kd = static_cast<T*>(dst.k);
    T* vd = static_cast<T*>(dst.v);
    for (Index t = 0; t < k.rows; ++t)
      for (int h = 0; h < dst.kv_heads; ++h) {
        const Index at = h * dst.head_stride + (dst.pos + t) * dst.head_dim;
        const float* ks = k.row(t) + h * dst.head_dim;
        const float* vs = v.row(t) + h * dst.head_dim;
        for (int e = 0; e < dst.head_dim; ++e) kd[at + e] = from_float<T>(ks[e]), vd[at + e] = from_float<T>(vs[e]);
      }
  });
}

/// dst = src, for a policy whose memory is the host already (a device backend copies across).
inline void copy_to_host_impl(scalar, Context&, Rows<const float> src, Rows<float> dst) {
  for (Index r = 0; r < src.rows; ++r) std::copy_n(src.row(r), src.cols, dst.row(r));
}

}  // namespace tfx::cpu
