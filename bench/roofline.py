#!/usr/bin/env python3
"""Draws docs/roofline.png: this machine's ceilings (bench/peak_bench.cpp) and tfx's kernels placed on them
(bench/gemm_bench.cpp, bench/linear_bench.cpp, bench/sdpa_bench.cpp), from the figures in docs/performance.md.

    python3 bench/roofline.py [OUT.png]          # needs matplotlib (pip install matplotlib)

Arithmetic intensity is FLOPs per byte moved from memory: a matrix product of M rows reads its weights once
(2 M FLOPs per weight), a decode product (M = 1) does 2 FLOPs per weight read, so its intensity is 2 / bytes per
weight; attention decode reads each cached key and value once per kv head (4 * group FLOPs per element).
Edit CEILINGS and KERNELS with a new run's figures and run the script again.
"""
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# bench/peak_bench.cpp, 2 threads (GFLOP/s, or GOP/s for int8; GB/s). Bandwidth drifts on these machines: the
# range seen in one session. A 2-core Intel Xeon with AMX, 2026-12-05.
MACHINE = "Intel Xeon with AMX, 2 cores, 2026-12-05"
CEILINGS = {"f32 FMA": 435.0, "bf16 dot (vdpbf16ps)": 223.0, "int8 dot (vpdpbusd)": 1603.0, "AMX bf16 (tdpbf16ps)": 6100.0}
BANDWIDTH = (27.6, 30.8)

AI_GEMM_F32 = 2 * 512 * 1024 * 3072 / ((1024 * 3072 + 512 * 1024 + 512 * 3072) * 4)
AI_GEMM_BF16 = 2 * 512 * 1024 * 3072 / (1024 * 3072 * 2 + (512 * 1024 + 512 * 3072) * 4)
# name, FLOP (or int8 OP) per byte, achieved GFLOP/s (label offsets are set in LABEL_OFFSET)
KERNELS = [
    ("GEMM f32 512x1024x3072", AI_GEMM_F32, 299.0),
    ("GEMM bf16 (fast), AVX512-BF16", AI_GEMM_BF16, 214.0),
    ("GEMM bf16 (fast), AMX", AI_GEMM_BF16, 1600.0),
    ("oneDNN bf16 matmul (same shape)", AI_GEMM_BF16, 1420.0),
    ("GEMM q8_0 on AMX (bf16)", 2 * 512 * 1024 * 3072 / (1024 * 3072 * 1.125 + (512 * 1024 + 512 * 3072) * 4), 1390.0),
    ("attention prefill 2048, bf16 cache, AMX", 2048 / 4.0, 902.0),
    # Decode in the model (tfx bench tg128, the same-run table): weight bytes per token x tokens/s. The decode
    # products' own benchmark (BM_linear_decode_dram, 256 MB of weights) stays inside this CPU's 480 MB L3.
    ("decode step f32 (13.8 tok/s)", 2 / 4.0, 2 / 4.0 * 1.89 * 13.8),
    ("decode step bf16 (24.2 tok/s)", 2 / 2.0, 2 / 2.0 * 0.946 * 24.2),
    ("decode step q8_0 (44.5 tok/s)", 2 / 1.125, 2 / 1.125 * 0.532 * 44.5),
    ("decode step q4_0 (69.6 tok/s)", 2 / 0.5625, 2 / 0.5625 * 0.266 * 69.6),
]

LABEL_OFFSET = {"oneDNN bf16 matmul (same shape)": (-190, -14), "GEMM bf16 (fast), AMX": (-40, 26),
                "GEMM q8_0 on AMX (bf16)": (-130, -24), "attention prefill 2048, bf16 cache, AMX": (-120, -14),
                "GEMM bf16 (fast), AVX512-BF16": (5, -10)}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "docs/roofline.png"
    fig, ax = plt.subplots(figsize=(8, 5.5))
    xs = [2 ** (i / 4) for i in range(-8, 41)]
    for bw, style in zip(BANDWIDTH, (":", "-")):
        for name, peak in CEILINGS.items():
            ax.plot(xs, [min(peak, bw * x) for x in xs], style, color="grey" if "f32" in name else "tab:green" if "int8" in name else "tab:orange" if "AMX" in name else "black", lw=1)
    for name, peak in CEILINGS.items():
        ax.text(xs[-1], peak * 1.05, name + (" %.0f GOP/s" if "int8" in name else " %.0f GFLOP/s") % peak, ha="right", va="bottom", fontsize=8)
    ax.text(0.3, 0.3 * BANDWIDTH[1] * 1.15, "read %.0f-%.0f GB/s" % BANDWIDTH, rotation=33, fontsize=8)
    for name, ai, perf in KERNELS:
        ax.plot([ai], [perf], "o", color="tab:red" if "oneDNN" in name or "Eigen" in name else "tab:blue")
        ax.annotate(name, (ai, perf), textcoords="offset points", xytext=LABEL_OFFSET.get(name, (5, 4)), fontsize=7)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("arithmetic intensity (FLOP / byte of memory traffic)")
    ax.set_ylabel("GFLOP/s, int8: GOP/s (2 threads)")
    ax.set_title("tfx kernels on this machine's roofline (%s)" % MACHINE)
    ax.grid(True, which="both", alpha=0.2)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(out)


if __name__ == "__main__":
    main()
