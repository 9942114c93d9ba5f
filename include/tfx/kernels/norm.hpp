// Dispatchers for: rms_norm layer_norm. Backends add overloads of OP_impl(policy, context, ...) in their policy's namespace
// (see TFX_KERNEL_DISPATCHER); a backend's aggregate header (tfx/backend/cpu.hpp, tfx/backend/cuda.hpp) brings them in.
#pragma once
#include "tfx/core/policy.hpp"
#include "tfx/kernels/types.hpp"

TFX_KERNEL_DISPATCHER(rms_norm)
TFX_KERNEL_DISPATCHER(layer_norm)
