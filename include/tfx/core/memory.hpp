// Memory spaces: where a view's data lives, as a type. A view of device memory (Rows<T, device_space>,
// Vector<T, device_space>) cannot be passed where host memory is expected, nor the other way round, so a host
// pointer never reaches a device kernel. Policies name their space (P::memory_space); the backend of a space
// supplies its allocator (memory<Space>), which contexts, KV caches and loaders allocate through.
#pragma once
#include <cstddef>
#include <memory>
#include <new>
#include <ranges>
#include <span>
#include <string_view>
#include <type_traits>

namespace tfx {

struct host_space {
  static constexpr std::string_view name = "host";
};
struct device_space {
  static constexpr std::string_view name = "device";
};

/// How a memory space allocates, frees and fills memory. Specialised by each backend; host memory here.
/// allocate(bytes) -> Buffer; upload(dst, host_src, bytes) copies host memory into the space.
template <class Space>
struct memory;

/// An owning, type-erased allocation in some memory space (freed by the function it was allocated with).
struct Buffer {
  std::unique_ptr<std::byte, void (*)(std::byte*)> ptr{nullptr, [](std::byte*) {}};
  std::size_t size = 0;
  std::byte* data() const { return ptr.get(); }
};

template <>
struct memory<host_space> {
  static constexpr std::size_t alignment = 64;
  static Buffer allocate(std::size_t bytes) {
    auto* p = static_cast<std::byte*>(::operator new[](bytes == 0 ? 1 : bytes, std::align_val_t{alignment}));
    return Buffer{{p, [](std::byte* q) { ::operator delete[](q, std::align_val_t{alignment}); }}, bytes};
  }
};

template <class S>
concept MemorySpace = requires {
  { S::name } -> std::convertible_to<std::string_view>;
};

/// A non-owning 1-D view (n elements of T) in memory space Space: norm weights, biases. A host Vector converts
/// to and from std::span; a device Vector converts to neither.
template <class T, class Space = host_space>
struct Vector {
  T* data_ = nullptr;
  std::size_t size_ = 0;

  constexpr Vector() = default;
  constexpr Vector(T* d, std::size_t n) : data_(d), size_(n) {}
  /// A host span, vector or array converts implicitly (host only).
  template <class R>
    requires(std::is_same_v<Space, host_space> && !std::is_same_v<std::remove_cvref_t<R>, Vector> &&
             std::ranges::contiguous_range<R> && std::ranges::sized_range<R> &&
             std::is_convertible_v<std::remove_reference_t<std::ranges::range_reference_t<R>> (*)[], T (*)[]>)
  constexpr Vector(R&& r) : data_(std::ranges::data(r)), size_(std::ranges::size(r)) {}  // NOLINT(google-explicit-constructor)
  /// A view of T is a view of const T.
  template <class U>
    requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>)
  constexpr Vector(Vector<U, Space> o) : data_(o.data_), size_(o.size_) {}  // NOLINT(google-explicit-constructor)
  constexpr operator std::span<T>() const  // NOLINT(google-explicit-constructor)
    requires std::is_same_v<Space, host_space>
  {
    return {data_, size_};
  }
  constexpr T* data() const { return data_; }
  constexpr std::size_t size() const { return size_; }
  constexpr bool empty() const { return size_ == 0; }
  /// Elements [offset, offset + count).
  constexpr Vector subspan(std::size_t offset, std::size_t count) const { return {data_ + offset, count}; }
  constexpr T& operator[](std::size_t i) const
    requires std::is_same_v<Space, host_space>
  {
    return data_[i];
  }
};

}  // namespace tfx
