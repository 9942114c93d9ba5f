#!/usr/bin/env bash
# The test suite: warnings-as-errors build of everything (tests, benchmarks, examples, the tfx command), ctest,
# then the kernels, layers, parsers, tokenizer and model under ASan + UBSan, then a libFuzzer smoke run of each
# parser. Ends with one summary line over all ctest runs.
#   TFX_SKIP_ASAN=1 / TFX_SKIP_FUZZ=1 scripts/test.sh   to leave a stage out locally
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs="${TFX_JOBS:-$(nproc)}"
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

# The CUDA backend and its tests are built whenever nvcc is present; without a GPU the CUDA tests report
# "no CUDA device" and count as skipped, not passed.
cuda=OFF
if command -v nvcc >/dev/null 2>&1 && [ -z "${TFX_NO_CUDA:-}" ] &&
   python3 -c 'import nvidia.cu13, os, sys; sys.exit(not os.path.exists(os.path.join(nvidia.cu13.__path__[0], "include/cublas_v2.h")))' 2>/dev/null; then
  cuda=ON
fi
echo "== build (dev preset: -Werror, -march=native; CUDA backend: $cuda)"
cmake --preset dev -DTFX_CUDA=$cuda >/dev/null
cmake --build --preset dev -j "$jobs"
echo "== ctest"
ctest --preset dev -j "$jobs" --timeout 900 --no-tests=error | tee "$logs/dev.log"

if [ -z "${TFX_SKIP_ASAN:-}" ]; then
  echo "== ASan + UBSan: kernels and layers, parsers, tokenizers, models (decoders, encoders, encoder-decoders)"
  cmake --preset asan -DTFX_BUILD_EXAMPLES=OFF -DTFX_BUILD_TOOLS=OFF >/dev/null
  cmake --build --preset asan -j "$jobs" --target tfx_test_io tfx_test_text tfx_test_model tfx_test_core tfx_test_layers \
    tfx_test_encoder tfx_test_seq2seq
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --preset asan -j "$jobs" --timeout 900 --no-tests=error -L "io|text|model|core|layers|encoder|seq2seq" | tee "$logs/asan.log"
fi

if [ -z "${TFX_SKIP_FUZZ:-}" ]; then
  echo "== fuzz smoke (libFuzzer, ${TFX_FUZZ_SECONDS:-20} s per target)"
  tests/fuzz/run.sh "${TFX_FUZZ_SECONDS:-20}"
fi

# ctest prints "100% tests passed, 0 tests failed out of N" per run, and lists skipped tests ("(Skipped)") among
# those that did not run; add the runs up (a failure exits above). Skipped tests are not counted as passed.
total=$(cat "$logs"/*.log | sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2 \1/p' |
        awk '{n += $1; f += $2} END {print n, f}')
skipped=$(cat "$logs"/*.log | grep -c '(Skipped)' || true)
echo "summary: $(( ${total% *} - ${total#* } - skipped )) passed, ${total#* } failed, $skipped skipped"
