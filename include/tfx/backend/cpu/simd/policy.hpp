// cpu::simd<Arch>: xsimd + Eigen + OpenMP kernels. The ISA is part of the type, so two translation units built
// with different -m flags cannot mix their instantiations.
#pragma once
#include "tfx/backend/cpu/simd/diagnostics.hpp"
#include "tfx/core/policy.hpp"

// xsimd's templates are defined (and later instantiated) inside the bracket: see diagnostics.hpp.
TFX_VECTOR_CODE_BEGIN
#include <xsimd/xsimd.hpp>
TFX_VECTOR_CODE_END

namespace tfx::cpu {

template <class Arch = xsimd::default_arch>
struct simd {
  using memory_space = host_space;
  using context_type = Context;
  using arch = Arch;
  using fallback = scalar;  // explicit: an op without a SIMD kernel runs the reference kernel
  static constexpr std::string_view name = "cpu.simd";
};

}  // namespace tfx::cpu
