#!/usr/bin/python3
"""Generate the golden reference files under tests/golden/ for the tfx tests.

Regenerate with (from the repository root):

    /usr/bin/python3 tools/make_golden.py

Requirements: Debian's python3-torch (tested with torch 1.13) and numpy.
Output is deterministic: every case re-seeds torch with a fixed seed derived
from the file and case name, so regenerating on the same torch version gives
byte-identical files.

Conventions shared by every file:

* Format: {"layer": ..., "generator": "tools/make_golden.py", "torch": ...,
  "cases": [{"name": ..., "params": {...},
             "tensors": {name: {"shape": [...], "data": [flat row-major]}}}]}
* Inputs are drawn in float32 and written as the exact float32 values.
  Outputs are computed in float64 from float64 copies of those inputs.
* Weights of a case whose "dtype" param is "bf16"/"f16" are first rounded to
  that dtype (all parameters of the layer, biases included); the rounded
  values are stored and used.
* Non-finite numbers are written as the strings "inf", "-inf", "nan".
  Integer tensors (ids, positions, bit patterns) are written as JSON ints.
"""

import json
import math
import os
import struct
import sys
import zlib

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.environ.get("TFX_GOLDEN_OUT", os.path.join(ROOT, "tests", "golden"))
F64 = torch.float64
F32 = torch.float32


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------

def seed(layer, name):
    torch.manual_seed(zlib.crc32(("%s/%s" % (layer, name)).encode()) & 0x7FFFFFFF)


def num(v):
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def T(t):
    """Serialize a tensor (float -> doubles / strings, int/bool -> ints)."""
    t = torch.as_tensor(t)
    shape = list(t.shape)
    if t.dtype in (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8, torch.bool):
        data = [int(v) for v in t.reshape(-1).tolist()]
    else:
        data = [num(v) for v in t.detach().to(F64).reshape(-1).tolist()]
    return {"shape": shape, "data": data}


def T9(t):
    """T() with 9 significant digits: for the large generated cases, whose tolerance (>= 2e-5) is far above the
    rounding, to keep the golden files small."""
    out = T(t)
    out["data"] = [float("%.9g" % v) if isinstance(v, float) else v for v in out["data"]]
    return out


def randn(*shape, scale=1.0, offset=0.0):
    """float32 random input (scaling/offset applied in float32)."""
    x = torch.randn(*shape, dtype=F32)
    if scale != 1.0:
        x = x * scale
    if offset != 0.0:
        x = x + offset
    return x


def randn_rows(row_scales, dim, offset=0.0):
    """float32 random [len(row_scales), dim] input, row r scaled by row_scales[r] (in float32).

    A row whose scale is 0 is all zeros (+0.0).  Used by the small-magnitude cases, where
    mean(x^2) or Var[x] is comparable to eps, so where eps is added changes the output."""
    x = torch.randn(len(row_scales), dim, dtype=F32)
    s = torch.tensor(row_scales, dtype=F32)
    x = x * s[:, None]
    if offset != 0.0:
        x = x + offset
    x[s == 0] = 0.0
    return x


def hashed_values(seed_value, shape, scale):
    """Deterministic inputs the C++ loader regenerates bit for bit (tests/support/golden.hpp: hashed_values):
    value i = (fmix32(seed * 0x9E3779B9 + i) >> 8) / 2^23 - 1, times a power-of-two scale. Used where storing the
    input would make the golden file large; returns (tensor, json entry without data)."""
    n = 1
    for s_ in shape:
        n *= s_
    out = []
    M = 0xFFFFFFFF
    for i in range(n):
        h = (seed_value * 0x9E3779B9 + i) & M
        h ^= h >> 16
        h = (h * 0x85EBCA6B) & M
        h ^= h >> 13
        h = (h * 0xC2B2AE35) & M
        h ^= h >> 16
        out.append(((h >> 8) / 8388608.0 - 1.0) * scale)
    t = torch.tensor(out, dtype=F64).reshape(*shape)
    assert torch.equal(t.to(F32).to(F64), t), "hashed values must be exact in f32"
    return t.to(F32), {"shape": list(shape), "hashed": {"seed": seed_value, "scale": scale}}


def round_dtype(w, dtype):
    if dtype == "f32":
        return w.to(F32)
    if dtype == "bf16":
        return w.to(torch.bfloat16).to(F32)
    if dtype == "f16":
        return w.to(torch.float16).to(F32)
    raise ValueError(dtype)


def d(t):
    return t.to(F64)


def write(layer, cases):
    os.makedirs(OUT_DIR, exist_ok=True)
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "duplicate case names in " + layer
    doc = {"layer": layer, "generator": "tools/make_golden.py",
           "torch": torch.__version__, "cases": cases}
    path = os.path.join(OUT_DIR, layer + ".json")
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print("%-40s %8d bytes  %d cases" % (os.path.relpath(path, ROOT), os.path.getsize(path), len(cases)))


# ----------------------------------------------------------------------------
# float64 reference building blocks
# ----------------------------------------------------------------------------

def linear_ref(x, w, b=None):
    y = d(x) @ d(w).T
    if b is not None:
        y = y + d(b)
    return y


def layer_norm_ref(x, w, b, eps):
    x = d(x)
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)  # biased
    y = (x - mean) / torch.sqrt(var + eps) * d(w)
    if b is not None:
        y = y + d(b)
    return y


def rms_norm_ref(x, w, eps, variant="llama"):
    x = d(x)
    n = x / torch.sqrt((x * x).mean(dim=-1, keepdim=True) + eps)
    if variant == "llama":
        return d(w) * n
    if variant == "gemma":
        return n * (1.0 + d(w))
    raise ValueError(variant)


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def gelu_erf(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def silu(x):
    return x * torch.sigmoid(x)


ACTS = {"swiglu": silu, "geglu": gelu_tanh, "gelu": gelu_erf,
        "gelu_tanh": gelu_tanh, "relu": torch.relu}


def mlp_ref(kind, x, W):
    """W: dict of tensors with mlp.json names (no prefix)."""
    act = ACTS[kind]
    if kind in ("swiglu", "geglu"):
        g = linear_ref(x, W["gate_weight"], W.get("gate_bias"))
        u = linear_ref(x, W["up_weight"], W.get("up_bias"))
        return linear_ref(act(g) * u, W["down_weight"], W.get("down_bias"))
    h = act(linear_ref(x, W["fc1_weight"], W.get("fc1_bias")))
    return linear_ref(h, W["fc2_weight"], W.get("fc2_bias"))


def make_mlp_weights(kind, hidden, inter, bias, dtype="f32"):
    W = {}
    if kind in ("swiglu", "geglu"):
        names = [("gate", inter, hidden), ("up", inter, hidden), ("down", hidden, inter)]
    else:
        names = [("fc1", inter, hidden), ("fc2", hidden, inter)]
    for n, o, i in names:
        W[n + "_weight"] = round_dtype(randn(o, i, scale=1.0 / math.sqrt(i)), dtype)
        if bias:
            W[n + "_bias"] = round_dtype(randn(o, scale=0.1), dtype)
    return W


def safe_softmax(s):
    """softmax along the last dim; rows that are entirely -inf give zeros."""
    m = s.max(dim=-1, keepdim=True).values
    finite_row = torch.isfinite(m)
    m = torch.where(finite_row, m, torch.zeros_like(m))
    e = torch.exp(s - m)  # exp(-inf) = 0
    z = e.sum(dim=-1, keepdim=True)
    z = torch.where(z > 0, z, torch.ones_like(z))
    return torch.where(finite_row, e / z, torch.zeros_like(e))


def sdpa_ref(q, k, v, n_heads, n_kv_heads, head_dim, scale, causal, q_offset,
             sliding_window=0, mask=None, key_padding=None, alibi_slopes=None):
    q, k, v = d(q), d(k), d(v)
    q_len, kv_len = q.shape[0], k.shape[1]
    qh = q.view(q_len, n_heads, head_dim)
    group = n_heads // n_kv_heads
    pos_i = torch.arange(q_len, dtype=F64)[:, None] + q_offset
    j = torch.arange(kv_len, dtype=F64)[None, :]
    allowed = torch.ones(q_len, kv_len, dtype=torch.bool)
    if causal:
        allowed &= j <= pos_i
    if sliding_window:
        allowed &= j > pos_i - sliding_window
    if key_padding is not None:
        allowed &= (key_padding == 0)[None, :]
    out = torch.zeros(q_len, n_heads, head_dim, dtype=F64)
    weights = torch.zeros(n_heads, q_len, kv_len, dtype=F64)
    entropy = torch.zeros(n_heads, q_len, dtype=F64)
    for h in range(n_heads):
        kv = h // group
        s = scale * (qh[:, h, :] @ k[kv].T)
        if mask is not None:
            s = s + d(mask)
        if alibi_slopes is not None:
            s = s + d(alibi_slopes)[h] * (j - pos_i)
        s = torch.where(allowed, s, torch.full_like(s, -math.inf))
        w = safe_softmax(s)
        weights[h] = w
        out[:, h, :] = w @ v[kv]
        plogp = torch.where(w > 0, w * torch.log(torch.where(w > 0, w, torch.ones_like(w))),
                            torch.zeros_like(w))
        entropy[h] = -plogp.sum(dim=-1)
    return out.reshape(q_len, n_heads * head_dim), weights, entropy


def sdpa_bf16_ref(q, k, v, n_heads, n_kv_heads, head_dim, scale, causal, q_offset, window, mask, kp, slopes):
    """Attention with bf16 operands and f32 softmax (a bf16 KV cache under Precision::fast, as PyTorch's bf16
    attention): scale * q, k and v rounded to bf16; the probabilities before normalisation, exp(s - max) in (0, 1],
    rounded to bf16 for the product with v; the sum that normalises them is not rounded."""
    qs = round_dtype(q.to(F32) * torch.tensor(scale, dtype=F32), "bf16")
    _, w, _ = sdpa_ref(qs, round_dtype(k, "bf16"), v, n_heads, n_kv_heads, head_dim, 1.0, causal, q_offset, window,
                       mask, kp, slopes)
    wmax = w.amax(dim=2, keepdim=True)
    p = round_dtype((w / torch.where(wmax > 0, wmax, torch.ones_like(wmax))).to(F32), "bf16").to(F64) * wmax
    vb = d(round_dtype(v, "bf16"))
    q_len, group = q.shape[0], n_heads // n_kv_heads
    out = torch.zeros(q_len, n_heads, head_dim, dtype=F64)
    for h in range(n_heads):
        out[:, h, :] = p[h] @ vb[h // group]
    return out.reshape(q_len, n_heads * head_dim)


def rope_default_inv_freq(base, dim):
    return 1.0 / (base ** (torch.arange(0, dim, 2, dtype=F64) / dim))


def rope_apply(x, positions, inv_freq, n_heads, head_dim, rot_dim, layout, attention_scaling=1.0):
    x = d(x)
    Tn = x.shape[0]
    xh = x.view(Tn, n_heads, head_dim)
    ang = positions.to(F64)[:, None] * inv_freq[None, :]  # [T, rot_dim/2]
    cos = (torch.cos(ang) * attention_scaling)[:, None, :]
    sin = (torch.sin(ang) * attention_scaling)[:, None, :]
    y = xh.clone()
    half = rot_dim // 2
    if layout == "half_split":
        x1, x2 = xh[..., :half], xh[..., half:rot_dim]
        y[..., :half] = x1 * cos - x2 * sin
        y[..., half:rot_dim] = x2 * cos + x1 * sin
    elif layout == "interleaved":
        xe, xo = xh[..., 0:rot_dim:2], xh[..., 1:rot_dim:2]
        y[..., 0:rot_dim:2] = xe * cos - xo * sin
        y[..., 1:rot_dim:2] = xo * cos + xe * sin
    else:
        raise ValueError(layout)
    return y.reshape(Tn, n_heads * head_dim)


def alibi_slopes(n):
    cp = 2 ** math.floor(math.log2(n))
    base = 2.0 ** (-(2.0 ** -(math.log2(cp) - 3)))
    slopes = [base ** p for p in range(1, cp + 1)]
    if cp != n:
        extra_base = 2.0 ** (-(2.0 ** -(math.log2(2 * cp) - 3)))
        rem = min(cp, n - cp)
        slopes += [extra_base ** p for p in range(1, 1 + 2 * rem, 2)]
    return torch.tensor(slopes, dtype=F64)


# ----------------------------------------------------------------------------
# 1. dtype
# ----------------------------------------------------------------------------

def f32_bits_of(v):
    return struct.unpack("<I", struct.pack("<f", v))[0]


def bf16_rne_manual(bits):
    """Independent bit-level bf16 round-to-nearest-even (cross-check only)."""
    if (bits & 0x7F800000) == 0x7F800000 and (bits & 0x007FFFFF):
        return None  # NaN: payload not cross-checked
    lsb = (bits >> 16) & 1
    return ((bits + 0x7FFF + lsb) >> 16) & 0xFFFF


def gen_dtype():
    layer = "dtype"
    seed(layer, "conversions")
    bits = []
    for v in [0.0, 1.0, -1.0, 1.0 / 3.0, -1.0 / 3.0, math.pi, 65504.0, 65519.0, 65520.0,
              -65520.0, 1e5, 1e-8, 6e-8, 3e-5, -3e-5, 6.1e-5, 3e38, -3e38, 2.0, 0.1, 1e-30]:
        bits.append(f32_bits_of(v))
    bits += [
        0x80000000,  # -0
        0x00000001, 0x80000001, 0x00000002, 0x00400000, 0x007FFFFF, 0x00800000,  # f32 subnormals / min normal
        0x7F7FFFFF, 0xFF7FFFFF, 0x7F7F0000, 0x7F7F7FFF, 0x7F7F8000,  # near f32 max (bf16 overflow)
        0x7F800000, 0xFF800000, 0x7FC00000,  # inf, -inf, NaN
        # bf16 ties and near-ties
        0x3F808000, 0x3F818000, 0xBF808000, 0xBF818000, 0x3F807FFF, 0x3F808001,
        0x3F81FFFF, 0x3FFF8000, 0x00008000, 0x00018000, 0x40490FDB,
    ]
    # f16 ties: halfway cases (round to even)
    for v in [1.0 + 2.0 ** -11, 1.0 + 3 * 2.0 ** -11, -(1.0 + 2.0 ** -11), 2049.0, 2051.0,
              1.0 + 2.0 ** -11 + 2.0 ** -23, 1.0 + 2.0 ** -11 - 2.0 ** -23,
              2.0 ** -25, 3 * 2.0 ** -25, 5 * 2.0 ** -25, 2.0 ** -24, 2.0 ** -14,
              2.0 ** -14 - 2.0 ** -25, 2.0 ** -14 - 2.0 ** -24, 2.0 ** -25 + 2.0 ** -40,
              65504.0 + 8.0, 65504.0 + 15.99, 2.0 ** -26]:
        bits.append(f32_bits_of(v))
    # 200 random floats of widely varying magnitude
    mant = torch.randn(200, dtype=F64)
    expo = torch.rand(200, dtype=F64) * 20.0 - 10.0
    rnd = (mant * 10.0 ** expo).to(F32)
    bits += [int(b) & 0xFFFFFFFF for b in rnd.view(torch.int32).tolist()]

    arr = np.array(bits, dtype=np.uint32)
    f = torch.from_numpy(arr.view(np.float32).copy())
    # Scalar (element-wise) conversion is the reference.  For NaN, torch
    # 1.13's vectorized CPU bf16 path yields 0xFFFF while the scalar path
    # yields the canonical quiet NaN 0x7FC0; consumers should only check that
    # a NaN input produces a NaN bit pattern.
    bf = torch.tensor([f[i].to(torch.bfloat16).view(torch.int16).item() & 0xFFFF
                       for i in range(len(bits))], dtype=torch.int64)
    hf = torch.tensor([f[i].to(torch.float16).view(torch.int16).item() & 0xFFFF
                       for i in range(len(bits))], dtype=torch.int64)
    # vectorized conversion must agree with the element-wise one (except NaN)
    bf_vec = f.to(torch.bfloat16).view(torch.int16).to(torch.int64) & 0xFFFF
    hf_vec = f.to(torch.float16).view(torch.int16).to(torch.int64) & 0xFFFF
    not_nan = ~torch.isnan(f)
    assert torch.equal(bf[not_nan], bf_vec[not_nan])
    assert torch.equal(hf[not_nan], hf_vec[not_nan])
    assert bool(((bf[~not_nan] & 0x7F80) == 0x7F80).all() and ((bf[~not_nan] & 0x7F) != 0).all())
    assert bool(((hf[~not_nan] & 0x7C00) == 0x7C00).all() and ((hf[~not_nan] & 0x3FF) != 0).all())
    # cross-checks: numpy float16 and a manual bf16 RNE
    with np.errstate(over="ignore"):
        np_hf = arr.view(np.float32).astype(np.float16).view(np.uint16).astype(np.int64)
    for i, b in enumerate(bits):
        is_nan = (b & 0x7F800000) == 0x7F800000 and (b & 0x7FFFFF)
        if not is_nan:
            assert np_hf[i] == hf[i].item(), (hex(b), hex(np_hf[i]), hex(hf[i].item()))
            assert bf16_rne_manual(b) == bf[i].item(), (hex(b), hex(bf[i].item()))
    case = {"name": "conversions", "params": {"count": len(bits)},
            "tensors": {"f32_bits": T(torch.tensor(bits, dtype=torch.int64)),
                        "bf16_bits": T(bf), "f16_bits": T(hf)}}
    write(layer, [case])


# ----------------------------------------------------------------------------
# 2. embedding
# ----------------------------------------------------------------------------

def gen_embedding():
    layer = "embedding"
    cases = []
    for dtype in ["f32", "bf16", "f16"]:
        name = dtype
        seed(layer, name)
        vocab, dim = 11, 7
        w = round_dtype(randn(vocab, dim), dtype)
        ids = torch.tensor([0, 3, vocab - 1, 3, 7, 0, 1, vocab - 1, 5], dtype=torch.int64)
        out = d(w)[ids]
        cases.append({"name": name, "params": {"vocab": vocab, "dim": dim, "dtype": dtype},
                      "tensors": {"weight": T(w), "ids": T(ids), "out": T(out)}})
    write(layer, cases)


# ----------------------------------------------------------------------------
# 3. linear
# ----------------------------------------------------------------------------

def gen_linear():
    layer = "linear"
    specs = [
        ("f32_bias", 4, 8, 6, True, "f32"),
        ("f32_nobias", 4, 8, 6, False, "f32"),
        ("rows1", 1, 8, 6, True, "f32"),
        ("odd_sizes", 3, 17, 5, True, "f32"),
        ("bf16_bias", 4, 8, 6, True, "bf16"),
        ("f16_nobias", 4, 8, 6, False, "f16"),
        ("large", 5, 129, 33, True, "f32"),
    ]
    cases = []
    for name, rows, fin, fout, bias, dtype in specs:
        seed(layer, name)
        x = randn(rows, fin)
        w = round_dtype(randn(fout, fin, scale=1.0 / math.sqrt(fin)), dtype)
        b = round_dtype(randn(fout, scale=0.5), dtype) if bias else None
        y = linear_ref(x, w, b)
        t = {"x": T(x), "weight": T(w)}
        if bias:
            t["bias"] = T(b)
        t["y"] = T(y)
        if dtype == "bf16":  # Precision::fast: x rounded to bf16 (decode with vdpbf16ps, like prefill)
            t["y_bf16_activations"] = T(linear_ref(round_dtype(x, "bf16"), w, b))
        cases.append({"name": name, "params": {"in": fin, "out": fout, "bias": bias, "dtype": dtype,
                                               "rows": rows},
                      "tensors": t})
    # Shapes for the packed prefill GEMM (more than 4 rows): row tiles of 14 with a tail, 256-column thread
    # blocks and 32-column panels with tails, reduction blocks of 256 (f32) / 512 (bf16) with a tail, odd K.
    # Inputs are hashed (regenerated by the loader); y_bf16_activations is the product with x rounded to bf16
    # (what Precision::fast computes for bf16 weights: bf16 x bf16 products, f32 accumulation).
    packed = [
        ("packed_f32", 31, 530, 300, True, "f32", 11),
        ("packed_bf16_odd_k", 19, 1031, 290, True, "bf16", 12),
        ("packed_f16", 6, 70, 40, False, "f16", 13),
        ("packed_bf16_small", 5, 9, 3, False, "bf16", 14),
        # bf16 [out, in] panels packed by 16 x 16 word transposes: even K with a 36-value last block (18 pairs:
        # one transpose and a 2-pair tail), three whole panels and a partial one
        ("packed_bf16_even_k", 17, 1060, 100, True, "bf16", 17),
        # AMX blocks of 32 rows: two whole blocks (stored in place, reloaded for the second and third k blocks) and a
        # partial one; three k blocks of 512, 512 and 76 (38 pairs in tiles of 16: a zero-padded last tile); three
        # whole panels of 32 columns
        ("packed_bf16_row_blocks", 70, 1100, 96, True, "bf16", 18),
        # AMX windows of k blocks: up to 4 blocks of 32 rows (here one whole, one partial) a window is one k block
        # of 512, so Y takes seven of them, the last of 229 values (odd: a zero-padded last pair and tile); two whole
        # panels and one of 6 columns
        ("packed_bf16_two_windows", 40, 3301, 70, True, "bf16", 19),
        # from 5 blocks of rows a window is 2048 values: four k blocks summed in the staging tiles, then a second
        # window of 512 + 40 added into Y; four whole blocks of rows and one of 12; one whole panel and one of 8
        ("packed_bf16_long_prompt", 140, 2600, 40, True, "bf16", 20),
        # decode (up to 4 rows) with bf16 weights: 16-pair vector steps, a masked tail and an odd last element
        ("decode_bf16_odd_k", 3, 1031, 70, True, "bf16", 15),
        ("decode_bf16_one_row", 1, 64, 33, False, "bf16", 16),
        # decode with f16 weights (widened as loaded): 32-value steps, a whole 16-value group and a masked tail of 7
        # (1047 = 32 x 32 + 16 + 7); one row with K = 40 (one step, a masked tail of 8)
        ("decode_f16_odd_k", 3, 1047, 70, True, "f16", 21),
        ("decode_f16_one_row", 1, 40, 33, False, "f16", 22),
    ]
    for name, rows, fin, fout, bias, dtype, s0 in packed:
        x, xj = hashed_values(s0 * 10 + 1, (rows, fin), 2.0)
        w, wj = hashed_values(s0 * 10 + 2, (fout, fin), 1.0 / 16)
        w = round_dtype(w, dtype)  # the loader rounds the regenerated f32 values to the storage type the same way
        t = {"x": xj, "weight": wj}
        b = None
        if bias:
            b, bj = hashed_values(s0 * 10 + 3, (fout,), 0.5)
            t["bias"] = bj
        t["y"] = T9(linear_ref(x, w, b))
        if dtype == "bf16":
            t["y_bf16_activations"] = T9(linear_ref(round_dtype(x, "bf16"), w, b))
        cases.append({"name": name, "params": {"in": fin, "out": fout, "bias": bias, "dtype": dtype,
                                               "rows": rows},
                      "tensors": t})
    write(layer, cases)


def quantize_q8_0(w):
    """llama.cpp's Q8_0 with an f32 scale, as tfx stores it: rows zero-padded to a multiple of 64, blocks of 32,
    d = amax / 127 and q = round-half-away(x * (1 / d)), all in f32 (x * id rounded to f32, then rounded to an
    integer exactly in f64). Returns (q [out, padded] int, d [out, padded / 32] f32, dequantized [out, in] f32)."""
    out, fin = w.shape
    padded = (fin + 63) // 64 * 64
    wp = torch.zeros(out, padded, dtype=F32)
    wp[:, :fin] = w.to(F32)
    blocks = wp.view(out, padded // 32, 32)
    amax = blocks.abs().amax(dim=2)
    d = amax / torch.tensor(127.0, dtype=F32)
    idv = torch.where(d != 0, torch.tensor(1.0, dtype=F32) / torch.where(d != 0, d, torch.ones_like(d)),
                      torch.zeros_like(d))
    v = (blocks * idv[:, :, None]).to(F64)
    q = (torch.sign(v) * torch.floor(v.abs() + 0.5)).to(torch.int64)
    deq = (q.to(F64) * d[:, :, None].to(F64)).view(out, padded)[:, :fin]
    return q.view(out, padded), d, deq


def quantize_q4_0(w):
    """llama.cpp's Q4_0 rounding with tfx's padding: rows zero-padded to a multiple of 128, blocks of 32; the value of
    largest magnitude m (the first, on ties) gives d = m / -8 and id = 1 / d in f32, xi = min(15, trunc(x * id +
    8.5)) in f32, the stored scale is d rounded to f16 and the weight is (xi - 8) * d. Returns (q = xi - 8 [out,
    padded] int, d [out, padded / 32] as f16 values in f32, dequantized [out, in] f64)."""
    out, fin = w.shape
    padded = (fin + 127) // 128 * 128
    wp = torch.zeros(out, padded, dtype=F32)
    wp[:, :fin] = w.to(F32)
    blocks = wp.view(out, padded // 32, 32)
    idx = blocks.abs().argmax(dim=2, keepdim=True)
    m = blocks.gather(2, idx)[:, :, 0]
    dd = m / torch.tensor(-8.0, dtype=F32)
    idv = torch.where(dd != 0, torch.tensor(1.0, dtype=F32) / torch.where(dd != 0, dd, torch.ones_like(dd)),
                      torch.zeros_like(dd))
    v = blocks * idv[:, :, None] + torch.tensor(8.5, dtype=F32)
    xi = torch.clamp(torch.trunc(v), max=15).to(torch.int64)
    q = xi - 8
    d16 = dd.to(torch.float16).to(F32)
    deq = (q.to(F64) * d16[:, :, None].to(F64)).view(out, padded)[:, :fin]
    return q.view(out, padded), d16, deq


def gen_linear_quantized(layer, quantize, group):
    """Block-quantized weights (Q8_0, Q4_0): the quantization itself (q and d, exact), and the products: exact (f32
    activations x dequantized weights); under Precision::fast the activations quantized to Q8_0 blocks (sum over
    blocks of dx * dw * integer dot: decode, and prefill with the int8 GEMM), or, for a prefill without it, rounded
    to bf16 with the dequantized weights."""
    cases = []
    specs = [  # name, rows, in, out, bias, seed
        ("decode_odd_blocks", 3, 70, 37, True, 21),
        ("decode_one_row", 1, 1100, 64, False, 22),  # Q4_0: two super-groups of 512 and a tail
        ("decode_no_tail", 2, 1024, 40, True, 24),  # Q4_0: two super-groups, no tail
        ("prefill", 19, 600, 290, True, 23),
        ("prefill_no_tail", 9, 1024, 70, False, 25),
    ]
    for name, rows, fin, fout, bias, s0 in specs:
        x, xj = hashed_values(s0 * 10 + 1, (rows, fin), 2.0)
        w, wj = hashed_values(s0 * 10 + 2, (fout, fin), 1.0 / 16)
        if name == "decode_odd_blocks":  # a zero row (d = 0) and a row whose blocks hold one large value
            w[5] = 0.0
            w[6] = w[6] * 0.001
            w[6, 3] = 1.5
            w[7, 40] = -w[7, 32:64].abs().max() * 1.5  # a negative extreme: d > 0 for that block
            wj = T(w)
        q, dq, deq = quantize(w)
        t = {"x": xj, "weight": wj}
        if rows <= 4:  # the quantization itself, checked value for value (the prefill case checks its product)
            t["q"], t["d"] = T(q), T(dq)
        b = None
        if bias:
            b, bj = hashed_values(s0 * 10 + 3, (fout,), 0.5)
            t["bias"] = bj
        t["y"] = T9(linear_ref(x, deq, b))
        # What the int8 kernels compute (decode; prefill with AVX512-VNNI): x quantized to Q8_0 blocks over the
        # weights' padded width.
        padded = (fin + group - 1) // group * group
        xp = torch.zeros(rows, padded, dtype=F32)
        xp[:, :fin] = x
        xq, xd, _ = quantize_q8_0(xp)
        nb = q.shape[1] // 32
        isum = (xq[:, :padded].reshape(rows, 1, nb, 32) * q.view(1, fout, nb, 32)).sum(dim=3).to(F64)
        y = (isum * (xd[:, :nb].to(F64)[:, None, :] * dq.to(F64)[None, :, :])).sum(dim=2)
        if b is not None:
            y = y + d(b)
        t["y_q8_activations"] = T9(y)
        if rows > 4:
            t["y_bf16_activations"] = T9(linear_ref(round_dtype(x, "bf16"), round_dtype(deq.to(F32), "bf16"), b))
        cases.append({"name": name, "params": {"in": fin, "out": fout, "bias": bias, "rows": rows}, "tensors": t})
    write(layer, cases)


def gen_linear_q8():
    gen_linear_quantized("linear_q8", quantize_q8_0, 64)


def gen_linear_q4():
    gen_linear_quantized("linear_q4", quantize_q4_0, 128)


# ----------------------------------------------------------------------------
# 4. layer_norm
# ----------------------------------------------------------------------------

def gen_layer_norm():
    layer = "layer_norm"
    specs = [("dim8", 3, 8, 1e-5, True, 0.0),
             ("dim17_nobias", 4, 17, 1e-12, False, 0.0),
             ("offset100", 1, 33, 1e-5, True, 100.0)]
    cases = []

    def add_case(name, x, dim, eps, bias, params):
        # Draws the weights after x (the seeded order), computes the reference and records the case.
        w = randn(dim, scale=0.5, offset=1.0)
        b = randn(dim, scale=0.5) if bias else None
        y = layer_norm_ref(x, w, b, eps)
        t = {"x": T(x), "weight": T(w)}
        if bias:
            t["bias"] = T(b)
        t["y"] = T(y)
        cases.append({"name": name, "params": {"dim": dim, "eps": eps, "bias": bias, "rows": x.shape[0], **params},
                      "tensors": t})

    for name, rows, dim, eps, bias, off in specs:
        seed(layer, name)
        add_case(name, randn(rows, dim, offset=off), dim, eps, bias, {})
    # Small-magnitude rows: Var[x] is comparable to eps, so x / (sqrt(var) + eps) differs from
    # x / sqrt(var + eps) far beyond the tolerance.  A row of zeros and a constant row (Var = 0)
    # give y = bias (no NaN: eps > 0).
    # name, row scales (0: zero row), dim, eps, bias, offset, constant row value (None: none)
    small = [("small_dim7_eps1e-5", [1e-3, 3e-3, 1e-2, 0.0], 7, 1e-5, True, 0.0, None),
             ("small_dim33_eps1e-6_nobias", [1e-3, 2e-3, 5e-3], 33, 1e-6, False, 0.0, None),
             ("small_offset_dim129_eps1e-5", [1e-3, 3e-3], 129, 1e-5, True, 2e-3, 0.25),
             ("eps1e-2_dim33", [0.05, 0.1, 1.0], 33, 1e-2, True, 0.0, None)]
    for name, scales, dim, eps, bias, off, const in small:
        seed(layer, name)
        x = randn_rows(scales, dim, offset=off)
        if const is not None:
            x = torch.cat([x, torch.full((1, dim), const, dtype=F32)])
        params = {"row_scales": scales, "offset": off}
        if const is not None:
            params["constant_row"] = const
        add_case(name, x, dim, eps, bias, params)
    write(layer, cases)


# ----------------------------------------------------------------------------
# 5. rms_norm
# ----------------------------------------------------------------------------

def gen_rms_norm():
    layer = "rms_norm"
    specs = [("llama_dim8", 3, 8, 1e-6, "llama", "f32"),
             ("llama_dim17", 4, 17, 1e-5, "llama", "f32"),
             ("gemma_dim8", 3, 8, 1e-6, "gemma", "f32"),
             ("llama_bf16_dim16", 3, 16, 1e-6, "llama", "bf16"),
             ("llama_rows1_dim65", 1, 65, 1e-6, "llama", "f32")]
    cases = []

    def add_case(name, x, dim, eps, variant, dtype, params):
        # Draws the weight after x (the seeded order), computes the reference and records the case.
        w = randn(dim, scale=0.1) if variant == "gemma" else randn(dim, scale=0.5, offset=1.0)
        w = round_dtype(w, dtype)
        y = rms_norm_ref(x, w, eps, variant)
        cases.append({"name": name,
                      "params": {"dim": dim, "eps": eps, "variant": variant, "dtype": dtype, "rows": x.shape[0],
                                 **params},
                      "tensors": {"x": T(x), "weight": T(w), "y": T(y)}})

    for name, rows, dim, eps, variant, dtype in specs:
        seed(layer, name)
        add_case(name, randn(rows, dim, scale=2.0), dim, eps, variant, dtype, {})
    # Small-magnitude rows: mean(x^2) is comparable to eps, so x / (sqrt(mean(x^2)) + eps) differs
    # from x / sqrt(mean(x^2) + eps) far beyond the tolerance.  A row of zeros gives zeros (eps > 0).
    # name, row scales (0: zero row), dim, eps, variant, dtype
    small = [("llama_small_dim7_eps1e-6", [1e-3, 2e-3, 5e-3, 0.0], 7, 1e-6, "llama", "f32"),
             ("llama_small_dim33_eps1e-5", [1e-3, 3e-3, 1e-2], 33, 1e-5, "llama", "f32"),
             ("llama_small_dim129_eps1e-6", [1e-3, 0.0, 1e-2], 129, 1e-6, "llama", "f32"),
             ("llama_eps1e-2_dim33", [0.05, 0.1, 1.0], 33, 1e-2, "llama", "f32"),
             ("llama_bf16_small_dim33_eps1e-5", [2e-3, 0.0], 33, 1e-5, "llama", "bf16"),
             ("gemma_small_dim33_eps1e-6", [1e-3, 3e-3, 0.0], 33, 1e-6, "gemma", "f32"),
             ("gemma_eps1e-2_dim7", [0.1, 1.0], 7, 1e-2, "gemma", "f32")]
    for name, scales, dim, eps, variant, dtype in small:
        seed(layer, name)
        add_case(name, randn_rows(scales, dim), dim, eps, variant, dtype, {"row_scales": scales})
    write(layer, cases)


# ----------------------------------------------------------------------------
# 6. rope
# ----------------------------------------------------------------------------

def rope_inv_freq(scaling, base, dim, max_pos, positions):
    """Returns (inv_freq float64 [dim/2], attention_scaling)."""
    rt = scaling["rope_type"]
    if rt == "default":
        return rope_default_inv_freq(base, dim), 1.0
    if rt == "linear":
        return rope_default_inv_freq(base, dim) / scaling["factor"], 1.0
    if rt == "dynamic":
        factor = scaling["factor"]
        seq_len = int(positions.max().item()) + 1
        if seq_len > max_pos:
            base = base * ((factor * seq_len / max_pos) - (factor - 1)) ** (dim / (dim - 2))
        return rope_default_inv_freq(base, dim), 1.0
    if rt == "yarn":
        factor = scaling["factor"]
        orig = scaling["original_max_position_embeddings"]
        beta_fast, beta_slow = scaling["beta_fast"], scaling["beta_slow"]
        truncate = scaling.get("truncate", True)
        pos_freqs = base ** (torch.arange(0, dim, 2, dtype=F64) / dim)
        inv_extra = 1.0 / pos_freqs
        inv_inter = 1.0 / (factor * pos_freqs)

        def find_correction_dim(r):
            return (dim * math.log(orig / (r * 2 * math.pi))) / (2 * math.log(base))

        low = find_correction_dim(beta_fast)
        high = find_correction_dim(beta_slow)
        if truncate:
            low, high = math.floor(low), math.ceil(high)
        low, high = max(low, 0), min(high, dim - 1)
        if low == high:
            high += 0.001
        ramp = torch.clamp((torch.arange(dim // 2, dtype=F64) - low) / (high - low), 0, 1)
        extra_factor = 1.0 - ramp
        inv = inv_inter * (1 - extra_factor) + inv_extra * extra_factor
        att = 0.1 * math.log(factor) + 1.0 if factor > 1 else 1.0
        return inv, att
    if rt == "llama3":
        factor = scaling["factor"]
        L = scaling["original_max_position_embeddings"]
        lo, hi = scaling["low_freq_factor"], scaling["high_freq_factor"]
        inv_freq = rope_default_inv_freq(base, dim)
        low_wl, high_wl = L / lo, L / hi
        wavelen = 2 * math.pi / inv_freq
        inv = torch.where(wavelen > low_wl, inv_freq / factor, inv_freq)
        smooth = (L / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * inv / factor + smooth * inv
        is_medium = (~(wavelen < high_wl)) & (~(wavelen > low_wl))
        inv = torch.where(is_medium, smoothed, inv)
        # sanity: all three regions are present in the llama3 golden case
        assert bool((wavelen < high_wl).any()) and bool(is_medium.any()) and bool((wavelen > low_wl).any())
        return inv, 1.0
    raise ValueError(rt)


def gen_rope():
    layer = "rope"
    dflt = {"rope_type": "default"}
    specs = [
        # name, layout, head_dim, n_heads, partial, theta, max_pos, scaling, positions
        ("default_half_split", "half_split", 8, 2, 1.0, 10000.0, 2048, dflt, [0, 1, 2, 5]),
        ("default_interleaved", "interleaved", 8, 2, 1.0, 10000.0, 2048, dflt, [0, 1, 2, 5]),
        ("partial_half_split", "half_split", 16, 2, 0.5, 10000.0, 2048, dflt, [0, 1, 3, 7]),
        ("partial_interleaved", "interleaved", 16, 2, 0.5, 10000.0, 2048, dflt, [0, 1, 3, 7]),
        ("large_positions", "half_split", 128, 1, 1.0, 1e6, 131072, dflt, [1000, 4095, 100000]),
        ("linear", "half_split", 8, 2, 1.0, 10000.0, 2048, {"rope_type": "linear", "factor": 2.0},
         [0, 1, 4, 9]),
        ("dynamic_extended", "half_split", 8, 2, 1.0, 10000.0, 16, {"rope_type": "dynamic", "factor": 2.0},
         [0, 3, 17, 40]),
        ("dynamic_within", "half_split", 8, 2, 1.0, 10000.0, 16, {"rope_type": "dynamic", "factor": 2.0},
         [0, 1, 5, 15]),
        ("yarn", "half_split", 32, 2, 1.0, 10000.0, 256,
         {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64,
          "beta_fast": 32.0, "beta_slow": 1.0, "truncate": True}, [0, 1, 7, 63, 200]),
        ("yarn_no_truncate", "half_split", 32, 2, 1.0, 10000.0, 256,
         {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64,
          "beta_fast": 32.0, "beta_slow": 1.0, "truncate": False}, [0, 1, 7, 63, 200]),
        ("llama3", "half_split", 32, 2, 1.0, 10000.0, 512,
         {"rope_type": "llama3", "factor": 8.0, "original_max_position_embeddings": 64,
          "low_freq_factor": 1.0, "high_freq_factor": 4.0}, [0, 1, 9, 63, 300]),
    ]
    cases = []
    for name, layout, hd, nh, partial, theta, max_pos, scaling, positions in specs:
        seed(layer, name)
        rot = int(hd * partial)
        pos = torch.tensor(positions, dtype=torch.int64)
        inv, att = rope_inv_freq(scaling, theta, rot, max_pos, pos)
        x = randn(len(positions), nh * hd)
        y = rope_apply(x, pos, inv, nh, hd, rot, layout, att)
        params = {"layout": layout, "head_dim": hd, "n_heads": nh, "partial_rotary_factor": partial,
                  "rope_theta": theta, "max_position_embeddings": max_pos, "scaling": dict(scaling),
                  "attention_scaling": att}
        if scaling["rope_type"] == "yarn":
            params["factor_as_given"] = True  # no HF "factor = max_pos / orig" recomputation
        cases.append({"name": name, "params": params,
                      "tensors": {"positions": T(pos), "inv_freq": T(inv), "x": T(x), "y": T(y)}})
    write(layer, cases)


# ----------------------------------------------------------------------------
# 7. positional
# ----------------------------------------------------------------------------

def gen_positional():
    layer = "positional"
    cases = []
    for name, dim in [("sinusoidal", 16), ("sinusoidal_dim6", 6)]:
        max_len, base = 12, 10000.0
        pe = torch.zeros(max_len, dim, dtype=F64)
        p = torch.arange(max_len, dtype=F64)[:, None]
        i2 = torch.arange(0, dim, 2, dtype=F64)[None, :]
        ang = p / (base ** (i2 / dim))
        pe[:, 0::2] = torch.sin(ang)
        pe[:, 1::2] = torch.cos(ang)
        cases.append({"name": name, "params": {"dim": dim, "max_len": max_len, "base": base},
                      "tensors": {"pe": T(pe)}})
    seed(layer, "learned")
    maxp, dim, off = 10, 5, 3
    table = randn(maxp, dim)
    x = randn(4, dim)
    y = d(x) + d(table)[off:off + 4]
    cases.append({"name": "learned", "params": {"max_positions": maxp, "dim": dim, "offset": off},
                  "tensors": {"table": T(table), "x": T(x), "y": T(y)}})
    for n in [1, 2, 4, 8, 12, 16, 6, 5, 3, 20]:
        cases.append({"name": "alibi_%d" % n, "params": {"n_heads": n},
                      "tensors": {"slopes": T(alibi_slopes(n))}})
    write(layer, cases)


# ----------------------------------------------------------------------------
# 8. softmax
# ----------------------------------------------------------------------------

def gen_softmax():
    layer = "softmax"
    cases = []
    for name, temp in [("plain", 1.0), ("temp0.5", 0.5), ("temp2", 2.0)]:
        seed(layer, name)
        x = randn(3, 7, scale=2.0)
        y = safe_softmax(d(x) / temp)
        cases.append({"name": name, "params": {"temperature": temp}, "tensors": {"x": T(x), "y": T(y)}})
    seed(layer, "special")
    ninf = -math.inf
    x = randn(5, 7, scale=2.0)
    x[0, 1] = ninf
    x[0, 4] = ninf
    x[1, :] = ninf
    x[2, :] = torch.tensor([1e4, 1e4 - 1, 1e4 - 2, 1e4 - 5, 1e4 - 0.5, -1e4, 1e4 - 30], dtype=F32)
    x[3, :] = ninf
    x[3, 2] = 0.5  # single finite entry -> one-hot
    x[4, :] = torch.tensor([-1e4, -1e4 - 1, ninf, -1e4 + 2, ninf, -1e4, -1e4 - 0.25], dtype=F32)
    y = safe_softmax(d(x))
    assert not torch.isnan(y).any()
    cases.append({"name": "special", "params": {"temperature": 1.0}, "tensors": {"x": T(x), "y": T(y)}})
    write(layer, cases)


# ----------------------------------------------------------------------------
# 9. sdpa
# ----------------------------------------------------------------------------

def gen_sdpa():
    layer = "sdpa"
    # name, H, KVH, D, q_len, kv_len, scale(None=default), causal, window, extras
    specs = [
        ("mha_nomask", 2, 2, 8, 3, 3, None, False, 0, {}),
        ("causal_prefill", 2, 2, 8, 5, 5, None, True, 0, {}),
        ("causal_decode", 2, 2, 8, 1, 6, None, True, 0, {}),
        ("causal_chunk", 2, 2, 8, 3, 7, None, True, 0, {}),
        ("gqa", 4, 2, 8, 4, 4, None, True, 0, {}),
        ("mqa", 4, 1, 8, 4, 4, None, True, 0, {}),
        ("custom_scale", 2, 2, 8, 3, 4, 0.3, True, 0, {}),
        ("sliding_window_prefill", 2, 2, 8, 6, 6, None, True, 3, {}),
        ("sliding_window_decode", 2, 2, 8, 2, 9, None, True, 4, {}),
        ("additive_mask", 2, 2, 8, 4, 5, None, False, 0, {"mask": True}),
        ("key_padding_left", 2, 2, 8, 5, 5, None, True, 0, {"key_padding": [1, 1, 0, 0, 0]}),
        ("alibi_causal", 4, 4, 8, 5, 5, None, True, 0, {"alibi": True}),
        ("head_dim17", 2, 2, 17, 3, 4, None, True, 0, {}),
        ("head_dim64_kv33", 2, 2, 64, 2, 33, None, True, 0, {}),
    ]
    cases = []
    for name, H, KVH, D, ql, kvl, scale, causal, window, ex in specs:
        seed(layer, name)
        default_scale = scale is None
        if default_scale:
            scale = 1.0 / math.sqrt(D)
        q_offset = kvl - ql
        q = randn(ql, H * D)
        k = randn(KVH, kvl, D)
        v = randn(KVH, kvl, D)
        mask = None
        if ex.get("mask"):
            mask = randn(ql, kvl, scale=0.5)
            mask[0, 1] = -math.inf
            mask[1, 0] = -math.inf
            mask[1, 3] = -math.inf
            mask[3, 4] = -math.inf
            mask[2, 2] = -math.inf
        kp = torch.tensor(ex["key_padding"], dtype=torch.int64) if "key_padding" in ex else None
        slopes = alibi_slopes(H) if ex.get("alibi") else None
        out, w, ent = sdpa_ref(q, k, v, H, KVH, D, scale, causal, q_offset, window, mask, kp, slopes)
        if kp is not None:
            assert float(w[:, 0, :].abs().sum()) == 0.0  # row 0 fully masked
        t = {"q": T(q), "k": T(k), "v": T(v)}
        if mask is not None:
            t["mask"] = T(mask)
        if kp is not None:
            t["key_padding"] = T(kp)
        if slopes is not None:
            t["alibi_slopes"] = T(slopes)
        t.update({"out": T(out), "weights": T(w), "entropy": T(ent)})
        params = {"n_heads": H, "n_kv_heads": KVH, "head_dim": D, "q_len": ql, "kv_len": kvl,
                  "scale": scale, "default_scale": default_scale, "causal": causal,
                  "q_offset": q_offset, "sliding_window": window, "has_mask": mask is not None,
                  "has_key_padding": kp is not None, "has_alibi": slopes is not None}
        cases.append({"name": name, "params": params, "tensors": t})
    # Prefill shapes for the tiled kernel (8 or more query rows): query blocks and key tiles with tails, GQA/MQA
    # groups, head_dim not a multiple of 32, every kind of mask, a fully masked row. Inputs are hashed
    # (regenerated by the loader) except the additive mask, which holds -inf; only `out` is stored.
    tiled = [  # name, H, KVH, D, q_len, kv_len, causal, window, extras, seed
        ("tiled_gqa_causal_chunk", 4, 2, 48, 45, 100, True, 0, {}, 31),
        ("tiled_mqa_window_padding_alibi", 2, 1, 40, 30, 30, True, 7, {"pad": 3, "alibi": True}, 32),
        ("tiled_mask_bidirectional", 2, 2, 32, 20, 70, False, 0, {"mask": True}, 33),
        ("tiled_prefill_d128", 2, 1, 128, 40, 40, True, 0, {}, 34),
        ("tiled_head_dim6", 3, 3, 6, 9, 9, True, 0, {}, 35),
        # 70 query rows (AMX blocks of 32: two whole and a partial one) of a group of 3, head_dim 64, a chunk after
        # 80 cached positions, a window of 100 that starts inside key tiles, padded keys and a mask
        ("tiled_gqa3_d64_window_padding_mask", 6, 2, 64, 70, 150, True, 100, {"pad": 3, "mask": True}, 39),
        # 72 query rows of two kv heads (groups of 2) after 528 cached positions: 600 keys, three AMX key tiles of
        # 256 (the last partial), a window of 300 whose start crosses the first tile boundary between query
        # blocks, padded keys and a mask
        ("tiled_gqa2_d64_three_key_tiles", 4, 2, 64, 72, 600, True, 300, {"pad": 3, "mask": True}, 40),
        ("decode_long_cache_split", 4, 1, 64, 2, 700, True, 0, {"alibi": True}, 36),
        # Decode kernel (fewer than 8 query rows, head_dim a multiple of 16): a group of 3 (two heads, then one),
        # head_dim 144 (a second column pass of one vector), a window starting inside a block of 16 keys, padded
        # keys inside it, a mask and ALiBi; then plain bidirectional MHA.
        ("decode_gqa3_d144_window_padding_mask", 6, 2, 144, 3, 37, True, 33, {"pad": 3, "mask": True, "alibi": True}, 37),
        ("decode_mha_d64_bidirectional", 2, 2, 64, 1, 50, False, 0, {}, 38),
        # Decode with fewer (kv head, query row) items than threads: the keys are split into parts whose softmaxes
        # are merged. One kv head, 1100 keys (2-4 parts on 2-4 threads), padded keys and a masked span that covers
        # whole parts on 3 and 4 threads; a group of 3 (a pair and a lone head) whose window starts mid-cache; a
        # row with every key masked in every part; a window of 1100 keys at the end of 2000 (parts by its length).
        ("decode_mqa_split_padding_span", 4, 1, 64, 1, 1100, True, 0, {"pad": 3, "span": (272, 820), "alibi": True}, 41),
        ("decode_gqa3_d128_split_window", 6, 2, 128, 1, 900, True, 600, {}, 42),
        ("decode_mqa_split_masked_row", 2, 1, 32, 1, 600, True, 0, {"span": (0, 600)}, 43),  # zeros
        ("decode_mqa_split_window", 2, 1, 64, 1, 2000, True, 1100, {}, 44),  # 2-4 parts of a 1100-key window
    ]
    for name, H, KVH, D, ql, kvl, causal, window, ex, s0 in tiled:
        scale = 1.0 / math.sqrt(D)
        q_offset = kvl - ql
        q, qj = hashed_values(s0 * 10 + 1, (ql, H * D), 2.0)
        k, kj = hashed_values(s0 * 10 + 2, (KVH, kvl, D), 2.0)
        v, vj = hashed_values(s0 * 10 + 3, (KVH, kvl, D), 1.0)
        t = {"q": qj, "k": kj, "v": vj}
        mask = None
        if "span" in ex:
            mask = torch.zeros(ql, kvl, dtype=torch.float64)
            mask[:, ex["span"][0]:ex["span"][1]] = -math.inf
            t["mask"] = T(mask)
        if ex.get("mask"):
            mask, _ = hashed_values(s0 * 10 + 4, (ql, kvl), 1.0)
            mask[:, 5:9] = -math.inf
            if ql > 3:
                mask[3, :] = -math.inf  # a row with no key left: zeros
            else:
                mask[ql - 1, :] = -math.inf
            if ql > 7:
                mask[7, 40:] = -math.inf
            t["mask"] = T(mask)
        kp = None
        if "pad" in ex:
            kp = torch.zeros(kvl, dtype=torch.int64)
            kp[:ex["pad"]] = 1
            t["key_padding"] = T(kp)
        slopes = alibi_slopes(H) if ex.get("alibi") else None
        if slopes is not None:
            t["alibi_slopes"] = T(slopes)
        out, _, _ = sdpa_ref(q, k, v, H, KVH, D, scale, causal, q_offset, window, mask, kp, slopes)
        t["out"] = T9(out)
        for kv_dtype in ("bf16", "f16"):  # a KV cache that stores keys and values rounded to bf16 / f16
            o, _, _ = sdpa_ref(q, round_dtype(k, kv_dtype), round_dtype(v, kv_dtype), H, KVH, D, scale, causal,
                               q_offset, window, mask, kp, slopes)
            t["out_kv_" + kv_dtype] = T9(o)
        t["out_bf16_attention"] = T9(sdpa_bf16_ref(q, k, v, H, KVH, D, scale, causal, q_offset, window, mask, kp,
                                                   slopes))
        params = {"n_heads": H, "n_kv_heads": KVH, "head_dim": D, "q_len": ql, "kv_len": kvl,
                  "scale": scale, "default_scale": True, "causal": causal,
                  "q_offset": q_offset, "sliding_window": window, "has_mask": mask is not None,
                  "has_key_padding": kp is not None, "has_alibi": slopes is not None}
        cases.append({"name": name, "params": params, "tensors": t})
    write(layer, cases)


# ----------------------------------------------------------------------------
# 10. mlp
# ----------------------------------------------------------------------------

def gen_mlp():
    layer = "mlp"
    specs = [("swiglu", "swiglu", 8, 12, False), ("swiglu_bias", "swiglu", 7, 13, True),
             ("geglu", "geglu", 8, 12, False), ("gelu_bias", "gelu", 8, 12, True),
             ("gelu_tanh_bias", "gelu_tanh", 8, 12, True), ("relu_bias", "relu", 8, 12, True)]
    cases = []
    for name, kind, H, I, bias in specs:
        seed(layer, name)
        x = randn(3, H, scale=2.0)
        W = make_mlp_weights(kind, H, I, bias)
        y = mlp_ref(kind, x, W)
        t = {"x": T(x)}
        t.update({k: T(v) for k, v in W.items()})
        t["y"] = T(y)
        cases.append({"name": name, "params": {"kind": kind, "hidden": H, "intermediate": I, "bias": bias},
                      "tensors": t})
    write(layer, cases)


# ----------------------------------------------------------------------------
# 11. attention module (HF Llama / Qwen2 / Qwen3 eager attention)
# ----------------------------------------------------------------------------

def make_attn_weights(p):
    H, KVH, D, hid = p["n_heads"], p["n_kv_heads"], p["head_dim"], p["hidden"]
    W = {}
    for n, o, i in [("q_proj", H * D, hid), ("k_proj", KVH * D, hid), ("v_proj", KVH * D, hid),
                    ("o_proj", hid, H * D)]:
        W[n + ".weight"] = randn(o, i, scale=1.0 / math.sqrt(i))
        if (n != "o_proj" and p["attention_bias_qkv"]) or (n == "o_proj" and p["attention_bias_o"]):
            W[n + ".bias"] = randn(o, scale=0.2)
    if p["qk_norm"]:
        W["q_norm.weight"] = randn(D, scale=0.3, offset=1.0)
        W["k_norm.weight"] = randn(D, scale=0.3, offset=1.0)
    return W


def attention_ref(x, W, p, causal=True, key_padding=None, rope=True, mask=None):
    H, KVH, D = p["n_heads"], p["n_kv_heads"], p["head_dim"]
    S = x.shape[0]
    q = linear_ref(x, W["q_proj.weight"], W.get("q_proj.bias")).view(S, H, D)
    k = linear_ref(x, W["k_proj.weight"], W.get("k_proj.bias")).view(S, KVH, D)
    v = linear_ref(x, W["v_proj.weight"], W.get("v_proj.bias")).view(S, KVH, D)
    if p["qk_norm"]:
        q = rms_norm_ref(q, W["q_norm.weight"], p["rms_norm_eps"])
        k = rms_norm_ref(k, W["k_norm.weight"], p["rms_norm_eps"])
    if rope:
        pos = torch.arange(S, dtype=torch.int64)
        inv = rope_default_inv_freq(p["rope_theta"], D)
        q = rope_apply(q.reshape(S, H * D), pos, inv, H, D, D, p["rope_layout"])
        k = rope_apply(k.reshape(S, KVH * D), pos, inv, KVH, D, D, p["rope_layout"])
    q = q.reshape(S, H * D)
    k = k.reshape(S, KVH, D).permute(1, 0, 2).contiguous()
    v = v.permute(1, 0, 2).contiguous()
    o, _, _ = sdpa_ref(q, k, v, H, KVH, D, D ** -0.5, causal, 0, p["sliding_window"], mask=mask,
                       key_padding=key_padding)
    return linear_ref(o, W["o_proj.weight"], W.get("o_proj.bias"))


def attn_params(hidden, H, KVH, D, seq, bias_qkv=False, bias_o=False, qk_norm=False, window=0, eps=1e-6):
    return {"hidden": hidden, "n_heads": H, "n_kv_heads": KVH, "head_dim": D,
            "attention_bias_qkv": bias_qkv, "attention_bias_o": bias_o, "qk_norm": qk_norm,
            "rms_norm_eps": eps, "rope_theta": 10000.0, "rope_layout": "half_split",
            "sliding_window": window, "seq_len": seq}


def gen_attention():
    layer = "attention"
    specs = [
        ("llama_mha", attn_params(16, 4, 4, 4, 5)),
        ("gqa", attn_params(16, 4, 2, 8, 5)),
        ("qwen2_bias_qkv", attn_params(16, 4, 2, 4, 5, bias_qkv=True)),
        ("qwen3_qk_norm", attn_params(12, 4, 2, 8, 5, qk_norm=True)),
        ("mqa_o_bias", attn_params(16, 4, 1, 4, 5, bias_o=True)),
        ("sliding_window3", attn_params(16, 4, 2, 4, 6, window=3)),
    ]
    cases = []
    for name, p in specs:
        seed(layer, name)
        x = randn(p["seq_len"], p["hidden"])
        W = make_attn_weights(p)
        out = attention_ref(x, W, p)
        t = {"x": T(x)}
        t.update({k: T(v) for k, v in W.items()})
        t["out"] = T(out)
        cases.append({"name": name, "params": p, "tensors": t})
    # Qwen3 q/k norm where eps matters: the q/k projection weights are scaled down (in float32) so
    # that mean(q^2) and mean(k^2) per head are comparable to rms_norm_eps; v and o keep their
    # usual scale, so a misplaced eps changes the scores and hence the output well beyond the
    # tolerance.  zero_row: that row of x is all zeros (q = k = v = 0 there; eps > 0, no NaN).
    # name, params, q/k projection scale, zero row (None: none)
    small = [
        ("qwen3_qk_norm_small_qk_gqa_eps1e-6", attn_params(8, 4, 2, 4, 5, qk_norm=True, eps=1e-6), 1e-3, None),
        ("qwen3_qk_norm_small_qk_hidden17_mqa_eps1e-5",
         attn_params(17, 2, 1, 6, 6, qk_norm=True, eps=1e-5), 3e-3, 2),
        ("qwen3_qk_norm_eps1e-2_hidden7", attn_params(7, 2, 2, 4, 5, qk_norm=True, eps=1e-2), 0.1, None),
    ]
    for name, p, qk_scale, zero_row in small:
        seed(layer, name)
        x = randn(p["seq_len"], p["hidden"])
        if zero_row is not None:
            x[zero_row] = 0.0
        W = make_attn_weights(p)
        for n in ("q_proj.weight", "k_proj.weight"):
            W[n] = W[n] * torch.tensor(qk_scale, dtype=F32)
        out = attention_ref(x, W, p)
        t = {"x": T(x)}
        t.update({k: T(v) for k, v in W.items()})
        t["out"] = T(out)
        params = dict(p)
        params["qk_proj_scale"] = qk_scale
        if zero_row is not None:
            params["zero_row"] = zero_row
        cases.append({"name": name, "params": params, "tensors": t})
    write(layer, cases)


# ----------------------------------------------------------------------------
# 12. block
# ----------------------------------------------------------------------------

def gen_block():
    layer = "block"
    specs = [
        ("pre_rms_swiglu_gqa", "pre", "rms", 1e-6, "swiglu", 24, False, attn_params(16, 4, 2, 4, 5)),
        ("qwen3_pre_qk_norm", "pre", "rms", 1e-6, "swiglu", 24, False,
         attn_params(16, 4, 2, 8, 5, qk_norm=True)),
        ("post_layernorm_gelu", "post", "layer", 1e-5, "gelu", 32, True,
         attn_params(16, 4, 4, 4, 4, bias_qkv=True, bias_o=True)),
    ]
    cases = []
    for name, placement, norm, eps, mlp_kind, inter, mlp_bias, ap in specs:
        seed(layer, name)
        hid, S = ap["hidden"], ap["seq_len"]
        x = randn(S, hid)
        AW = make_attn_weights(ap)
        MW = make_mlp_weights(mlp_kind, hid, inter, mlp_bias)
        n1w = randn(hid, scale=0.3, offset=1.0)
        n2w = randn(hid, scale=0.3, offset=1.0)
        n1b = randn(hid, scale=0.2) if norm == "layer" else None
        n2b = randn(hid, scale=0.2) if norm == "layer" else None

        def norm1(z):
            return rms_norm_ref(z, n1w, eps) if norm == "rms" else layer_norm_ref(z, n1w, n1b, eps)

        def norm2(z):
            return rms_norm_ref(z, n2w, eps) if norm == "rms" else layer_norm_ref(z, n2w, n2b, eps)

        xd = d(x)
        if placement == "pre":
            h = xd + attention_ref(norm1(xd), AW, ap)
            out = h + mlp_ref(mlp_kind, norm2(h), MW)
        else:
            h = norm1(xd + attention_ref(xd, AW, ap))
            out = norm2(h + mlp_ref(mlp_kind, h, MW))
        t = {"x": T(x)}
        t.update({"attn." + k: T(v) for k, v in AW.items()})
        t["norm1.weight"] = T(n1w)
        if n1b is not None:
            t["norm1.bias"] = T(n1b)
        t["norm2.weight"] = T(n2w)
        if n2b is not None:
            t["norm2.bias"] = T(n2b)
        t.update({"mlp." + k: T(v) for k, v in MW.items()})
        t["out"] = T(out)
        params = {"placement": placement, "norm": norm, "eps": eps, "mlp_kind": mlp_kind,
                  "intermediate": inter, "mlp_bias": mlp_bias}
        params.update(ap)
        cases.append({"name": name, "params": params, "tensors": t})
    write(layer, cases)


# ----------------------------------------------------------------------------
# 13. encoder attention: a padded batch without a cache (BERT), causal or not
# ----------------------------------------------------------------------------

def gen_attention_batch():
    """x holds len(lengths) sequences of seq_len rows each; sequence b has lengths[b] real rows, the rest is
    padding (masked as keys). out is every row's output, padding rows included (they attend the real keys)."""
    layer = "attention_batch"
    specs = [  # name, params, lengths, causal, rope
        ("bert_mha_padded_tiled", attn_params(16, 4, 4, 4, 10, bias_qkv=True, bias_o=True), [10, 7, 1], False, False),
        ("bert_short_rows", attn_params(12, 3, 3, 4, 5, bias_qkv=True, bias_o=True), [3, 5], False, False),
        ("gqa_rope_padded", attn_params(16, 4, 2, 8, 9), [9, 4], False, True),
        ("causal_rope_batch", attn_params(16, 4, 2, 4, 11), [11, 11], True, True),
        ("additive_mask_padded", attn_params(16, 4, 2, 4, 9, bias_qkv=True), [9, 6], False, False),
    ]
    cases = []
    for name, p, lengths, causal, rope in specs:
        seed(layer, name)
        L = p["seq_len"]
        x = randn(len(lengths) * L, p["hidden"])
        W = make_attn_weights(p)
        mask = None
        if name.startswith("additive_mask"):  # biases, and keys 2 and 5 hidden from every even query row
            mask = randn(L, L, scale=1.5)
            mask[0::2, 2] = -math.inf
            mask[0::2, 5] = -math.inf
        outs, pad = [], []
        for b, n in enumerate(lengths):
            kp = torch.tensor([0] * n + [1] * (L - n), dtype=torch.uint8)
            outs.append(attention_ref(x[b * L:(b + 1) * L], W, p, causal=causal, key_padding=kp, rope=rope,
                                      mask=mask))
            pad += kp.tolist()
        t = {"x": T(x), "key_padding": {"shape": [len(pad)], "data": pad}}
        if mask is not None:
            t["mask"] = T(mask)
        t.update({k: T(v) for k, v in W.items()})
        t["out"] = T(torch.cat(outs))
        params = dict(p)
        params.update({"lengths": lengths, "causal": causal, "rope": rope})
        cases.append({"name": name, "params": params, "tensors": t})
    write(layer, cases)


# ----------------------------------------------------------------------------
# 14. cross-attention (Marian / BART encoder-decoder attention)
# ----------------------------------------------------------------------------

def cross_attention_ref(x, mem, W, p, key_padding=None):
    H, KVH, D = p["n_heads"], p["n_kv_heads"], p["head_dim"]
    S = mem.shape[0]
    q = linear_ref(x, W["q_proj.weight"], W.get("q_proj.bias"))
    k = linear_ref(mem, W["k_proj.weight"], W.get("k_proj.bias")).view(S, KVH, D).permute(1, 0, 2).contiguous()
    v = linear_ref(mem, W["v_proj.weight"], W.get("v_proj.bias")).view(S, KVH, D).permute(1, 0, 2).contiguous()
    o, _, _ = sdpa_ref(q, k, v, H, KVH, D, D ** -0.5, False, 0, 0, key_padding=key_padding)
    return linear_ref(o, W["o_proj.weight"], W.get("o_proj.bias"))


def gen_cross_attention():
    layer = "cross_attention"
    specs = [  # name, params (seq_len = decoder rows), source length, real source tokens
        ("marian_mha_bias", attn_params(16, 4, 4, 4, 3, bias_qkv=True, bias_o=True), 7, 7),
        ("gqa_padded_source", attn_params(16, 4, 2, 8, 2), 11, 8),
        ("tiled_queries_padded", attn_params(12, 3, 1, 4, 9, bias_qkv=True), 13, 10),
    ]
    cases = []
    for name, p, S, real in specs:
        seed(layer, name)
        x = randn(p["seq_len"], p["hidden"])
        mem = randn(S, p["hidden"])
        W = make_attn_weights(p)
        kp = torch.tensor([0] * real + [1] * (S - real), dtype=torch.uint8)
        out = cross_attention_ref(x, mem, W, p, key_padding=kp)
        t = {"x": T(x), "memory": T(mem), "key_padding": {"shape": [S], "data": kp.tolist()}}
        t.update({k: T(v) for k, v in W.items()})
        t["out"] = T(out)
        params = dict(p)
        params.update({"source_len": S, "source_real": real})
        cases.append({"name": name, "params": params, "tensors": t})
    write(layer, cases)


# ----------------------------------------------------------------------------
# 15. decoder block: self-attention, cross-attention, MLP (post-norm Marian, pre-norm mBART)
# ----------------------------------------------------------------------------

def gen_decoder_block():
    layer = "decoder_block"
    specs = [  # name, placement, norm, eps, mlp kind, intermediate, attention params, source len, real source tokens
        ("marian_post_layernorm_silu", "post", "layer", 1e-5, "silu", 32,
         attn_params(16, 4, 4, 4, 5, bias_qkv=True, bias_o=True), 6, 6),
        ("pre_layernorm_gelu_padded", "pre", "layer", 1e-5, "gelu", 24,
         attn_params(16, 4, 4, 4, 9, bias_qkv=True, bias_o=True), 7, 5),
    ]
    cases = []
    for name, placement, norm, eps, act, inter, ap, S, real in specs:
        seed(layer, name)
        hid, T_ = ap["hidden"], ap["seq_len"]
        x = randn(T_, hid)
        mem = randn(S, hid)
        SW = make_attn_weights(ap)
        CW = make_attn_weights(ap)
        MW = make_mlp_weights("gelu", hid, inter, True)
        nw = [randn(hid, scale=0.3, offset=1.0) for _ in range(3)]
        nb = [randn(hid, scale=0.2) for _ in range(3)]
        kp = torch.tensor([0] * real + [1] * (S - real), dtype=torch.uint8)

        def mlp(z):
            h = linear_ref(z, MW["fc1_weight"], MW["fc1_bias"])
            h = silu(h) if act == "silu" else gelu_erf(h)
            return linear_ref(h, MW["fc2_weight"], MW["fc2_bias"])

        subs = [lambda z: attention_ref(z, SW, ap, rope=False),
                lambda z: cross_attention_ref(z, mem, CW, ap, key_padding=kp),
                mlp]
        h = d(x)
        for i, f in enumerate(subs):
            n = lambda z: layer_norm_ref(z, nw[i], nb[i], eps)
            h = h + f(n(h)) if placement == "pre" else n(h + f(h))
        t = {"x": T(x), "memory": T(mem), "key_padding": {"shape": [S], "data": kp.tolist()}}
        t.update({"self." + k: T(v) for k, v in SW.items()})
        t.update({"cross." + k: T(v) for k, v in CW.items()})
        t.update({"mlp." + k: T(v) for k, v in MW.items()})
        for i in range(3):
            t["norm%d.weight" % (i + 1)] = T(nw[i])
            t["norm%d.bias" % (i + 1)] = T(nb[i])
        t["out"] = T(h)
        params = {"placement": placement, "norm": norm, "eps": eps, "activation": act, "intermediate": inter,
                  "source_len": S, "source_real": real}
        params.update(ap)
        cases.append({"name": name, "params": params, "tensors": t})
    write(layer, cases)


def main():
    only = sys.argv[1:]  # generator names (e.g. gen_sdpa) to run only those
    if only:
        for name in only:
            globals()[name]()
        return
    gen_dtype()
    gen_attention_batch()
    gen_cross_attention()
    gen_decoder_block()
    gen_embedding()
    gen_linear()
    gen_linear_q8()
    gen_linear_q4()
    gen_layer_norm()
    gen_rms_norm()
    gen_rope()
    gen_positional()
    gen_softmax()
    gen_sdpa()
    gen_mlp()
    gen_attention()
    gen_block()


if __name__ == "__main__":
    main()
