#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: every CUDA test (each kernel against its CPU twin on awkward sizes; every e2e
# checkpoint's logits on the GPU against the references the CPU meets, prefill and decode, f32 / bf16 / f16 KV
# caches), the CUDA kernel benchmarks (GEMM, attention, copy bandwidth) and `tfx bench --device cuda` on a
# Qwen3-0.6B-shaped model, then one summary line.
#   scripts/gpu-check.sh                    builds with the cuda preset (nvcc; cuBLAS from pip's nvidia-cublas)
#   TFX_GPU_BIN=DIR scripts/gpu-check.sh    runs binaries built elsewhere: DIR/{tfx_test_cuda,tfx_cuda_bench,tfx}
#                                           and the shared libraries they need in DIR/lib
set -uo pipefail
cd "$(dirname "$0")/.."
export TFX_SOURCE_DIR="$PWD"
start=$(date +%s)
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader ||
  { echo "gpu-check: no NVIDIA GPU here"; exit 1; }
cublas=$(python3 -c 'import nvidia.cu13, os; print(os.path.join(nvidia.cu13.__path__[0], "lib"))' 2>/dev/null ||
         find / -xdev -name 'libcublas.so.13' -printf '%h\n' -quit 2>/dev/null)
if [ -n "${TFX_GPU_BIN:-}" ]; then
  test_bin=$TFX_GPU_BIN/tfx_test_cuda bench_bin=$TFX_GPU_BIN/tfx_cuda_bench cli=$TFX_GPU_BIN/tfx
  export LD_LIBRARY_PATH="$TFX_GPU_BIN/lib:$cublas:${LD_LIBRARY_PATH:-}"
else
  cmake --preset cuda >/dev/null && cmake --build --preset cuda -j "$(nproc)" --target tfx_test_cuda tfx_cuda_bench tfx_cli ||
    { echo "gpu-check: build failed"; exit 1; }
  test_bin=build/cuda/tests/cuda/tfx_test_cuda bench_bin=build/cuda/bench/tfx_cuda_bench cli=build/cuda/tools/tfx
  export LD_LIBRARY_PATH="$cublas:${LD_LIBRARY_PATH:-}"
fi
failed=0
echo "== CUDA tests (kernels against their CPU twins; e2e logits on the GPU)"
"$test_bin" 2>&1 | tee /tmp/tfx-gpu-tests.log
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] || { echo "gpu-check: CUDA tests exited with $rc"; failed=$((failed + 1)); }
tests_line=$(grep -E "^(All tests passed|test cases:)" /tmp/tfx-gpu-tests.log | tail -1)

echo "== CUDA kernel benchmarks"
"$bench_bin" || { echo "gpu-check: benchmarks failed"; failed=$((failed + 1)); }

echo "== tfx bench --device cuda, Qwen3-0.6B shapes (random bf16 weights, tools/peer/make_random_hf.py)"
model=/tmp/tfx-qwen3-0.6b
[ -f "$model/config.json" ] || python3 tools/peer/make_random_hf.py "$model" bf16 >/dev/null ||
  { echo "gpu-check: could not write the model"; failed=$((failed + 1)); }
"$cli" bench --model "$model" --device cuda --prompt-tokens 512,2048 --gen-tokens 128 --repetitions 3 ||
  { echo "gpu-check: tfx bench failed"; failed=$((failed + 1)); }
"$cli" bench --model "$model" --device cuda --kv-dtype bf16 --prompt-tokens 0 --gen-tokens 64 --depth 2048 --repetitions 3 ||
  { echo "gpu-check: tfx bench (depth 2048) failed"; failed=$((failed + 1)); }
echo "gpu-check summary: tests: ${tests_line:-none}; $failed stage(s) failed; $(( $(date +%s) - start )) s"
[ "$failed" -eq 0 ]
