// The CPU backends: cpu::scalar (reference) and cpu::simd<Arch> (the default policy of every layer).
#pragma once
#include "tfx/backend/cpu/scalar.hpp"
#include "tfx/backend/cpu/simd.hpp"
#include "tfx/kernels/attention.hpp"
#include "tfx/kernels/elementwise.hpp"
#include "tfx/kernels/embedding.hpp"
#include "tfx/kernels/linear.hpp"
#include "tfx/kernels/memory.hpp"
#include "tfx/kernels/norm.hpp"
#include "tfx/kernels/rope.hpp"
#include "tfx/kernels/softmax.hpp"
