// Runtime state for CPU kernels: thread count and a scratch arena. Policies are types; this is a value.
// The arena and its scope are generic over a memory space: the CUDA context has the same arena over device memory.
#pragma once
#include <cstddef>
#include <memory>
#include <new>
#include <span>
#include <type_traits>
#include <vector>

#include "tfx/core/memory.hpp"
#include "tfx/core/view.hpp"

namespace tfx {

/// A bump allocator over a list of blocks of memory<Space>. `mark()`/`release()` bracket a layer's temporaries. A span stays
/// valid until released (a full block gets a new one beside it, nothing moves); when everything is released the
/// blocks merge into one, so a decode step that fits in what prefill needed allocates nothing.
template <class Space>
class BasicArena {
 public:
  using space = Space;
  static constexpr std::size_t alignment = 64;
  struct Mark {
    std::size_t block = 0, offset = 0;
  };

  std::span<float> floats(std::size_t n) { return take<float>(n); }

  /// n uninitialised values of a trivial type U, aligned to 64 bytes.
  template <class U>
  std::span<U> take(std::size_t n) {
    static_assert(std::is_trivially_copyable_v<U> && std::is_trivially_destructible_v<U>);
    const std::size_t bytes = (n * sizeof(U) + alignment - 1) / alignment * alignment;
    if (blocks_.empty() || used_ + bytes > blocks_[current_].size) {
      if (!blocks_.empty() && current_ + 1 < blocks_.size() && bytes <= blocks_[current_ + 1].size) {
        ++current_;
      } else {
        std::size_t cap = blocks_.empty() ? std::size_t{1} << 16 : blocks_.back().size * 2;
        while (cap < bytes) cap *= 2;
        blocks_.push_back(Block{cap});
        current_ = blocks_.size() - 1;
      }
      used_ = 0;
    }
    U* p = reinterpret_cast<U*>(blocks_[current_].buf.data() + used_);
    used_ += bytes;
    return {p, n};
  }
  Mark mark() const { return {current_, used_}; }
  void release(Mark m) {
    current_ = m.block;
    used_ = m.offset;
    if (current_ == 0 && used_ == 0 && blocks_.size() > 1) {  // merge into one block sized for the peak
      std::size_t total = 0;
      for (auto& b : blocks_) total += b.size;
      blocks_.clear();  // (a device space's free waits for the kernels that use the memory)
      try {             // release() runs in ~ScratchScope: an allocation failure leaves the arena empty instead
        blocks_.push_back(Block{total});
      } catch (...) {
        current_ = used_ = 0;
      }
    }
  }
  std::size_t capacity() const {
    std::size_t total = 0;
    for (auto& b : blocks_) total += b.size;
    return total;
  }

 private:
  struct Block {
    explicit Block(std::size_t n) : buf(memory<Space>::allocate(n)), size(n) {}
    Buffer buf;
    std::size_t size;
  };
  std::vector<Block> blocks_;
  std::size_t current_ = 0;
  std::size_t used_ = 0;
};

/// RAII scope over an arena: everything taken inside is given back at the end.
template <class Space>
class ScratchScope {
 public:
  explicit ScratchScope(BasicArena<Space>& a) : arena_(a), mark_(a.mark()) {}
  ~ScratchScope() { arena_.release(mark_); }
  ScratchScope(const ScratchScope&) = delete;
  ScratchScope& operator=(const ScratchScope&) = delete;
  std::span<float> floats(std::size_t n) { return arena_.floats(n); }
  template <class U>
  std::span<U> take(std::size_t n) {
    return arena_.template take<U>(n);
  }
  /// A [rows, cols] matrix of U in the arena's memory space.
  template <class U = float>
  Rows<U, Space> rows(Index rows, Index cols) {
    return {arena_.template take<U>(static_cast<std::size_t>(rows * cols)).data(), rows, cols};
  }

 private:
  BasicArena<Space>& arena_;
  typename BasicArena<Space>::Mark mark_;
};

namespace cpu {
using Arena = BasicArena<host_space>;
using ScratchScope = tfx::ScratchScope<host_space>;

/// How a matrix product with bf16 or quantized weights (and attention over a bf16 KV cache) treats its f32
/// activations.
///   fast   rounds them to bf16 once per product and multiplies with bf16 dot products accumulated in f32 (bf16
///          weights, on CPUs with AVX512-BF16; prefill attention over a bf16 KV cache), or quantizes them to int8
///          blocks and multiplies with integer dot products (Q8_0 and Q4_0 weights, with AVX512-VNNI), as PyTorch
///          and llama.cpp do; elsewhere the same as exact.
///   exact  keeps them in f32 and widens (dequantizes) the weights.
enum class Precision { fast, exact };

struct Context {
  using memory_space = host_space;
  int threads = 1;
  Precision precision = Precision::fast;
  /// Fast bf16 products on AMX tiles where the CPU has AMX-BF16 and the OS lets the process use them (false: the
  /// AVX-512 kernels, to compare or test them on such a CPU).
  bool amx = true;
  Arena scratch{};

  Context() = default;
  explicit Context(int n_threads) : threads(n_threads < 1 ? 1 : n_threads) {}
  /// Long-lived memory (KV caches): uninitialised, 64-byte aligned.
  Buffer allocate(std::size_t bytes) { return memory<host_space>::allocate(bytes); }
};

}  // namespace cpu
}  // namespace tfx
