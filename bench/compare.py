#!/usr/bin/env python3
"""tfx against llama.cpp (and optionally PyTorch) on the same machine, in the same run, alternating the programs.

Memory bandwidth on shared machines drifts by tens of percent within minutes, so a single pass of each program can
skew a ratio: each round runs every program once per test, the order alternating between rounds, and the table
gives the median tokens/s of each program, the ratio of the medians, and the range of the per-round ratios.

    python3 bench/compare.py [--rounds 3] [--kinds f32,f16,bf16,q8_0,q4_0] [--prompt 512] [--gen 128] [--depth 0]
                             [--threads 2] [--kv-dtype bf16] [--torch] [--json OUT.json]

Needs: build/release/tools/tfx (cmake --preset release && cmake --build --preset release --target tfx), the
llama.cpp peer and its GGUF files (../shared/tools/llama-cpp-peer.sh build && ... models), and the Hugging Face
folders of the same shapes (python3 tools/peer/make_random_hf.py /tmp/qwen3-0.6b-shape-{bf16,f16,f32} {bf16,f16,f32}),
made on the first run if missing. q8_0 and q4_0 run tfx on the bf16 folder with --quantize q8_0 / q4_0; llama.cpp's
Q4_0 GGUF is its bf16 GGUF through `llama-quantize --pure` (every matrix Q4_0, as tfx does; built and made on the
first run if missing). --torch adds Hugging
Face transformers on PyTorch (pip: torch transformers) for prefill (llama.cpp's and tfx's prompt, sdpa attention,
torch.inference_mode, the same thread count), F32 and BF16 only. --llama-build picks another llama.cpp build folder.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TFX = os.path.join(ROOT, "build/release/tools/tfx")
LLAMA_BUILD = ["build"]  # --llama-build


def peer_dir():
    return subprocess.run([os.path.join(ROOT, "../shared/tools/llama-cpp-peer.sh"), "path"], check=True,
                          capture_output=True, text=True).stdout.strip()


def hf_dir(kind):
    base = "bf16" if kind in ("bf16", "q8_0", "q4_0") else kind
    d = "/tmp/qwen3-0.6b-shape-" + base
    if not os.path.exists(os.path.join(d, "model.safetensors")):
        subprocess.run([sys.executable, os.path.join(ROOT, "tools/peer/make_random_hf.py"), d, base], check=True)
    return d


def run_tfx(kind, a):
    cmd = [TFX, "bench", "--model", hf_dir(kind), "--threads", str(a.threads), "--repetitions", str(a.reps),
           "--prompt-tokens", str(a.prompt), "--gen-tokens", str(a.gen), "--depth", str(a.depth), "--json"]
    if kind in ("q8_0", "q4_0"):
        cmd += ["--quantize", kind]
    cmd += ["--kv-dtype", a.kv_dtype]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return {("pp" if t["n_prompt"] else "tg"): t["avg_ts"] for t in json.loads(out)}


def llama_model(kind):
    d = peer_dir()
    path = os.path.join(d, "models/qwen3-0.6b-shape-%s.gguf" % kind)
    if kind == "q4_0" and not os.path.exists(path):
        subprocess.run(["cmake", "--build", os.path.join(d, "llama.cpp", LLAMA_BUILD[0]), "--target", "llama-quantize"],
                       check=True, capture_output=True)
        subprocess.run([os.path.join(d, "llama.cpp", LLAMA_BUILD[0], "bin/llama-quantize"), "--pure", llama_model("bf16"), path,
                        "Q4_0"], check=True, capture_output=True)
    return path


def run_llama(kind, a):
    d = peer_dir()
    best = {}
    for fa in ("0", "1"):  # llama.cpp's best of flash attention off and on
        cmd = [os.path.join(d, "llama.cpp", LLAMA_BUILD[0], "bin/llama-bench"), "-m", llama_model(kind),
               "-t", str(a.threads), "-p", str(a.prompt), "-n", str(a.gen), "-r", str(a.reps), "-fa", fa, "-o", "json"]
        if a.depth:
            cmd += ["-d", str(a.depth)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        for t in json.loads(out):
            key = "pp" if t["n_prompt"] else "tg"
            best[key] = max(best.get(key, 0.0), t["avg_ts"])
    return best


TORCH_SCRIPT = r"""
import sys, time, torch, transformers
path, dtype, n, threads, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
dt = {"bf16": torch.bfloat16, "f32": torch.float32}[dtype]
m = transformers.AutoModelForCausalLM.from_pretrained(path, dtype=dt, attn_implementation="sdpa").eval()
ids = torch.arange(n).remainder(m.config.vocab_size).unsqueeze(0)
best = 0.0
with torch.inference_mode():
    m(ids[:, :16])
    for _ in range(reps):
        t0 = time.perf_counter(); m(ids); best = max(best, n / (time.perf_counter() - t0))
print(best)
"""


def run_torch(kind, a):
    if kind not in ("f32", "bf16"):
        return {}
    out = subprocess.run([sys.executable, "-c", TORCH_SCRIPT, hf_dir(kind), kind, str(a.prompt), str(a.threads),
                          str(a.reps)], check=True, capture_output=True, text=True).stdout
    return {"pp": float(out.strip().splitlines()[-1])}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--reps", type=int, default=2, help="repetitions inside each program run")
    p.add_argument("--kinds", default="f32,bf16,q8_0")
    p.add_argument("--prompt", type=int, default=512)
    p.add_argument("--gen", type=int, default=128)
    p.add_argument("--depth", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--kv-dtype", default="bf16", help="tfx's KV cache (llama.cpp's default is f16)")
    p.add_argument("--torch", action="store_true")
    p.add_argument("--llama-build", default="build",
                   help="llama.cpp build folder under the peer's checkout (e.g. build-noamx: see docs/performance.md)")
    p.add_argument("--json")
    a = p.parse_args()
    LLAMA_BUILD[0] = a.llama_build
    kinds = a.kinds.split(",")
    progs = [("tfx", run_tfx), ("llama.cpp", run_llama)] + ([("pytorch", run_torch)] if a.torch else [])
    samples = {}  # (kind, prog, test) -> [tokens/s per round]
    for r in range(a.rounds):
        order = progs if r % 2 == 0 else list(reversed(progs))
        for kind in kinds:
            for name, fn in order:
                t0 = time.time()
                for test, v in fn(kind, a).items():
                    samples.setdefault((kind, name, test), []).append(v)
                print("round %d/%d %-5s %-9s %.0f s" % (r + 1, a.rounds, kind, name, time.time() - t0), file=sys.stderr)
    depth = " @ d%d" % a.depth if a.depth else ""
    rows = []
    print("| weights | test | tfx | llama.cpp | tfx / llama.cpp (range) |" + (" PyTorch | tfx / PyTorch |" if a.torch else ""))
    print("|---|---|---|---|---|" + ("---|---|" if a.torch else ""))
    for kind in kinds:
        for test, label in (("pp", "pp%d%s" % (a.prompt, depth)), ("tg", "tg%d%s" % (a.gen, depth))):
            t = samples.get((kind, "tfx", test))
            l = samples.get((kind, "llama.cpp", test))
            if not t or not l:
                continue
            ratios = [x / y for x, y in zip(t, l)]
            row = {"weights": kind, "test": label, "tfx": statistics.median(t), "llama.cpp": statistics.median(l),
                   "ratio": statistics.median(t) / statistics.median(l), "ratio_min": min(ratios), "ratio_max": max(ratios),
                   "tfx_samples": t, "llama_samples": l}
            line = "| %s | %s | %.1f | %.1f | %.2f (%.2f–%.2f) |" % (kind.upper(), label, row["tfx"], row["llama.cpp"],
                                                                   row["ratio"], min(ratios), max(ratios))
            pt = samples.get((kind, "pytorch", test))
            if a.torch:
                if pt:
                    row["pytorch"] = statistics.median(pt)
                    line += " %.1f | %.2f |" % (row["pytorch"], row["tfx"] / row["pytorch"])
                else:
                    line += " — | — |"
            rows.append(row)
            print(line)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
