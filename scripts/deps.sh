#!/usr/bin/env bash
# Installs the Debian packages tfx builds and tests with (skipped when they are all present).
set -euo pipefail
packages=(cmake ninja-build pkg-config g++ clang-14 libomp-14-dev libclang-rt-14-dev libeigen3-dev libxsimd-dev
          catch2 libbenchmark-dev nlohmann-json3-dev libpcre2-dev libutf8proc-dev libsentencepiece-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "== installing: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# With the CUDA toolkit (nvcc) present, the CUDA backend is built too; its cuBLAS comes from PyPI (nvidia-cublas:
# headers and libraries), installed for the python3 first on PATH when missing.
if command -v nvcc >/dev/null 2>&1 && [ -z "${TFX_NO_CUDA:-}" ]; then
  if ! python3 -c 'import nvidia.cu13, os, sys; sys.exit(not os.path.exists(os.path.join(nvidia.cu13.__path__[0], "include/cublas_v2.h")))' 2>/dev/null; then
    echo "== installing nvidia-cublas (pip) for the CUDA backend"
    python3 -m pip install -q 'nvidia-cublas==13.*' >/dev/null ||
      echo "warning: could not install nvidia-cublas: the CUDA backend is not built (the CPU tests still run)"
  fi
fi
