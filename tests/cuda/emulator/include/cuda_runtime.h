#pragma once
#include "cuda_emu.hpp"
#include <cstring>
#include <cstdlib>
enum cudaError_t { cudaSuccess = 0, cudaErrorInvalidValue = 1, cudaErrorMemoryAllocation = 2, cudaErrorInvalidDevice = 101, cudaErrorNoDevice = 100 };
enum cudaMemcpyKind { cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice, cudaMemcpyDefault };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
struct CUstream_st; typedef CUstream_st* cudaStream_t;
struct CUevent_st; typedef CUevent_st* cudaEvent_t;
struct cudaDeviceProp { char name[256]; int major, minor, multiProcessorCount; std::size_t totalGlobalMem; };
inline cudaError_t& emu_last() { static cudaError_t e = cudaSuccess; return e; }
inline cudaError_t emu_ret(cudaError_t e) { if (e != cudaSuccess) emu_last() = e; return e; }
inline cudaError_t cudaGetLastError() { cudaError_t e = emu_last(); emu_last() = cudaSuccess; return e; }
inline const char* cudaGetErrorName(cudaError_t e) { static char b[32]; std::snprintf(b, 32, "cudaError%d", int(e)); return b; }
inline const char* cudaGetErrorString(cudaError_t) { return "emulated error"; }
template <class F> cudaError_t cudaFuncSetAttribute(F, cudaFuncAttribute, int v) { return v > 227 * 1024 ? emu_ret(cudaErrorInvalidValue) : cudaSuccess; }
inline cudaError_t cudaGetDeviceCount(int* n) { *n = 1; return cudaSuccess; }
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int dev) {
  if (dev != 0) return emu_ret(cudaErrorInvalidDevice);
  std::strcpy(p->name, "EMU"); p->major = 9; p->minor = 0; p->multiProcessorCount = 132; p->totalGlobalMem = std::size_t(150) << 30; return cudaSuccess; }
inline cudaError_t cudaSetDevice(int dev) { return dev == 0 ? cudaSuccess : emu_ret(cudaErrorInvalidDevice); }
inline cudaError_t cudaMalloc(void** p, std::size_t n) { if (n > (std::size_t(1) << 40)) return emu_ret(cudaErrorMemoryAllocation); *p = std::malloc(n); std::memset(*p, 0xff, n); return cudaSuccess; }
inline cudaError_t cudaFree(void* p) { std::free(p); return cudaSuccess; }
inline cudaError_t cudaMallocHost(void** p, std::size_t n) { *p = std::malloc(n); return cudaSuccess; }
inline cudaError_t cudaFreeHost(void* p) { std::free(p); return cudaSuccess; }
inline cudaError_t cudaMemcpyAsync(void* d, const void* s, std::size_t n, cudaMemcpyKind, cudaStream_t) { std::memmove(d, s, n); return cudaSuccess; }
inline cudaError_t cudaStreamCreate(cudaStream_t* s) { *s = reinterpret_cast<cudaStream_t>(new int); return cudaSuccess; }
inline constexpr unsigned cudaStreamNonBlocking = 1;
inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) { return cudaStreamCreate(s); }
inline cudaError_t cudaStreamDestroy(cudaStream_t s) { delete reinterpret_cast<int*>(s); return cudaSuccess; }
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaEventCreate(cudaEvent_t* e) { *e = reinterpret_cast<cudaEvent_t>(new int); return cudaSuccess; }
inline cudaError_t cudaEventDestroy(cudaEvent_t e) { delete reinterpret_cast<int*>(e); return cudaSuccess; }
inline cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
inline cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t, cudaEvent_t) { *ms = 0.5f; return cudaSuccess; }
