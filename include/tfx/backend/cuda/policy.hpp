// cuda::device<>: kernels on an NVIDIA GPU (src/cuda/*.cu, built into the tfx_cuda library with -DTFX_CUDA=ON).
// Views are device memory (Rows<T, device_space>); there is no fallback to the CPU kernels, so an op without a
// CUDA kernel fails to compile instead of reading device memory on the host.
#pragma once
#include <string_view>

#include "tfx/core/policy.hpp"

namespace tfx::cuda {

class Context;

template <int Device = 0>
struct device {
  using memory_space = device_space;
  using context_type = Context;
  static constexpr int index = Device;
  static constexpr std::string_view name = "cuda.device";
};

}  // namespace tfx::cuda
