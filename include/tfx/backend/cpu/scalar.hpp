// The reference CPU backend (cpu::scalar), every op.
#pragma once
#include "tfx/backend/cpu/scalar/attention.hpp"
#include "tfx/backend/cpu/scalar/elementwise.hpp"
#include "tfx/backend/cpu/scalar/embedding.hpp"
#include "tfx/backend/cpu/scalar/linear.hpp"
#include "tfx/backend/cpu/scalar/memory.hpp"
#include "tfx/backend/cpu/scalar/norm.hpp"
#include "tfx/backend/cpu/scalar/rope.hpp"
#include "tfx/backend/cpu/scalar/softmax.hpp"
