// Per-layer KV cache, kv-head-major [kv_heads, capacity, head_dim] so that attention streams one head's keys
// contiguously. Capacity is fixed when the cache is made; exceeding it is an error, never a silent wrap.
#pragma once
#include <algorithm>
#include <vector>

#include "tfx/core/error.hpp"
#include "tfx/kernels/types.hpp"

namespace tfx {

class KvCache {
 public:
  KvCache() = default;
  KvCache(int kv_heads, int head_dim, Index capacity)
      : kv_heads_(kv_heads), head_dim_(head_dim), capacity_(capacity),
        k_(static_cast<std::size_t>(kv_heads) * static_cast<std::size_t>(capacity) * static_cast<std::size_t>(head_dim)),
        v_(k_.size()) {
    TFX_CHECK(kv_heads > 0 && head_dim > 0 && capacity > 0, "KvCache: kv_heads (", kv_heads, "), head_dim (", head_dim,
              ") and capacity (", capacity, ") must be positive");
  }
  Index size() const { return len_; }
  Index capacity() const { return capacity_; }
  int kv_heads() const { return kv_heads_; }
  int head_dim() const { return head_dim_; }
  void clear() { len_ = 0; }

  /// Appends T positions: k, v are [T, kv_heads * head_dim] (token-major, as the projections produce them).
  void append(Rows<const float> k, Rows<const float> v) {
    const Index width = static_cast<Index>(kv_heads_) * head_dim_;
    TFX_CHECK(k.cols == width && v.cols == width && k.rows == v.rows, "KvCache: k [", k.rows, ", ", k.cols, "] / v [",
              v.rows, ", ", v.cols, "] do not match kv_heads x head_dim = ", width);
    TFX_CHECK(len_ + k.rows <= capacity_, "KvCache: capacity of ", capacity_, " positions exceeded (holding ", len_,
              ", appending ", k.rows, ")");
    for (Index t = 0; t < k.rows; ++t)
      for (int h = 0; h < kv_heads_; ++h) {
        const Index dst = (static_cast<Index>(h) * capacity_ + len_ + t) * head_dim_;
        std::copy_n(k.row(t) + h * head_dim_, head_dim_, k_.data() + dst);
        std::copy_n(v.row(t) + h * head_dim_, head_dim_, v_.data() + dst);
      }
    len_ += k.rows;
  }
  KvView view() const { return {k_.data(), v_.data(), len_, capacity_ * head_dim_, kv_heads_, head_dim_}; }
  std::size_t bytes() const { return (k_.size() + v_.size()) * sizeof(float); }

 private:
  int kv_heads_ = 0, head_dim_ = 0;
  Index capacity_ = 0, len_ = 0;
  std::vector<float> k_, v_;
};

}  // namespace tfx
