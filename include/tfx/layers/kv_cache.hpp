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
#include <type_traits>

#include "tfx/core/error.hpp"
#include "tfx/backend/cpu.hpp"
#include "tfx/core/policy.hpp"
#include "tfx/kernels/memory.hpp"
#include "tfx/kernels/types.hpp"

namespace tfx {

template <class Space = host_space>
class BasicKvCache {
 public:
  using space = Space;
  /// Largest cache accepted, in bytes (K and V together): 1 TiB.
  static constexpr std::uint64_t max_bytes = std::uint64_t{1} << 40;

  BasicKvCache() = default;
  /// A cache in host memory (host spaces only).
  BasicKvCache(int kv_heads, int head_dim, Index capacity, dtype type = dtype::f32)
    requires std::is_same_v<Space, host_space>
      : BasicKvCache([](std::size_t n) { return memory<host_space>::allocate(n); }, kv_heads, head_dim, capacity, type) {}
  /// A cache allocated through a context of its memory space (ctx.allocate(bytes) -> Buffer).
  template <class Ctx>
    requires(std::is_same_v<typename Ctx::memory_space, Space>)
  BasicKvCache(Ctx& ctx, int kv_heads, int head_dim, Index capacity, dtype type = dtype::f32)
      : BasicKvCache([&](std::size_t n) { return ctx.allocate(n); }, kv_heads, head_dim, capacity, type) {}
  BasicKvCache(const BasicKvCache& o)
    requires std::is_same_v<Space, host_space>
      : BasicKvCache(o.kv_heads_, o.head_dim_, o.capacity_, o.type_) {
    copy_from(o);
  }
  /// Makes this cache hold what `o` holds (host caches of the same heads, head_dim and type; this capacity at least
  /// o's size), copying only the positions `o` holds, without allocating: how beam search reorders hypotheses.
  void copy_from(const BasicKvCache& o)
    requires std::is_same_v<Space, host_space>
  {
    if (this == &o) return;
    TFX_CHECK(o.kv_heads_ == kv_heads_ && o.head_dim_ == head_dim_ && o.type_ == type_ && o.len_ <= capacity_,
              "KvCache: cannot copy a cache of ", o.kv_heads_, " x ", o.head_dim_, " holding ", o.len_,
              " positions into one of ", kv_heads_, " x ", head_dim_, " and capacity ", capacity_);
    const std::size_t es = dtype_size(type_), row = static_cast<std::size_t>(head_dim_) * es;
    for (int h = 0; h < kv_heads_; ++h) {
      const std::size_t from = static_cast<std::size_t>(h) * static_cast<std::size_t>(o.capacity_) * row;
      const std::size_t to = static_cast<std::size_t>(h) * static_cast<std::size_t>(capacity_) * row;
      const std::size_t n = static_cast<std::size_t>(o.len_) * row;
      std::copy_n(o.k_.data() + from, n, k_.data() + to);
      std::copy_n(o.v_.data() + from, n, v_.data() + to);
    }
    len_ = o.len_;
  }
  BasicKvCache& operator=(const BasicKvCache& o)
    requires std::is_same_v<Space, host_space>
  {
    if (this != &o) *this = BasicKvCache(o);
    return *this;
  }
  BasicKvCache(BasicKvCache&&) noexcept = default;
  BasicKvCache& operator=(BasicKvCache&&) noexcept = default;

  Index size() const { return len_; }
  Index capacity() const { return capacity_; }
  int kv_heads() const { return kv_heads_; }
  int head_dim() const { return head_dim_; }
  dtype type() const { return type_; }
  void clear() { len_ = 0; }

  /// Appends T positions with policy P's kv_append kernel: k, v are [T, kv_heads * head_dim] (token-major, as the
  /// projections produce them).
  template <ExecutionPolicy P>
    requires std::is_same_v<space_t<P>, Space>
  void append(P p, context_t<P>& ctx, Rows<const float, Space> k, Rows<const float, Space> v) {
    const Index width = static_cast<Index>(kv_heads_) * head_dim_;
    TFX_CHECK(k.cols == width && v.cols == width && k.rows == v.rows, "KvCache: k [", k.rows, ", ", k.cols, "] / v [",
              v.rows, ", ", v.cols, "] do not match kv_heads x head_dim = ", width);
    TFX_CHECK(len_ + k.rows <= capacity_, "KvCache: capacity of ", capacity_, " positions exceeded (holding ", len_,
              ", appending ", k.rows, ")");
    KvSlots<Space> slots{k_.data(), v_.data(), len_, capacity_ * head_dim_, kv_heads_, head_dim_, type_};
    kernels::kv_append(p, ctx, slots, k, v);
    len_ += k.rows;
  }
  /// The same with the reference CPU kernel (host caches).
  void append(Rows<const float> k, Rows<const float> v)
    requires std::is_same_v<Space, host_space>
  {
    cpu::Context ctx;
    append(cpu::scalar{}, ctx, k, v);
  }
  BasicKvView<Space> view() const { return {k_.data(), v_.data(), len_, capacity_ * head_dim_, kv_heads_, head_dim_, type_}; }
  std::size_t bytes() const { return 2 * size_elems() * dtype_size(type_); }

 private:
  template <class Alloc>
  BasicKvCache(Alloc&& alloc, int kv_heads, int head_dim, Index capacity, dtype type)
      : kv_heads_(kv_heads), head_dim_(head_dim), capacity_(capacity), type_(type) {
    TFX_CHECK(kv_heads > 0 && head_dim > 0 && capacity > 0, "KvCache: kv_heads (", kv_heads, "), head_dim (", head_dim,
              ") and capacity (", capacity, ") must be positive");
    const std::uint64_t per_position = 2ull * static_cast<std::uint64_t>(kv_heads) * static_cast<std::uint64_t>(head_dim) * dtype_size(type);
    TFX_CHECK(static_cast<std::uint64_t>(capacity) <= max_bytes / per_position, "KvCache: ", capacity, " positions of ",
              per_position, " bytes exceed the limit of ", max_bytes, " bytes");
    const std::size_t n = size_elems() * dtype_size(type);
    try {
      k_ = alloc(n);
      v_ = alloc(n);
    } catch (const std::bad_alloc&) {
      fail("KvCache: cannot allocate ", 2 * n, " bytes for ", capacity, " positions");
    }
  }
  std::size_t size_elems() const {
    return static_cast<std::size_t>(kv_heads_) * static_cast<std::size_t>(capacity_) * static_cast<std::size_t>(head_dim_);
  }
  int kv_heads_ = 0, head_dim_ = 0;
  Index capacity_ = 0, len_ = 0;
  dtype type_ = dtype::f32;
  Buffer k_, v_;
};

using KvCache = BasicKvCache<host_space>;

}  // namespace tfx
