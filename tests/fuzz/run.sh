#!/usr/bin/env bash
# Fuzz smoke run: builds each libFuzzer target with clang (ASan + UBSan) and runs it for N seconds from a seed
# corpus of real inputs. Any crash, sanitizer report or escaped exception fails the run.
#   tests/fuzz/run.sh [seconds per target]
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/../.."
seconds="${1:-20}"
out="build/fuzz"
mkdir -p "$out"
cxx="$(command -v clang++-14 || command -v clang++)"
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Iinclude
       -isystem /usr/include/eigen3 $(pkg-config --cflags --libs libpcre2-8 libutf8proc)
       -DTFX_FUZZ_TOKENIZER="\"$PWD/models/tiny-fortunes/tokenizer.json\""
       -DTFX_FUZZ_WORDPIECE="\"$PWD/tests/data/tokenizer/bert-uncased-tokenizer.json\"")

seed() {  # seed <target> <files...>: a fresh corpus directory holding copies of the given files
  local dir="$out/corpus_$1"
  shift
  rm -rf "$dir"
  mkdir -p "$dir"
  local i=0
  for f in "$@"; do cp "$f" "$dir/seed$((i++))"; done
  echo "$dir"
}

declare -A corpus
# safetensors_fuzz reads a selector byte first (0: safetensors, 1: config.json)
for f in llama_bias qwen3_tied_bf16; do
  { printf '\x00'; cat "tests/data/e2e/$f/model.safetensors"; } >"$out/seed_$f.bin"
done
corpus[safetensors]=$(seed safetensors "$out"/seed_*.bin)
corpus[config]=$(seed config tests/data/e2e/*/config.json tests/data/encoders/*/config.json \
                 tests/data/seq2seq/*/config.json models/tiny-fortunes/config.json)
python3 - "$out/corpus_tokenizer_src" <<'PY' || true
import json, os, sys
os.makedirs(sys.argv[1], exist_ok=True)
for i, t in enumerate(json.load(open("tests/data/tokenizer/corpus.json"))):
    open(os.path.join(sys.argv[1], f"t{i}"), "w", encoding="utf-8").write(t if isinstance(t, str) else json.dumps(t))
PY
corpus[tokenizer]=$(seed tokenizer "$out"/corpus_tokenizer_src/*)

status=0
for target in safetensors config tokenizer; do
  echo "-- fuzz $target: building"
  "$cxx" "tests/fuzz/${target}_fuzz.cpp" "${flags[@]}" -o "$out/${target}_fuzz"
  echo "-- fuzz $target: ${seconds}s"
  if "$out/${target}_fuzz" -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1 "${corpus[$target]}" \
      >"$out/${target}.log" 2>&1; then
    grep -E "stat::number_of_executed_units|Done" "$out/${target}.log" | tail -1
  else
    echo "fuzz $target FAILED:"
    tail -40 "$out/${target}.log"
    status=1
  fi
done
exit $status
