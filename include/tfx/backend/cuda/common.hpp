// Device memory and the CUDA context: a stream, a cuBLAS handle bound to it, and a scratch arena of device
// memory. Kernels of one context run in order on its stream; the host waits only where it reads results.
#pragma once
#include <cstddef>
#include <memory>
#include <utility>

#include "tfx/backend/cuda/policy.hpp"
#include "tfx/backend/cuda/raw.hpp"
#include "tfx/core/context.hpp"
#include "tfx/core/error.hpp"
#include "tfx/core/memory.hpp"

namespace tfx {

template <>
struct memory<device_space> {
  static Buffer allocate(std::size_t bytes) {
    auto* p = static_cast<std::byte*>(cuda::raw::malloc(bytes == 0 ? 1 : bytes));
    return Buffer{{p, [](std::byte* q) { cuda::raw::free(q); }}, bytes};
  }
  /// Copies host memory into device memory and waits for the copy.
  static void upload(void* dst, const void* host_src, std::size_t bytes) {
    cuda::raw::copy_to_device(dst, host_src, bytes, nullptr);
    cuda::raw::stream_synchronize(nullptr);
  }
};

namespace cuda {

/// Whether a CUDA device is usable here (false without a GPU or a driver; never throws).
inline bool available() { return raw::device_count() > 0; }

class Context {
 public:
  using memory_space = device_space;

  /// Which GPU a context runs on (a type, so that a thread count can never be taken for a device index).
  struct device_id {
    int value = 0;
  };
  /// A stream and a cuBLAS handle on device 0, or on `device`. Throws tfx::error without that device.
  Context() : Context(device_id{0}) {}
  explicit Context(device_id id) {
    const int device = id.value;
    TFX_CHECK(raw::device_count() > device && device >= 0, "cuda: no CUDA device ", device, " (", raw::device_count(),
              " found)");
    raw::set_device(device);
    device_ = device;
    stream_ = Handle(raw::stream_create(), [](void* s) { raw::stream_destroy(s); });
    blas_ = Handle(raw::blas_create(stream_.get()), [](void* b) { raw::blas_destroy(b); });
  }
  /// The context a session of a model under device<D> gets.
  template <int D>
  static Context make(device<D>) {
    return Context(device_id{D});
  }
  Context(Context&&) noexcept = default;
  Context& operator=(Context&&) noexcept = default;
  ~Context() {
    if (!stream_) return;
    try {  // scratch blocks are freed only after their kernels ran; an earlier CUDA error is not thrown again here
      raw::stream_synchronize(stream_.get());
    } catch (...) {
    }
  }

  void* stream() const { return stream_.get(); }
  void* blas() const { return blas_.get(); }
  int device() const { return device_; }
  /// Waits for every kernel queued on this context's stream.
  void synchronize() const { raw::stream_synchronize(stream_.get()); }
  /// Long-lived device memory (KV caches).
  Buffer allocate(std::size_t bytes) { return memory<device_space>::allocate(bytes); }

  BasicArena<device_space> scratch{};

 private:
  using Handle = std::unique_ptr<void, void (*)(void*)>;
  Handle stream_{nullptr, [](void*) {}};
  Handle blas_{nullptr, [](void*) {}};
  int device_ = 0;
};

using View = Rows<float, device_space>;
using ConstView = Rows<const float, device_space>;

}  // namespace cuda
}  // namespace tfx
