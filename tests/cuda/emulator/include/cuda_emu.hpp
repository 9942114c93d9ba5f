// A CPU emulator for the CUDA subset the tfx kernels use: each block runs as blockDim.x fibers (ucontext) on one
// OS thread; __syncthreads / __syncwarp / __shfl_xor_sync are barriers; blocks run one after the other.
#pragma once
#include <ucontext.h>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>
#include "tfx/core/dtype.hpp"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define CUDART_VERSION 13000

struct uint3 { unsigned x = 0, y = 0, z = 0; };
struct dim3 {
  unsigned x, y, z;
  dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
inline uint3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;

inline float max(float a, float b) { return std::fmax(a, b); }
inline double max(double a, double b) { return std::fmax(a, b); }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __uint_as_float(std::uint32_t u) { return std::bit_cast<float>(u); }
inline std::uint32_t __float_as_uint(float f) { return std::bit_cast<std::uint32_t>(f); }
struct __half { std::uint16_t x; };
inline __half __ushort_as_half(unsigned short b) { return __half{b}; }
inline unsigned short __half_as_ushort(__half h) { return h.x; }
inline float __half2float(__half h) { return tfx::to_float(tfx::f16{h.x}); }
inline __half __float2half_rn(float f) { return __half{tfx::to_f16(f).bits}; }

namespace emu {
enum class St { run, wblock, wwarp, done };
struct Fiber {
  ucontext_t ctx;
  St st = St::run;
  unsigned tid = 0;
  std::vector<char> stack;
};
struct Block {
  std::vector<Fiber> f;
  ucontext_t sched;
  int cur = -1;
  std::vector<std::uint64_t> slots;
  std::vector<unsigned char> smem;
  std::function<void()> body;
};
inline Block B;
[[noreturn]] inline void die(const char* m) {
  std::fprintf(stderr, "EMU ERROR: %s (block %u %u %u thread %u)\n", m, blockIdx.x, blockIdx.y, blockIdx.z,
               B.cur >= 0 ? B.f[B.cur].tid : 0u);
  std::abort();
}
inline void yield(St s) {
  Fiber& me = B.f[B.cur];
  me.st = s;
  swapcontext(&me.ctx, &B.sched);
  threadIdx.x = me.tid; threadIdx.y = 0; threadIdx.z = 0;
}
inline void trampoline() {
  B.body();
  B.f[B.cur].st = St::done;
  swapcontext(&B.f[B.cur].ctx, &B.sched);
}
inline void run_block(unsigned nthreads) {
  if (B.f.size() < nthreads) B.f.resize(nthreads);
  B.slots.assign(nthreads, 0);
  for (unsigned t = 0; t < nthreads; ++t) {
    Fiber& f = B.f[t];
    if (f.stack.empty()) f.stack.resize(1 << 18);
    getcontext(&f.ctx);
    f.ctx.uc_stack.ss_sp = f.stack.data();
    f.ctx.uc_stack.ss_size = f.stack.size();
    f.ctx.uc_link = nullptr;
    makecontext(&f.ctx, trampoline, 0);
    f.st = St::run;
    f.tid = t;
  }
  const unsigned warps = (nthreads + 31) / 32;
  for (;;) {
    bool any = false;
    for (unsigned t = 0; t < nthreads; ++t)
      if (B.f[t].st == St::run) {
        any = true;
        B.cur = static_cast<int>(t);
        threadIdx.x = t; threadIdx.y = 0; threadIdx.z = 0;
        swapcontext(&B.sched, &B.f[t].ctx);
        B.cur = -1;
      }
    if (any) continue;
    bool all_done = true;
    for (unsigned t = 0; t < nthreads; ++t) all_done = all_done && B.f[t].st == St::done;
    if (all_done) return;
    bool released = false;
    for (unsigned w = 0; w < warps; ++w) {
      unsigned nw = 0, nd = 0, nb = 0, n = 0;
      for (unsigned t = w * 32; t < std::min(nthreads, w * 32 + 32); ++t, ++n) {
        nw += B.f[t].st == St::wwarp; nd += B.f[t].st == St::done; nb += B.f[t].st == St::wblock;
      }
      if (nw > 0) {
        if (nw != n) { std::fprintf(stderr, "warp %u: %u at warp barrier, %u done, %u at block barrier\n", w, nw, nd, nb); die("divergent warp barrier"); }
        for (unsigned t = w * 32; t < std::min(nthreads, w * 32 + 32); ++t) B.f[t].st = St::run;
        released = true;
      }
    }
    if (released) continue;
    unsigned nb = 0, nd = 0;
    for (unsigned t = 0; t < nthreads; ++t) nb += B.f[t].st == St::wblock, nd += B.f[t].st == St::done;
    if (nb + nd == nthreads && nb > 0) {
      if (nd > 0) die("__syncthreads with exited threads");
      for (unsigned t = 0; t < nthreads; ++t) B.f[t].st = St::run;
      continue;
    }
    die("deadlock");
  }
}
}  // namespace emu

inline void __syncthreads() { emu::yield(emu::St::wblock); }
inline void __syncwarp(unsigned = 0xffffffffu) { emu::yield(emu::St::wwarp); }
template <class T>
inline T __shfl_xor_sync(unsigned mask, T v, int off) {
  if (mask != 0xffffffffu) emu::die("mask");
  static_assert(sizeof(T) <= 8);
  std::uint64_t u = 0;
  std::memcpy(&u, &v, sizeof(T));
  const unsigned t = threadIdx.x;
  emu::B.slots[t] = u;
  emu::yield(emu::St::wwarp);
  const unsigned partner = (t & ~31u) | ((t & 31u) ^ static_cast<unsigned>(off));
  if (partner >= emu::B.slots.size()) emu::die("shuffle partner out of range");
  std::uint64_t p = emu::B.slots[partner];
  emu::yield(emu::St::wwarp);
  T r;
  std::memcpy(&r, &p, sizeof(T));
  return r;
}
inline void* emu_smem() { return emu::B.smem.data(); }

template <class F, class... A>
void emu_launch(F kernel, dim3 grid, dim3 block, std::size_t smem, void*, A... args) {
  if (block.y != 1 || block.z != 1 || block.x == 0 || block.x > 1024) emu::die("block shape");
  if (grid.x == 0 || grid.y == 0 || grid.z == 0) emu::die("empty grid");
  if (grid.y > 65535 || grid.z > 65535) emu::die("grid y/z too large");
  gridDim = grid;
  blockDim = block;
  for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
      for (unsigned x = 0; x < grid.x; ++x) {
        blockIdx.x = x; blockIdx.y = y; blockIdx.z = z;
        emu::B.smem.assign(smem + 16, 0xff);  // NaN-ish garbage to catch reads of unwritten shared memory
        emu::B.body = [&] { kernel(args...); };
        emu::run_block(block.x);
      }
}
