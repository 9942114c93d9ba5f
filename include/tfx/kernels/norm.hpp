// Dispatchers for: rms_norm layer_norm. Backends add overloads of OP_impl(policy, ...); see TFX_KERNEL_DISPATCHER.
#pragma once
#include "tfx/backend/cpu/scalar/norm.hpp"
#include "tfx/backend/cpu/simd/norm.hpp"

TFX_KERNEL_DISPATCHER(rms_norm)
TFX_KERNEL_DISPATCHER(layer_norm)
