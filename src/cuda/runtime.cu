// The CUDA backend's runtime half: devices, memory, copies, streams, events, cuBLAS handles.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <iomanip>
#include <sstream>
#include <string>

#include "common.cuh"
#include "tfx/backend/cuda/raw.hpp"
#include "tfx/core/error.hpp"

namespace tfx::cuda::detail {

void check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  // Reset the runtime's last-error slot, so that a non-sticky failure (an allocation that did not fit, an invalid
  // argument) is not reported again by the next launch check.
  (void)cudaGetLastError();
  tfx::fail("CUDA ", what, ": ", cudaGetErrorName(e), " (", cudaGetErrorString(e), ")");
}

void check_blas(cublasStatus_t s, const char* what) {
  if (s == CUBLAS_STATUS_SUCCESS) return;
  tfx::fail("cuBLAS ", what, ": ", cublasGetStatusName(s), " (", cublasGetStatusString(s), ")");
}

}  // namespace tfx::cuda::detail

namespace tfx::cuda::raw {

using detail::as_stream;
using detail::check;
using detail::check_blas;

int device_count() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();  // no driver, no device, a driver too old: none usable
    return 0;
  }
  return n < 0 ? 0 : n;
}

std::string device_description(int dev) {
  cudaDeviceProp p{};
  check(cudaGetDeviceProperties(&p, dev), "cudaGetDeviceProperties");
  std::ostringstream s;
  s << p.name << " (sm_" << p.major << p.minor << ", " << p.multiProcessorCount << " SMs, " << std::fixed
    << std::setprecision(1) << static_cast<double>(p.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0) << " GiB)";
  return s.str();
}

void set_device(int dev) { check(cudaSetDevice(dev), "cudaSetDevice"); }

void* malloc(std::size_t bytes) {
  void* p = nullptr;
  if (bytes == 0) return nullptr;
  const cudaError_t e = cudaMalloc(&p, bytes);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    tfx::fail("CUDA cudaMalloc of ", bytes, " bytes: ", cudaGetErrorName(e), " (", cudaGetErrorString(e), ")");
  }
  return p;
}

void free(void* p) noexcept {
  if (p == nullptr) return;
  if (cudaFree(p) != cudaSuccess) (void)cudaGetLastError();  // at exit the runtime may be unloading already
}

void* host_malloc_pinned(std::size_t bytes) {
  void* p = nullptr;
  if (bytes == 0) return nullptr;
  const cudaError_t e = cudaMallocHost(&p, bytes);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    tfx::fail("CUDA cudaMallocHost of ", bytes, " bytes: ", cudaGetErrorName(e), " (", cudaGetErrorString(e), ")");
  }
  return p;
}

void host_free_pinned(void* p) noexcept {
  if (p == nullptr) return;
  if (cudaFreeHost(p) != cudaSuccess) (void)cudaGetLastError();
}

void copy_to_device(void* dst, const void* host_src, std::size_t bytes, void* stream) {
  if (bytes == 0) return;
  check(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, as_stream(stream)),
        "cudaMemcpyAsync (to device)");
}

void copy_to_host(void* host_dst, const void* src, std::size_t bytes, void* stream) {
  if (bytes == 0) return;
  check(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, as_stream(stream)), "cudaMemcpyAsync (to host)");
}

void copy_device(void* dst, const void* src, std::size_t bytes, void* stream) {
  if (bytes == 0 || dst == src) return;
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, as_stream(stream)),
        "cudaMemcpyAsync (device to device)");
}

void* stream_create() {
  cudaStream_t s = nullptr;
  // A blocking stream: it also orders with work on the legacy default stream (stream 0), the safe choice for a
  // library whose callers may use either.
  check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  return s;
}

void stream_destroy(void* stream) noexcept {
  if (stream == nullptr) return;
  if (cudaStreamDestroy(as_stream(stream)) != cudaSuccess) (void)cudaGetLastError();
}

void stream_synchronize(void* stream) { check(cudaStreamSynchronize(as_stream(stream)), "cudaStreamSynchronize"); }

void* event_create() {
  cudaEvent_t e = nullptr;
  check(cudaEventCreate(&e), "cudaEventCreate");
  return e;
}

void event_destroy(void* event) noexcept {
  if (event == nullptr) return;
  if (cudaEventDestroy(static_cast<cudaEvent_t>(event)) != cudaSuccess) (void)cudaGetLastError();
}

void event_record(void* event, void* stream) {
  check(cudaEventRecord(static_cast<cudaEvent_t>(event), as_stream(stream)), "cudaEventRecord");
}

float event_elapsed_ms(void* start, void* end) {
  check(cudaEventSynchronize(static_cast<cudaEvent_t>(end)), "cudaEventSynchronize");
  float ms = 0;
  check(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start), static_cast<cudaEvent_t>(end)),
        "cudaEventElapsedTime");
  return ms;
}

void* blas_create(void* stream) {
  cublasHandle_t h = nullptr;
  check_blas(cublasCreate(&h), "cublasCreate");
  // f32 products in f32: CUBLAS_DEFAULT_MATH never converts f32 operands to TF32 (that takes
  // CUBLAS_TF32_TENSOR_OP_MATH or CUBLAS_COMPUTE_32F_FAST_TF32, neither of which tfx uses); 16-bit operands still
  // use tensor cores with f32 accumulation (CUBLAS_COMPUTE_32F).
  cublasStatus_t s = cublasSetMathMode(h, CUBLAS_DEFAULT_MATH);
  if (s == CUBLAS_STATUS_SUCCESS) s = cublasSetStream(h, as_stream(stream));
  if (s != CUBLAS_STATUS_SUCCESS) {
    cublasDestroy(h);
    check_blas(s, "cublasSetMathMode / cublasSetStream");
  }
  return h;
}

void blas_destroy(void* blas) noexcept {
  if (blas != nullptr) (void)cublasDestroy(static_cast<cublasHandle_t>(blas));
}

}  // namespace tfx::cuda::raw
