// Dispatchers for: activation gated_activation add scale. Backends add overloads of OP_impl(policy, context, ...) in their policy's namespace
// (see TFX_KERNEL_DISPATCHER); a backend's aggregate header (tfx/backend/cpu.hpp, tfx/backend/cuda.hpp) brings them in.
#pragma once
#include "tfx/core/policy.hpp"
#include "tfx/kernels/types.hpp"

TFX_KERNEL_DISPATCHER(activation)
TFX_KERNEL_DISPATCHER(gated_activation)
TFX_KERNEL_DISPATCHER(add)
TFX_KERNEL_DISPATCHER(scale)
