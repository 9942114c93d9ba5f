// Dispatchers for: activation gated_activation add. Backends add overloads of OP_impl(policy, ...); see TFX_KERNEL_DISPATCHER.
#pragma once
#include "tfx/backend/cpu/scalar/elementwise.hpp"
#include "tfx/backend/cpu/simd/elementwise.hpp"

TFX_KERNEL_DISPATCHER(activation)
TFX_KERNEL_DISPATCHER(gated_activation)
TFX_KERNEL_DISPATCHER(add)
