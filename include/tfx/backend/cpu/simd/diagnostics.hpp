// GCC 12 reports "'__Y' may be used uninitialized" inside its own AVX-512 intrinsic headers (the self-initialised
// result of _mm512_undefined_*()) when xsimd or Eigen code is inlined into a kernel: GCC bug 105593, fixed in
// GCC 13. The warning is emitted where the kernel is compiled, so every backend file that inlines vector code
// brackets its kernels with these macros. Nothing else is silenced.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#define TFX_VECTOR_CODE_BEGIN                                        \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wuninitialized\"") \
      _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
#define TFX_VECTOR_CODE_END _Pragma("GCC diagnostic pop")
#else
#define TFX_VECTOR_CODE_BEGIN
#define TFX_VECTOR_CODE_END
#endif
