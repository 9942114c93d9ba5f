// Per-layer KV cache, kv-head-major [kv_heads, capacity, head_dim] so that attention streams one head's keys
// contiguously. Capacity is fixed when the cache is made; exceeding it is an error, never a silent wrap. The
// memory is allocated up front but not zeroed (pages are touched as positions are written). Keys and values
// are stored as f32 (the default), bf16 or f16: appended f32 rows are rounded to nearest even, and the attention
// kernels read the stored type directly.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

#include "tfx/core/error.hpp"
#include "tfx/kernels/types.hpp"

namespace tfx {

class KvCache {
 public:
  /// Largest cache accepted, in bytes (K and V together): 1 TiB.
  static constexpr std::uint64_t max_bytes = std::uint64_t{1} << 40;

  KvCache() = default;
  KvCache(int kv_heads, int head_dim, Index capacity, dtype type = dtype::f32)
      : kv_heads_(kv_heads), head_dim_(head_dim), capacity_(capacity), type_(type) {
    TFX_CHECK(kv_heads > 0 && head_dim > 0 && capacity > 0, "KvCache: kv_heads (", kv_heads, "), head_dim (", head_dim,
              ") and capacity (", capacity, ") must be positive");
    const std::uint64_t per_position = 2ull * static_cast<std::uint64_t>(kv_heads) * static_cast<std::uint64_t>(head_dim) * dtype_size(type);
    TFX_CHECK(static_cast<std::uint64_t>(capacity) <= max_bytes / per_position, "KvCache: ", capacity, " positions of ",
              per_position, " bytes exceed the limit of ", max_bytes, " bytes");
    const std::size_t n = static_cast<std::size_t>(kv_heads) * static_cast<std::size_t>(capacity) * static_cast<std::size_t>(head_dim);
    try {
      k_.reset(new std::byte[n * dtype_size(type)]);
      v_.reset(new std::byte[n * dtype_size(type)]);
    } catch (const std::bad_alloc&) {
      fail("KvCache: cannot allocate ", 2 * n * dtype_size(type), " bytes for ", capacity, " positions");
    }
  }
  KvCache(const KvCache& o) : KvCache(o.kv_heads_, o.head_dim_, o.capacity_, o.type_) {
    const std::size_t n = size_elems() * dtype_size(type_);
    std::copy_n(o.k_.get(), n, k_.get());
    std::copy_n(o.v_.get(), n, v_.get());
    len_ = o.len_;
  }
  KvCache& operator=(const KvCache& o) {
    if (this != &o) *this = KvCache(o);
    return *this;
  }
  KvCache(KvCache&&) noexcept = default;
  KvCache& operator=(KvCache&&) noexcept = default;

  Index size() const { return len_; }
  Index capacity() const { return capacity_; }
  int kv_heads() const { return kv_heads_; }
  int head_dim() const { return head_dim_; }
  dtype type() const { return type_; }
  void clear() { len_ = 0; }

  /// Appends T positions: k, v are [T, kv_heads * head_dim] (token-major, as the projections produce them).
  void append(Rows<const float> k, Rows<const float> v) {
    const Index width = static_cast<Index>(kv_heads_) * head_dim_;
    TFX_CHECK(k.cols == width && v.cols == width && k.rows == v.rows, "KvCache: k [", k.rows, ", ", k.cols, "] / v [",
              v.rows, ", ", v.cols, "] do not match kv_heads x head_dim = ", width);
    TFX_CHECK(len_ + k.rows <= capacity_, "KvCache: capacity of ", capacity_, " positions exceeded (holding ", len_,
              ", appending ", k.rows, ")");
    with_storage_type(type_, [&]<class T>(T) {
      T* kd = reinterpret_cast<T*>(k_.get());
      T* vd = reinterpret_cast<T*>(v_.get());
      for (Index t = 0; t < k.rows; ++t)
        for (int h = 0; h < kv_heads_; ++h) {
          const Index dst = (static_cast<Index>(h) * capacity_ + len_ + t) * head_dim_;
          const float* ks = k.row(t) + h * head_dim_;
          const float* vs = v.row(t) + h * head_dim_;
          for (int e = 0; e < head_dim_; ++e) kd[dst + e] = from_float<T>(ks[e]), vd[dst + e] = from_float<T>(vs[e]);
        }
    });
    len_ += k.rows;
  }
  KvView view() const { return {k_.get(), v_.get(), len_, capacity_ * head_dim_, kv_heads_, head_dim_, type_}; }
  std::size_t bytes() const { return 2 * size_elems() * dtype_size(type_); }

 private:
  std::size_t size_elems() const {
    return static_cast<std::size_t>(kv_heads_) * static_cast<std::size_t>(capacity_) * static_cast<std::size_t>(head_dim_);
  }
  int kv_heads_ = 0, head_dim_ = 0;
  Index capacity_ = 0, len_ = 0;
  dtype type_ = dtype::f32;
  std::unique_ptr<std::byte[]> k_, v_;
};

}  // namespace tfx
