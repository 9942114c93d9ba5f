// Dispatchers for: linear, linear_group (products of one input). Backends add overloads of OP_impl(policy, ...); see TFX_KERNEL_DISPATCHER.
#pragma once
#include "tfx/backend/cpu/scalar/linear.hpp"
#include "tfx/backend/cpu/simd/linear.hpp"

TFX_KERNEL_DISPATCHER(linear)
TFX_KERNEL_DISPATCHER(linear_group)
