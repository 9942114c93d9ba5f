// Dispatchers for: softmax. Backends add overloads of OP_impl(policy, ...); see TFX_KERNEL_DISPATCHER.
#pragma once
#include "tfx/backend/cpu/scalar/softmax.hpp"
#include "tfx/backend/cpu/simd/softmax.hpp"

TFX_KERNEL_DISPATCHER(softmax)
