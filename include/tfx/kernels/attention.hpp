// Dispatchers for: sdpa. Backends add overloads of OP_impl(policy, ...); see TFX_KERNEL_DISPATCHER.
#pragma once
#include "tfx/backend/cpu/scalar/attention.hpp"
#include "tfx/backend/cpu/simd/attention.hpp"

TFX_KERNEL_DISPATCHER(sdpa)
