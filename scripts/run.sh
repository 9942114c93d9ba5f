#!/usr/bin/env bash
# The main job: build the tfx command (release preset) and generate text with the shipped model.
#   scripts/run.sh ["prompt"] [extra tfx generate options]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake --preset release -DTFX_BUILD_TESTS=OFF -DTFX_BUILD_BENCH=OFF -DTFX_BUILD_EXAMPLES=OFF >/dev/null
cmake --build --preset release --target tfx_cli
prompt="${1:-The meaning of life is}"
shift || true
exec build/release/tools/tfx generate --model models/tiny-fortunes --prompt "$prompt" --max-tokens 120 "$@"
