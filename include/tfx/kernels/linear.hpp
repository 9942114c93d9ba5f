// Dispatchers for: linear. Backends add overloads of OP_impl(policy, ...); see TFX_KERNEL_DISPATCHER.
#pragma once
#include "tfx/backend/cpu/scalar/linear.hpp"
#include "tfx/backend/cpu/simd/linear.hpp"

TFX_KERNEL_DISPATCHER(linear)
