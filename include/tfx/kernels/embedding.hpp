// Dispatchers for: embedding. Backends add overloads of OP_impl(policy, ...); see TFX_KERNEL_DISPATCHER.
#pragma once
#include "tfx/backend/cpu/scalar/embedding.hpp"
#include "tfx/backend/cpu/simd/embedding.hpp"

TFX_KERNEL_DISPATCHER(embedding)
