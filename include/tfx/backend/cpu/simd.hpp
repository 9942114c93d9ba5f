// The vectorised CPU backend (cpu::simd<Arch>), every op; ops without a SIMD kernel fall back to cpu::scalar.
#pragma once
#include "tfx/backend/cpu/scalar.hpp"
#include "tfx/backend/cpu/simd/attention.hpp"
#include "tfx/backend/cpu/simd/elementwise.hpp"
#include "tfx/backend/cpu/simd/embedding.hpp"
#include "tfx/backend/cpu/simd/linear.hpp"
#include "tfx/backend/cpu/simd/norm.hpp"
#include "tfx/backend/cpu/simd/policy.hpp"
#include "tfx/backend/cpu/simd/rope.hpp"
#include "tfx/backend/cpu/simd/softmax.hpp"
