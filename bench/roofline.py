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

# bench/peak_bench.cpp, 2 threads (GFLOP/s, or GOP/s for int8; GB/s). Bandwidth drifts on this machine: the range
# seen in one session. AMD EPYC Zen 4, 2026-12-05.
CEILINGS = {"f32 FMA": 233.0, "bf16 dot (vdpbf16ps)": 465.0, "int8 dot (vpdpbusd)": 929.0}
BANDWIDTH = (30.0, 60.0)

AI_GEMM_F32 = 2 * 512 * 1024 * 3072 / ((1024 * 3072 + 512 * 1024 + 512 * 3072) * 4)
# name, FLOP (or int8 OP) per byte, achieved GFLOP/s (label offsets are set in LABEL_OFFSET)
KERNELS = [
    ("GEMM f32 512x1024x3072", AI_GEMM_F32, 163.0),
    ("Eigen f32 GEMM (same shape)", AI_GEMM_F32, 167.0),
    ("GEMM bf16 (fast)", 2 * 512 * 1024 * 3072 / (1024 * 3072 * 2 + (512 * 1024 + 512 * 3072) * 4), 315.0),
    ("GEMM q8_0 (int8)", 2 * 512 * 1024 * 3072 / (1024 * 3072 * 1.125 + (512 * 1024 + 512 * 3072) * 4), 519.0),
    ("GEMM q4_0 (int8)", 2 * 512 * 1024 * 3072 / (1024 * 3072 * 0.5625 + (512 * 1024 + 512 * 3072) * 4), 500.0),
    ("attention prefill 2048, f32", 2048 / 8.0, 142.0),
    ("decode Linear f32", 2 / 4.0, 2 / 4.0 * 28.0),
    ("decode Linear bf16", 2 / 2.0, 2 / 2.0 * 31.0),
    ("decode Linear q8_0", 2 / 1.125, 2 / 1.125 * 34.0),
    ("decode Linear q4_0", 2 / 0.5625, 2 / 0.5625 * 35.0),
    ("decode attention, 4096 keys f32", 1.0, 32.0),
]


LABEL_OFFSET = {"Eigen f32 GEMM (same shape)": (-150, 4), "GEMM f32 512x1024x3072": (-140, -10),
                "GEMM q4_0 (int8)": (5, -10), "GEMM q8_0 (int8)": (-100, 4), "attention prefill 2048, f32": (-60, -14),
                "decode attention, 4096 keys f32": (5, -10)}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "docs/roofline.png"
    fig, ax = plt.subplots(figsize=(8, 5.5))
    xs = [2 ** (i / 4) for i in range(-8, 41)]
    for bw, style in zip(BANDWIDTH, (":", "-")):
        for name, peak in CEILINGS.items():
            ax.plot(xs, [min(peak, bw * x) for x in xs], style, color="grey" if "f32" in name else "tab:green" if "int8" in name else "black", lw=1)
    for name, peak in CEILINGS.items():
        ax.text(xs[-1], peak * 1.05, name + (" %.0f GOP/s" if "int8" in name else " %.0f GFLOP/s") % peak, ha="right", va="bottom", fontsize=8)
    ax.text(0.3, 0.3 * BANDWIDTH[1] * 1.15, "read %.0f-%.0f GB/s" % BANDWIDTH, rotation=33, fontsize=8)
    for name, ai, perf in KERNELS:
        ax.plot([ai], [perf], "o", color="tab:red" if "Eigen" in name else "tab:blue")
        ax.annotate(name, (ai, perf), textcoords="offset points", xytext=LABEL_OFFSET.get(name, (5, 4)), fontsize=7)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("arithmetic intensity (FLOP / byte of memory traffic)")
    ax.set_ylabel("GFLOP/s, int8: GOP/s (2 threads)")
    ax.set_title("tfx kernels on this machine's roofline (AMD EPYC Zen 4, 2 cores, 2026-12-05)")
    ax.grid(True, which="both", alpha=0.2)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(out)


if __name__ == "__main__":
    main()
