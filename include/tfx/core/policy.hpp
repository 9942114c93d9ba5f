// Execution policies: empty tag types that pick kernels at compile time. cpu::simd<Arch> names xsimd and so
// lives in backend/cpu/simd/policy.hpp; this header is free of xsimd, Eigen and CUDA.
#pragma once
#include <concepts>
#include <string_view>
#include <type_traits>
#include <utility>

#include "tfx/core/context.hpp"
#include "tfx/core/memory.hpp"

namespace tfx {

namespace cpu {
/// Reference kernels: plain loops, double accumulation. The yardstick every fast kernel is checked against.
struct scalar {
  using memory_space = host_space;
  using context_type = Context;
  static constexpr std::string_view name = "cpu.scalar";
};
}  // namespace cpu

template <class P>
concept ExecutionPolicy = std::is_empty_v<P> && std::is_trivially_copyable_v<P> && requires {
  typename P::memory_space;
  typename P::context_type;
  { P::name } -> std::convertible_to<std::string_view>;
};

template <class>
inline constexpr bool dependent_false = false;

/// The runtime state a policy's kernels take (threads and scratch on a CPU; a stream, a cuBLAS handle and device
/// scratch on a GPU), and the memory space its views live in.
template <ExecutionPolicy P>
using context_t = typename P::context_type;
template <ExecutionPolicy P>
using space_t = typename P::memory_space;

/// A context for `threads` CPU threads where the context takes a thread count; a context that knows how to be made
/// for policy P (Ctx::make(P{}): a GPU context on the policy's device) otherwise; else a default one.
template <class Ctx, class P = void>
Ctx make_context(int threads) {
  if constexpr (std::is_constructible_v<Ctx, int>) return Ctx(threads);
  else if constexpr (requires { Ctx::make(P{}); }) return Ctx::make(P{});
  else return Ctx{};
}

}  // namespace tfx

/// Defines the dispatcher tfx::kernels::OP(policy, args...): it calls OP_impl(policy, args...) found by
/// argument-dependent lookup in the policy's namespace, else the policy's named fallback, else fails to compile
/// with one sentence. Backends add overloads; layers never branch on the policy.
#define TFX_KERNEL_DISPATCHER(OP)                                                                     \
  namespace tfx::kernels {                                                                            \
  template <class P, class... Args>                                                                   \
  void OP(P p, Args&&... args) {                                                                      \
    if constexpr (requires { OP##_impl(p, std::forward<Args>(args)...); }) {                          \
      OP##_impl(p, std::forward<Args>(args)...);                                                      \
    } else if constexpr (requires { typename P::fallback; }) {                                        \
      OP(typename P::fallback{}, std::forward<Args>(args)...);                                        \
    } else {                                                                                          \
      static_assert(::tfx::dependent_false<P>, "tfx: no " #OP " kernel for this policy and no fallback"); \
    }                                                                                                 \
  }                                                                                                   \
  template <class P, class... Args>                                                                   \
  constexpr bool has_native_##OP = requires(P p, Args&&... args) { OP##_impl(p, std::forward<Args>(args)...); }; \
  }
