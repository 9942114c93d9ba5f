#!/usr/bin/env bash
# The tfx command end to end, on the shipped model (models/tiny-fortunes).
#
#   tests/cli/cli_test.sh TFX SOURCE_DIR [SCENARIO...]     no scenario: all of them; --list: their names
#
# Every bad input must end with exit status 1..125 (no signal), nothing on stdout and exactly one line on stderr,
# "tfx: error: ...", holding the phrase that names what was wrong. Every function scenario_NAME below is one
# scenario; tests/cli/CMakeLists.txt registers each as the ctest test cli:NAME. Needs only bash, coreutils and awk.
set -u

if [ $# -lt 2 ]; then
  echo "usage: $0 TFX SOURCE_DIR [SCENARIO...]" >&2
  exit 2
fi
tfx=$1
src=$2
shift 2
model=$src/models/tiny-fortunes
vocab=4096

scratch=$(mktemp -d "${TMPDIR:-/tmp}/tfx_cli_test.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT
failures=0
work=

fail() {
  echo "    FAIL: $*"
  failures=$((failures + 1))
}

show() {  # the captured streams of the last command, for a failure report
  echo "    stdout: $(head -c 400 "$work/stdout" | cat -v)"
  echo "    stderr: $(head -c 400 "$work/stderr" | cat -v)"
}

# run ARGS...: runs tfx with stdin closed off; sets rc, leaves $work/stdout and $work/stderr.
run() {
  rc=0
  "$tfx" "$@" <"/dev/null" >"$work/stdout" 2>"$work/stderr" || rc=$?
}

# expect_error PHRASE ARGS...: tfx ARGS fails cleanly with one error line containing PHRASE.
expect_error() {
  local phrase=$1
  shift
  run "$@"
  local what="tfx $*"
  [ ${#what} -gt 160 ] && what="${what:0:160}..."
  local line=
  IFS= read -r line <"$work/stderr"
  if [ "$rc" -eq 0 ]; then
    fail "$what: exit status 0, expected an error"
  elif [ "$rc" -ge 126 ]; then
    fail "$what: exit status $rc (killed by signal $((rc - 128))?)"
  elif ! printf '%s\n' "$line" | cmp -s - "$work/stderr"; then
    fail "$what: stderr is not exactly one line"
  elif [[ $line != "tfx: error: "* ]]; then
    fail "$what: stderr does not start with 'tfx: error: '"
  elif [[ $line != *"$phrase"* ]]; then
    fail "$what: stderr lacks '$phrase'"
  elif [ -s "$work/stdout" ]; then
    fail "$what: printed to stdout"
  else
    echo "    ok (exit $rc): $line"
    return 0
  fi
  show
  return 1
}

# expect_ok ARGS...: tfx ARGS succeeds (stdout and stderr left in $work).
expect_ok() {
  run "$@"
  if [ "$rc" -ne 0 ]; then
    fail "tfx ${*:1:8}: exit status $rc"
    show
    return 1
  fi
  return 0
}

# A copy of the shipped model whose big files are links; corrupt what you need.
model_copy() {
  local d=$work/model
  mkdir -p "$d"
  cp "$model/config.json" "$d/"
  ln -s "$model/model.safetensors" "$d/model.safetensors"
  ln -s "$model/tokenizer.json" "$d/tokenizer.json"
  echo "$d"
}

# npy_floats FILE [ROW]: the float32 data of a .npy file (row ROW of [T, vocab] only), one value a line.
npy_floats() {
  local f=$1 hl
  hl=$(od -An -t u2 -j 8 -N 2 "$f" | tr -d ' ')
  if [ $# -ge 2 ]; then
    od -An -v -w4 -t f4 -j $((10 + hl + $2 * vocab * 4)) -N $((vocab * 4)) "$f"
  else
    od -An -v -w4 -t f4 -j $((10 + hl)) "$f"
  fi
}

# argmax of row ROW of FILE (the first of equal maxima, as std::max_element).
npy_argmax() {
  npy_floats "$1" "$2" | awk 'NR == 1 || $1 + 0 > m { m = $1 + 0; i = NR - 1 } END { print i }'
}

long_prompt() {  # about 2000 tokens, far more than the model's 512 positions
  local s=
  for _ in $(seq 200); do s+="The quick brown fox jumps over the lazy dog. "; done
  printf '%s' "$s"
}

# ------------------------------------------------------------------------------------------------------------
# Options and commands

scenario_no_arguments_prints_usage() {
  run
  [ "$rc" -eq 2 ] || fail "tfx without arguments: exit status $rc, expected 2"
  grep -q '^usage: tfx COMMAND' "$work/stderr" || fail "tfx without arguments: no usage on stderr"
  [ -s "$work/stdout" ] && fail "tfx without arguments: printed to stdout"
  run --help
  [ "$rc" -eq 0 ] || fail "tfx --help: exit status $rc"
  grep -q '^usage: tfx COMMAND' "$work/stdout" || fail "tfx --help: no usage on stdout"
  run bench --model "$model" --help
  [ "$rc" -eq 0 ] || fail "tfx bench --help: exit status $rc"
  grep -q '^usage: tfx COMMAND' "$work/stdout" || fail "tfx bench --help: no usage on stdout"
  run help
  [ "$rc" -eq 0 ] || fail "tfx help: exit status $rc"
  grep -q '^usage: tfx COMMAND' "$work/stdout" || fail "tfx help: no usage on stdout"
  # a value that reads like --help is a value
  expect_error "unknown option --frob for 'tokenize'" tokenize --model "$model" --text --help --frob
  # options are read in order: an unknown one before --help is reported, --help stops the reading
  expect_error "unknown option --frob for 'bench'" bench --frob --help
  run bench --help --frob
  [ "$rc" -eq 0 ] || fail "tfx bench --help --frob: exit status $rc"
  grep -q '^usage: tfx COMMAND' "$work/stdout" || fail "tfx bench --help --frob: no usage on stdout"
}
scenario_unknown_command() { expect_error "unknown command 'frobnicate'" frobnicate --model "$model"; }
scenario_command_missing() { expect_error "unknown command '--model'" --model "$model"; }
scenario_unknown_option() {
  expect_error "unknown option --frob for 'info'" info --model "$model" --frob 1
  expect_error "unknown option --max_tokens for 'generate'" generate --model "$model" --prompt hi --max_tokens 5
  expect_error "unknown option --decode for 'generate'" generate --model "$model" --prompt hi --decode
  expect_error "option --precision: 'bf16' is not one of: fast, exact" logits --model "$model" --tokens 1 --out "$work/x.npy" --precision bf16
}
scenario_option_without_value() {
  expect_error "option --prompt needs a value" generate --model "$model" --prompt
  expect_error "option --model needs a value" info --model
}
scenario_option_twice() { expect_error "option --model given twice" info --model "$model" --model "$model"; }
scenario_positional_argument() {
  expect_error "unexpected argument '$model' (options start with --)" info "$model"
}
scenario_missing_required_option() {
  expect_error "missing option --model" info
  expect_error "missing option --prompt" generate --model "$model"
  expect_error "missing option --out" logits --model "$model" --tokens 1,2
  expect_error "missing option --tokens" detokenize --model "$model"
}

# ------------------------------------------------------------------------------------------------------------
# The model folder

scenario_missing_model_folder() {
  local nope=$work/no_such_model
  expect_error "model folder $nope does not exist or is not a directory" info --model "$nope"
  expect_error "model folder $nope does not exist" generate --model "$nope" --prompt hi
  expect_error "model folder $nope does not exist" logits --model "$nope" --tokens 1 --out "$work/x.npy"
  expect_error "model folder $nope does not exist" tokenize --model "$nope" --text hi
  expect_error "model folder $nope does not exist" detokenize --model "$nope" --tokens 1
  expect_error "model folder $nope does not exist" bench --model "$nope"
  expect_error "model folder $model/config.json does not exist or is not a directory" info --model "$model/config.json"
}
scenario_no_tokenizer() {
  local d=$work/no_tokenizer
  mkdir -p "$d"
  ln -s "$model/config.json" "$d/config.json"
  ln -s "$model/model.safetensors" "$d/model.safetensors"
  expect_error "model folder $d has no tokenizer.json" generate --model "$d" --prompt hi
  expect_error "model folder $d has no tokenizer.json" tokenize --model "$d" --text hi
  expect_error "model folder $d has no tokenizer.json" detokenize --model "$d" --tokens 1,2
  expect_ok info --model "$d"  # the model itself needs no tokenizer
}
scenario_malformed_tokenizer() {
  local d
  d=$(model_copy)
  rm "$d/tokenizer.json"
  printf '{"model": {"type": "BPE", "vocab": {' >"$d/tokenizer.json"
  expect_error "$d/tokenizer.json: malformed JSON" tokenize --model "$d" --text hi
}
scenario_no_config() {
  local d
  d=$(model_copy)
  rm "$d/config.json"
  expect_error "no config.json in model folder $d" info --model "$d"
  expect_error "no config.json in model folder $d" generate --model "$d" --prompt hi
}
scenario_malformed_config() {
  local d
  d=$(model_copy)
  head -c 200 "$model/config.json" >"$d/config.json"
  expect_error "$d/config.json: malformed JSON in config" info --model "$d"
  expect_error "$d/config.json: malformed JSON in config" generate --model "$d" --prompt hi
}
scenario_unknown_model_type() {
  local d
  d=$(model_copy)
  sed -i 's/"model_type": "qwen3"/"model_type": "phi3"/' "$d/config.json"
  expect_error "unknown model_type 'phi3' in $d/config.json" info --model "$d"
}
scenario_unsupported_rope_type() {
  local d
  d=$(model_copy)
  sed -i 's/"rope_scaling": null/"rope_scaling": {"type": "longrope", "factor": 4.0}/' "$d/config.json"
  expect_error "unsupported rope type 'longrope' in $d/config.json field rope_scaling.type" info --model "$d"
}
scenario_config_disagrees_with_weights() {
  local d
  d=$(model_copy)
  sed -i 's/"intermediate_size": 768/"intermediate_size": 700/' "$d/config.json"
  expect_error "tensor 'model.layers.0.mlp.gate_proj.weight' in $d/model.safetensors: expected shape [700, 256], found [768, 256]" \
    info --model "$d"
}
scenario_no_safetensors() {
  local d
  d=$(model_copy)
  rm "$d/model.safetensors"
  expect_error "no safetensors checkpoint in $d" logits --model "$d" --tokens 1,2 --out "$d/x.npy"
  expect_error "no safetensors checkpoint in $d" logits --model "$d" --tokens 1 --out "$work/x.npy"
}
scenario_truncated_safetensors() {
  local d
  d=$(model_copy)
  rm "$d/model.safetensors"
  head -c 4 "$model/model.safetensors" >"$d/model.safetensors"
  expect_error "$d/model.safetensors: truncated safetensors file: 4 bytes" info --model "$d"
  head -c 1000 "$model/model.safetensors" >"$d/model.safetensors"
  expect_error "runs past the end of the file" info --model "$d"
  head -c 4000000 "$model/model.safetensors" >"$d/model.safetensors"
  expect_error "run past the end of the data section" info --model "$d"
  expect_error "run past the end of the data section" generate --model "$d" --prompt hi
}

# ------------------------------------------------------------------------------------------------------------
# Numbers and token ids

scenario_max_tokens_not_a_number() {
  expect_error "option --max-tokens: 'ten' is not a number" generate --model "$model" --prompt hi --max-tokens ten
  expect_error "option --max-tokens: '5x' is not a number" generate --model "$model" --prompt hi --max-tokens 5x
  expect_error "option --max-tokens: '' is not a number" generate --model "$model" --prompt hi --max-tokens ""
  expect_error "option --max-tokens: 0 is out of range" generate --model "$model" --prompt hi --max-tokens 0
}
scenario_temperature_negative() {
  expect_error "temperature must be >= 0, got -1" generate --model "$model" --prompt hi --temperature -1
  expect_error "option --temperature: nan is out of range" generate --model "$model" --prompt hi --temperature nan
}
scenario_top_p_zero() { expect_error "top-p must be in (0, 1], got 0" generate --model "$model" --prompt hi --top-p 0; }
scenario_top_p_above_one() { expect_error "top-p must be in (0, 1], got 1.5" generate --model "$model" --prompt hi --top-p 1.5; }
scenario_min_p_one() { expect_error "min-p must be in [0, 1), got 1" generate --model "$model" --prompt hi --min-p 1; }
scenario_repeat_penalty_zero() {
  expect_error "repetition penalty must be > 0, got 0" generate --model "$model" --prompt hi --repeat-penalty 0
}
scenario_top_k_negative() { expect_error "top-k must be >= 0, got -1" generate --model "$model" --prompt hi --top-k -1; }
scenario_threads_zero() {
  expect_error "option --threads: 0 is out of range [1, 1024]" logits --model "$model" --tokens 1 --out "$work/x.npy" --threads 0
}
scenario_seed_negative() { expect_error "option --seed: '-1' is not a number" generate --model "$model" --prompt hi --seed -1; }
scenario_tokens_not_a_number() {
  expect_error "--tokens: 'abc' at item 1 is not a token id" logits --model "$model" --tokens 1,abc,3 --out "$work/x.npy"
  expect_error "--tokens: '' at item 1 is not a token id" logits --model "$model" --tokens 1,,3 --out "$work/x.npy"
  expect_error "--tokens: '' at item 2 is not a token id" detokenize --model "$model" --tokens 1,2,
  expect_error "--tokens: '99999999999' at item 0 is not a token id" detokenize --model "$model" --tokens 99999999999
  # A newline inside the value is shown escaped: the error stays on one line.
  expect_error "--tokens: '1\\x0a2' at item 0 is not a token id" logits --model "$model" --tokens $'1\n2' --out "$work/x.npy"
}
scenario_tokens_negative() {
  expect_error "--tokens: token id -5 at item 1 is negative" logits --model "$model" --tokens 1,-5 --out "$work/x.npy"
  expect_error "--tokens: token id -5 at item 0 is negative" detokenize --model "$model" --tokens -5
}
scenario_tokens_past_vocab() {
  expect_error "--tokens: token id 4096 at index 2 is >= the vocabulary size 4096" \
    logits --model "$model" --tokens 1,2,4096 --out "$work/x.npy"
  expect_error "token id 4096 is out of range (vocabulary size 4096)" detokenize --model "$model" --tokens 1,4096
  [ -e "$work/x.npy" ] && fail "a failed logits command wrote its output file"
}
scenario_prompt_longer_than_context() {
  expect_error "--prompt: " generate --model "$model" --prompt "$(long_prompt)" --max-tokens 3
  [[ $(cat "$work/stderr") == *"tokens do not fit the model's context of 512 positions"* ]] ||
    fail "the long prompt's error does not name the context of 512 positions"
}
scenario_tokens_longer_than_context() {
  expect_error "--tokens: 600 tokens exceed the model's context of 512" \
    logits --model "$model" --tokens "$(seq -s, 1 600)" --out "$work/x.npy"
}
scenario_bench_longer_than_context() {
  expect_error "bench: 500 + 100 tokens exceed the model's context of 512" \
    bench --model "$model" --prompt-tokens 8 --gen-tokens 100 --depth 500
  expect_error "bench: 600 + 0 tokens exceed the model's context of 512" bench --model "$model" --prompt-tokens 600
}
scenario_bench_lists_and_json() {
  expect_error "option --depth: 'x' is not a number" bench --model "$model" --depth 0,x
  expect_error "option --gen-tokens: -1 is out of range" bench --model "$model" --gen-tokens -1
  expect_error "bench: nothing to run" bench --model "$model" --prompt-tokens 0 --gen-tokens 0
  expect_ok bench --model "$model" --prompt-tokens 16,32 --gen-tokens 4 --depth 0,8 --repetitions 2 --json || return
  local out=$work/stdout
  [ "$(head -1 "$out")" = "[" ] && [ "$(tail -1 "$out")" = "]" ] || fail "bench --json: not one JSON array"
  [ "$(grep -c '"avg_ts"' "$out")" -eq 6 ] || fail "bench --json: expected 6 tests (pp16, pp32, tg4, each at depth 0 and 8)"
  grep -q '"n_prompt":0,"n_gen":4,"n_depth":8' "$out" || fail "bench --json: no decode test at depth 8"
  grep -q '"samples_ts":\[[0-9.e+]*,[0-9.e+]*\]' "$out" || fail "bench --json: samples_ts does not hold 2 runs"
  echo "    ok: 6 tests in one JSON array"
}
scenario_kv_dtype() {
  expect_error "option --kv-dtype: 'int8' is not one of: f32, bf16, f16" bench --model "$model" --kv-dtype int8
  expect_ok bench --model "$model" --prompt-tokens 8 --gen-tokens 4 --depth 16 --repetitions 1 --kv-dtype bf16 --json || return
  grep -q '"kv_dtype":"BF16"' "$work/stdout" || fail "bench --kv-dtype bf16: not in the JSON"
  expect_ok generate --model "$model" --prompt "A fortune:" --max-tokens 4 --temperature 0 --kv-dtype f16 || return
  expect_ok info --model "$model" || return
  local f32_bytes bf16_bytes
  f32_bytes=$(sed -n 's/^kv cache: *\([0-9]*\) bytes per token (F32).*/\1/p' "$work/stdout")
  expect_ok info --model "$model" --kv-dtype bf16 || return
  bf16_bytes=$(sed -n 's/^kv cache: *\([0-9]*\) bytes per token (BF16).*/\1/p' "$work/stdout")
  [ -n "$f32_bytes" ] && [ "$((bf16_bytes * 2))" = "$f32_bytes" ] || fail "info --kv-dtype bf16: KV bytes $bf16_bytes vs f32 $f32_bytes"
  echo "    ok: bench, generate, info"
}
scenario_no_amx() {
  expect_error "unexpected argument 'yes' (options start with --)" bench --model "$model" --no-amx yes
  expect_ok logits --model "$model" --tokens 1,2,3 --out "$work/no_amx.npy" --no-amx || return
  expect_ok bench --model "$model" --prompt-tokens 8 --gen-tokens 2 --repetitions 1 --json || return
  if ! grep -q '"isa":"[^"]*+amx' "$work/stdout"; then
    echo "    ok: --no-amx accepted (this CPU or build runs no AMX tiles: the isa never names them)"
    return
  fi
  expect_ok bench --model "$model" --prompt-tokens 8 --gen-tokens 2 --repetitions 1 --no-amx --json || return
  if grep -q '"isa":"[^"]*+amx' "$work/stdout"; then fail "bench --no-amx: the isa still names amx"; fi
  expect_ok bench --model "$model" --prompt-tokens 8 --gen-tokens 2 --repetitions 1 --precision exact --json || return
  if grep -q '"isa":"[^"]*+amx' "$work/stdout"; then fail "bench --precision exact: the isa names amx"; fi
  echo "    ok: +amx by default, not with --no-amx or --precision exact"
}
scenario_device() {
  expect_error "option --device: 'tpu' is not one of: cpu, cuda" logits --model "$model" --tokens 1,2 --out "$work/d.npy" --device tpu
  expect_ok logits --model "$model" --tokens 1,2 --out "$work/d.npy" --device cpu || return
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "    ok: cpu (a GPU is present: --device cuda is exercised by scripts/gpu-check.sh)"
    return
  fi
  # without a GPU: "no CUDA device is available" (CUDA build) or "built without CUDA" (CPU-only build)
  expect_error "option --device cuda: " bench --model "$model" --device cuda
  echo "    ok: unknown device, cpu, cuda without a GPU"
}
quantize_at_load() {  # $1: q8_0 or q4_0
  expect_ok info --model "$model" --quantize "$1" || return
  grep -q "matrices quantized to $1" "$work/stdout" || fail "info --quantize $1: not named in the architecture line"
  expect_ok generate --model "$model" --prompt "A fortune:" --max-tokens 8 --temperature 0 --quantize "$1" || return
  grep -q "with $1 matrices" "$work/stderr" || fail "generate --quantize $1: no progress line on stderr"
  [ -s "$work/stdout" ] || fail "generate --quantize $1: no text"
  expect_ok bench --model "$model" --prompt-tokens 8 --gen-tokens 2 --repetitions 1 --quantize "$1" --json || return
  grep -q "\"quantize\":\"$1\"" "$work/stdout" || fail "bench --quantize $1: not in the JSON"
}
scenario_quantize_at_load() {
  expect_error "option --quantize: 'q4' is not one of: none, q8_0, q4_0" info --model "$model" --quantize q4
  quantize_at_load q8_0 || return
  quantize_at_load q4_0 || return
  echo "    ok: info, generate, bench (q8_0, q4_0)"
}
quantize_folder() {  # $1: q8_0 or q4_0
  local q=$work/stored_$1 other
  [ "$1" = q8_0 ] && other=q4_0 || other=q8_0
  expect_ok quantize --model "$model" --out "$q" --quantize "$1" || return
  grep -q "matrices in $1" "$work/stderr" || fail "quantize: no progress line on stderr"
  [ -s "$q/model.safetensors" ] && [ -s "$q/tokenizer.json" ] || fail "quantize: the folder lacks its checkpoint or tokenizer"
  expect_error "output folder $q already exists and is not an empty folder" quantize --model "$model" --out "$q"
  expect_error "is already quantized ($1)" quantize --model "$q" --out "$work/again"
  # The stored folder loads in its format by itself, to exactly the model --quantize makes at load.
  expect_ok logits --model "$q" --tokens 1,2,3 --out "$work/stored.npy" || return
  expect_ok logits --model "$model" --quantize "$1" --tokens 1,2,3 --out "$work/at_load.npy" || return
  cmp -s "$work/stored.npy" "$work/at_load.npy" || fail "quantize: the stored folder's logits differ from --quantize $1"
  expect_ok info --model "$q" || return
  grep -q "matrices quantized to $1" "$work/stdout" || fail "info on a $1 folder: not named in the architecture line"
  expect_error "option --quantize none: model folder $q stores its matrices in $1" logits --model "$q" --quantize none --tokens 1 --out "$work/x.npy"
  expect_error "option --quantize $other: model folder $q stores its matrices in $1" logits --model "$q" --quantize "$other" --tokens 1 --out "$work/x.npy"
}
scenario_quantize_folder() {
  expect_error "missing option --out" quantize --model "$model"
  expect_error "option --quantize: 'q4' cannot be written (tfx quantize writes: q8_0, q4_0)" quantize --model "$model" --out "$work/q" --quantize q4
  quantize_folder q8_0 || return
  quantize_folder q4_0 || return
  echo "    ok: quantize, logits, info (q8_0, q4_0)"
}

# ------------------------------------------------------------------------------------------------------------
# Files

scenario_tokenize_text_and_file() {
  printf 'hi' >"$work/in.txt"
  expect_error "tokenize: give exactly one of --text and --file" tokenize --model "$model" --text hi --file "$work/in.txt"
}
scenario_tokenize_neither_text_nor_file() {
  expect_error "tokenize: give exactly one of --text and --file" tokenize --model "$model"
}
scenario_tokenize_file_missing() {
  expect_error "--file: cannot open $work/missing.txt: No such file or directory" tokenize --model "$model" --file "$work/missing.txt"
  expect_error "--file: $work is a directory" tokenize --model "$model" --file "$work"
}
scenario_logits_out_unwritable() {
  expect_error "cannot open $work/no_such_dir/out.npy for writing: No such file or directory" \
    logits --model "$model" --tokens 1,2 --out "$work/no_such_dir/out.npy"
  expect_error "cannot open $work for writing: Is a directory" logits --model "$model" --tokens 1,2 --out "$work"
}

# ------------------------------------------------------------------------------------------------------------
# What works

scenario_tokenize_detokenize_round_trip() {
  local text=$'Once upon a time,  3 bears \xe2\x80\x94 \xc2\xabuber\xc2\xbb, \xc3\xbcber, \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x99\x82\ttabs!'
  printf '%s' "$text" >"$work/want.txt"
  expect_ok tokenize --model "$model" --text "$text" || return
  local ids
  ids=$(cat "$work/stdout")
  [[ $ids =~ ^[0-9]+(,[0-9]+)*$ ]] || fail "tokenize printed '$ids', not comma-separated ids"
  expect_ok detokenize --model "$model" --tokens "$ids" || return
  cmp "$work/want.txt" "$work/stdout" || fail "detokenize(tokenize(text)) differs from the text"
  # From a file with newlines and a trailing newline: the same bytes back, and --file agrees with --text.
  printf 'first line\n\n  second line \xe2\x82\xac\n' >"$work/in.txt"
  expect_ok tokenize --model "$model" --file "$work/in.txt" || return
  ids=$(cat "$work/stdout")
  expect_ok detokenize --model "$model" --tokens "$ids" || return
  cmp "$work/in.txt" "$work/stdout" || fail "detokenize(tokenize --file) differs from the file"
  text=$(cat "$work/in.txt"; printf x)  # (the x keeps the trailing newline)
  expect_ok tokenize --model "$model" --text "${text%x}" || return
  [ "$(cat "$work/stdout")" = "$ids" ] || fail "--text and --file tokenize the same text differently"
  echo "    ok: round trip of $(wc -c <"$work/want.txt") and $(wc -c <"$work/in.txt") bytes"
}
scenario_logits_npy_layout() {
  expect_ok logits --model "$model" --tokens 1,2,3 --out "$work/a.npy" || return
  [ -s "$work/stdout" ] && fail "logits printed to stdout"
  local size
  size=$(stat -c %s "$work/a.npy")
  [ "$size" -eq $((128 + 3 * vocab * 4)) ] || fail "a.npy is $size bytes, expected 128 + 3 * $vocab * 4"
  [ "$(head -c 6 "$work/a.npy" | od -An -c | tr -s ' ')" = " 223 N U M P Y" ] || fail "a.npy has no .npy magic"
  local hl
  hl=$(od -An -t u2 -j 8 -N 2 "$work/a.npy" | tr -d ' ')
  [ $((10 + hl)) -eq 128 ] || fail "a.npy header ends at byte $((10 + hl)), expected 128"
  head -c 128 "$work/a.npy" | grep -aq "{'descr': '<f4', 'fortran_order': False, 'shape': (3, $vocab), }" ||
    fail "a.npy header does not describe float32 [3, $vocab]"
  echo "    ok: $size bytes, header: $(head -c 128 "$work/a.npy" | tail -c +11 | tr -s ' ')"
}
scenario_logits_decode_matches_prefill() {
  local ids
  expect_ok tokenize --model "$model" --text "A fortune: you will write many tests." || return
  ids=$(cat "$work/stdout")
  expect_ok logits --model "$model" --tokens "$ids" --out "$work/prefill.npy" --precision exact || return
  expect_ok logits --model "$model" --tokens "$ids" --out "$work/decode.npy" --decode --precision exact || return
  grep -q "token by token" "$work/stderr" || fail "--decode did not say it ran token by token"
  local n=$(($(tr -cd , <<<"$ids" | wc -c) + 1)) report
  report=$(paste <(npy_floats "$work/prefill.npy") <(npy_floats "$work/decode.npy") | awk -v want=$((n * vocab)) '
    { c++; if ($1 !~ /^-?[0-9]/ || $2 !~ /^-?[0-9]/) bad++
      d = $1 - $2; if (d < 0) d = -d; if (d > worst) worst = d
      a = $1 < 0 ? -$1 : $1; if (a > big) big = a }
    END { printf "%d %d %.3g %.3g\n", c, bad, worst, big; exit !(c == want && bad == 0 && worst <= 1e-4 && big > 0.1) }')
  [ $? -eq 0 ] || fail "prefill vs decode (values, non-finite, max |difference|, max |logit|): $report; expected $((n * vocab)) values within 1e-4"
  echo "    ok: $n tokens x $vocab: values, non-finite, max |difference|, max |logit| = $report"
}
scenario_info() {
  expect_ok info --model "$model" || return
  grep -q '^parameters:   4196864 ' "$work/stdout" || fail "info does not print 'parameters:   4196864'"
  grep -q '^architecture: qwen3 (BF16 weights)' "$work/stdout" || fail "info does not print the architecture"
  [ -s "$work/stderr" ] && fail "info printed to stderr"
  echo "    ok: $(grep '^parameters' "$work/stdout")"
}
scenario_generate_reproducible() {
  local prompt="Once upon a time"
  expect_ok generate --model "$model" --prompt "$prompt" --max-tokens 5 --seed 1 || return
  cp "$work/stdout" "$work/first.txt"
  expect_ok generate --model "$model" --prompt "$prompt" --max-tokens 5 --seed 1 || return
  cmp "$work/first.txt" "$work/stdout" || fail "two runs with --seed 1 printed different text"
  [[ $(cat "$work/stdout") == "$prompt"?* ]] || fail "generate does not echo the prompt and then continue it"
  grep -q 'decode: [1-5] tokens' "$work/stderr" || fail "generate reported no decode statistics"
  echo "    ok: $(cat -v "$work/first.txt" | tr '\n' '|')"
}
scenario_generate_greedy() {
  local prompt="Once upon a time" ids n next i
  expect_ok generate --model "$model" --prompt "$prompt" --max-tokens 5 --temperature 0 --repeat-penalty 1 --seed 1 || return
  cp "$work/stdout" "$work/greedy.txt"
  expect_ok generate --model "$model" --prompt "$prompt" --max-tokens 5 --temperature 0 --repeat-penalty 1 --seed 2 --top-k 3 || return
  cmp "$work/greedy.txt" "$work/stdout" || fail "--temperature 0 depends on the seed or top-k"
  # Greedy by hand: append the argmax of the last row of the logits, five times (eos, id 0, stops generation).
  expect_ok tokenize --model "$model" --text "$prompt" --add-special-tokens || return
  ids=$(cat "$work/stdout")
  for i in 1 2 3 4 5; do
    expect_ok logits --model "$model" --tokens "$ids" --out "$work/g.npy" || return
    n=$(($(tr -cd , <<<"$ids" | wc -c) + 1))
    next=$(npy_argmax "$work/g.npy" $((n - 1)))
    [ "$next" = 0 ] && break
    ids+=",$next"
  done
  expect_ok detokenize --model "$model" --tokens "$ids" || return
  printf '\n' >>"$work/stdout"
  cmp "$work/greedy.txt" "$work/stdout" || fail "--temperature 0 is not the argmax continuation ($ids)"
  echo "    ok: $(cat -v "$work/greedy.txt" | tr '\n' '|') = argmax continuation $ids"
}

scenario_detokenize_empty() {  # an empty id list is valid and decodes to nothing
  expect_ok detokenize --model "$model" --tokens "" || return
  [ -s "$work/stdout" ] && fail "detokenize --tokens \"\" printed $(head -c 80 "$work/stdout" | cat -v)"
  [ -s "$work/stderr" ] && fail "detokenize --tokens \"\" wrote to stderr"
  echo "    ok: empty output, exit 0"
}
scenario_info_config_only() {  # published parameter counts from config.json alone
  local d=$work/cfg
  for pair in "gpt2:124439808 (0.124 B)" "qwen3_8b:8190735360 (8.191 B)" \
              "qwen3_30b_a3b:30532122624 (30.532 B), 3353032704 active per token (3.353 B)"; do
    mkdir -p "$d/${pair%%:*}"
    cp "$src/tests/data/configs/${pair%%:*}.json" "$d/${pair%%:*}/config.json"
    expect_ok info --model "$d/${pair%%:*}" || continue
    grep -qF "parameters:   ${pair#*:}" "$work/stdout" || { fail "info ${pair%%:*}: no 'parameters:   ${pair#*:}'"; show; }
  done
  echo "    ok: $(grep -h parameters "$work/stdout")"
}
scenario_gpt2_beyond_n_positions() {  # a prompt longer than n_positions (32) is an error, not a wrap
  local ids
  ids=$(seq -s, 1 33)
  expect_error "33 tokens exceed the model's context of 32" logits --model "$src/tests/data/e2e/gpt2_f32" \
    --tokens "$ids" --out "$work/x.npy"
  expect_ok logits --model "$src/tests/data/e2e/gpt2_f32" --tokens "$(seq -s, 1 32)" --out "$work/x.npy"
}


# ------------------------------------------------------------------------------------------------------------
# embed: sentence embeddings from the BERT e2e checkpoint (a sentence-transformers folder: mean pooling, normalize)

bert=$src/tests/data/encoders/bert_f32

# npy_row_norms FILE DIM: the L2 norm of each row of a float32 [N, DIM] .npy file, one a line.
npy_row_norms() {
  npy_floats "$1" | awk -v d="$2" '{ s += $1 * $1 } NR % d == 0 { printf "%.5f\n", sqrt(s); s = 0 }'
}
scenario_embed_texts_summary() {
  expect_ok embed --model "$bert" --text "The quick brown fox." --text "A fast brown fox." --text "Stock prices fell." || return
  [ "$(grep -c 'norm 1.0000' "$work/stdout")" = 3 ] || { fail "embed: three unit-norm rows expected"; show; }
  grep -q "cosine similarity" "$work/stdout" || { fail "embed: no cosine similarity table"; show; }
  grep -q "mean pooling (.*1_Pooling/config.json), L2-normalized, 32 dimensions" "$work/stderr" ||
    { fail "embed: the summary does not name the pooling config"; show; }
  echo "    ok: $(head -1 "$work/stdout")"
}
scenario_embed_file_to_npy() {  # one row per line, in batches; the rows equal the same texts given by --text
  printf 'hello world\nthe quick brown fox\n\nsearch and retrieval\nyes\n' >"$work/lines.txt"
  expect_ok embed --model "$bert" --file "$work/lines.txt" --batch-size 2 --out "$work/e.npy" || return
  grep -q "embedded 4 / 5 texts" "$work/stderr" || { fail "embed: no progress lines"; show; }
  [ "$(npy_floats "$work/e.npy" | wc -l)" = $((5 * 32)) ] || fail "embed --out: expected 5 x 32 floats"
  [ "$(npy_row_norms "$work/e.npy" 32 | sort -u)" = "1.00000" ] || fail "embed --out: rows are not unit norm"
  expect_ok embed --model "$bert" --text "the quick brown fox" --out "$work/one.npy" || return
  paste <(npy_floats "$work/e.npy" | sed -n '33,64p') <(npy_floats "$work/one.npy") |
    awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d } END { exit !(m < 1e-5) }' ||
    fail "embed: line 2 of the file and the same --text differ by more than 1e-5"
  echo "    ok: 5 unit-norm rows; batch and single agree"
}
scenario_embed_pooling_override() {
  expect_ok embed --model "$bert" --text "hello world" --pooling cls --out "$work/cls.npy" || return
  grep -q "cls pooling (--pooling), L2-normalized" "$work/stderr" || { fail "--pooling cls not reported"; show; }
  expect_error "option --pooling: 'sum' is not one of mean, cls, max" embed --model "$bert" --text x --pooling sum
}
scenario_embed_truncates_with_warning() {
  local long
  long=$(for _ in $(seq 40); do printf 'word '; done)
  expect_ok embed --model "$bert" --text "$long" || return
  grep -q "warning: text 1 has [0-9]* tokens, truncated to 24 (max_seq_length of sentence_bert_config.json)" "$work/stderr" ||
    { fail "no truncation warning"; show; }
  expect_ok embed --model "$bert" --text "$long" --max-length 40 || return
  grep -q "truncated to 40 (--max-length)" "$work/stderr" || { fail "--max-length not applied"; show; }
  expect_error "option --max-length: 41 is out of range [2, 40]" embed --model "$bert" --text x --max-length 41
}
scenario_embed_bad_input() {
  expect_error "give --text (one or more times) or --file" embed --model "$bert"
  expect_error "give --text (one or more times) or --file" embed --model "$bert" --text a --file /dev/null
  expect_error "--file: cannot open" embed --model "$bert" --file "$work/missing.txt"
  expect_error "is not an encoder" embed --model "$model" --text hi
  expect_error "is an encoder (no text generation)" generate --model "$bert" --prompt hi
  local d=$work/bert b
  b=$(cd "$bert" && pwd)
  mkdir -p "$d/1_Pooling"
  for f in config.json model.safetensors tokenizer.json modules.json sentence_bert_config.json; do ln -s "$b/$f" "$d/$f"; done
  printf '{"pooling_mode_weightedmean_tokens": true}' >"$d/1_Pooling/config.json"
  expect_error "pooling mode 'weightedmean' is not supported (supported: mean, cls, max)" embed --model "$d" --text hi
  printf '{"pooling_mode_mean_tokens": true, "pooling_mode_cls_token": true}' >"$d/1_Pooling/config.json"
  expect_error "several pooling modes are set" embed --model "$d" --text hi
}

# ------------------------------------------------------------------------------------------------------------
# translate and encoder-decoder logits: the Marian e2e checkpoint (ids from transformers' generate())

marian=$src/tests/data/seq2seq/marian_f32

scenario_translate_matches_transformers() {
  # greedy and 4-beam search give transformers' ids (reference.json), one output line (and one id line) per text
  expect_ok translate --model "$marian" --text "the cat reads a book" --text "how are you" --num-beams 1 \
    --max-tokens 12 --show-ids || return
  [ "$(sed -n 2p "$work/stdout")" = "116,43,43,43,43,43,43,43,43,43,43,43,0" ] || { fail "greedy ids differ"; show; }
  [ "$(wc -l <"$work/stdout")" = 4 ] || { fail "expected 2 lines per text"; show; }
  expect_ok translate --model "$marian" --text "the cat reads a book" --num-beams 4 --max-tokens 12 \
    --early-stopping true --length-penalty 1.0 --show-ids || return
  [ "$(sed -n 2p "$work/stdout")" = "116,43,43,0" ] || { fail "beam search ids differ"; show; }
  grep -q "4 beams" "$work/stderr" || { fail "no search summary"; show; }
  echo "    ok: $(head -1 "$work/stdout")"
}
scenario_translate_bad_input() {
  expect_error "option --num-beams: must be >= 1, got 0" translate --model "$marian" --text hi --num-beams 0
  expect_error "option --max-tokens: 0 is out of range" translate --model "$marian" --text hi --max-tokens 0
  expect_error "option --early-stopping: 'maybe' is not one of true, false, never" translate --model "$marian" --text hi --early-stopping maybe
  expect_error "translate: give --text" translate --model "$marian"
  expect_error "is not an encoder-decoder" translate --model "$model" --text hi
  expect_error "is an encoder-decoder: run tfx translate" generate --model "$marian" --prompt hi
  local d=$work/marian b
  b=$(cd "$marian" && pwd)
  mkdir -p "$d"
  for f in config.json model.safetensors vocab.json target.spm; do ln -s "$b/$f" "$d/$f"; done
  expect_error "missing SentencePiece model" translate --model "$d" --text hi
}
scenario_seq2seq_logits() {
  expect_ok logits --model "$marian" --tokens 26,51,8,35,2,9,59,0 --decoder-tokens 116,43,43 --out "$work/a.npy" || return
  expect_ok logits --model "$marian" --tokens 26,51,8,35,2,9,59,0 --decoder-tokens 116,43,43 --decode --out "$work/b.npy" || return
  [ "$(npy_floats "$work/a.npy" | wc -l)" = $((3 * 117)) ] || fail "expected [3, 117] logits"
  paste <(npy_floats "$work/a.npy") <(npy_floats "$work/b.npy") |
    awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d } END { exit !(m < 1e-4) }' || fail "one pass and token by token differ"
  expect_error "needs --decoder-tokens" logits --model "$marian" --tokens 1,2 --out "$work/c.npy"
  expect_error "--decoder-tokens: token id 117 at index 1 is >= the vocabulary size 117" logits --model "$marian" --tokens 1,2 --decoder-tokens 116,117 --out "$work/c.npy"
  expect_error "--decoder-tokens is for encoder-decoders" logits --model "$model" --tokens 1,2 --decoder-tokens 1 --out "$work/c.npy"
}
# ------------------------------------------------------------------------------------------------------------

all=$(declare -F | awk '{ print $3 }' | sed -n 's/^scenario_//p')
if [ "${1:-}" = "--list" ]; then
  echo "$all"
  exit 0
fi
[ ! -x "$tfx" ] && { echo "not an executable: $tfx" >&2; exit 2; }
[ ! -f "$model/model.safetensors" ] && { echo "no model at $model" >&2; exit 2; }
names=("$@")
[ ${#names[@]} -eq 0 ] && mapfile -t names <<<"$all"
failed=()
for name in "${names[@]}"; do
  if ! declare -F "scenario_$name" >/dev/null; then
    echo "unknown scenario '$name' (--list shows them)" >&2
    exit 2
  fi
  work=$scratch/$name
  mkdir -p "$work"
  before=$failures
  echo "== $name"
  "scenario_$name"
  if [ "$failures" -eq "$before" ]; then echo "PASS $name"; else echo "FAIL $name"; failed+=("$name"); fi
done
echo "${#names[@]} scenarios, ${#failed[@]} failed${failed:+: ${failed[*]}}"
[ ${#failed[@]} -eq 0 ]
