// Catch2's main for the CUDA tests: without a CUDA device (or driver) it says so and exits 77, which ctest reports
// as skipped (SKIP_RETURN_CODE); with one it names the device and runs the tests.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdio>

#include "tfx/backend/cuda/raw.hpp"

int main(int argc, char** argv) {
  if (tfx::cuda::raw::device_count() == 0) {
    std::puts("no CUDA device: the CUDA tests are skipped");
    return 77;
  }
#ifdef TFX_CUDA_EMULATED
  std::printf("CUDA kernels emulated on the CPU (tests/cuda/emulator; not a GPU, not cuBLAS): %s\n",
              tfx::cuda::raw::device_description(0).c_str());
#else
  std::printf("CUDA device 0: %s\n", tfx::cuda::raw::device_description(0).c_str());
#endif
  std::fflush(stdout);
  return Catch::Session().run(argc, argv);
}
