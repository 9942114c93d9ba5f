// Dispatchers for: rope. Backends add overloads of OP_impl(policy, ...); see TFX_KERNEL_DISPATCHER.
#pragma once
#include "tfx/backend/cpu/scalar/rope.hpp"
#include "tfx/backend/cpu/simd/rope.hpp"

TFX_KERNEL_DISPATCHER(rope)
