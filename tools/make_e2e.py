#!/usr/bin/env python3
"""Generate tiny random Hugging Face checkpoints + reference logits for tfx's C++ end-to-end tests.

    python3 tools/make_e2e.py            # regenerate tests/data/e2e/* and verify
    python3 tools/make_e2e.py --verify   # only re-check the committed folders against reference.json
    python3 tools/make_e2e.py CASE ...   # regenerate only the named cases (index.json is rewritten)

Every case folder `tests/data/e2e/<case>/` holds:
  config.json        exactly as `save_pretrained` writes it (except the *_v4config case, see its notes)
  model.safetensors  exactly as `save_pretrained(safe_serialization=True)` writes it
  reference.json     tokens, logits_prefill [T][V], logits_decode [T][V], diagnostics, HF versions

Nothing is downloaded: configs are built in code, weights are random (seeded) and then overwritten with
a seeded, better-conditioned distribution (HF's default init gives near-uniform attention, unit norm
weights and zero biases, which would make the tests blind to many bugs).

Reference logits are produced by Hugging Face's own modeling code (eager attention, float32 compute,
one CPU thread). For F16/BF16 cases the model is rounded to the storage dtype, saved, and the reference
is computed from a float32 copy of the ROUNDED weights, i.e. exactly what the file holds, computed in f32.

Requirements: torch, transformers (>= 5, which writes `rope_parameters`/`dtype`), safetensors, numpy.
"""

import copy
import json
import math
import os
import platform
import shutil
import sys

import numpy as np
import torch
import safetensors
import transformers
from safetensors import safe_open
from transformers import (
    AutoModelForCausalLM,
    DynamicCache,
    LlamaConfig,
    MistralConfig,
    Qwen2Config,
    Qwen3Config,
)

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "tests", "data", "e2e")

VERSIONS = {
    "torch": torch.__version__,
    "transformers": transformers.__version__,
    "safetensors": safetensors.__version__,
    "numpy": np.__version__,
    "python": platform.python_version(),
}

CONFIG_CLASSES = {
    "llama": LlamaConfig,
    "qwen2": Qwen2Config,
    "qwen3": Qwen3Config,
    "mistral": MistralConfig,
}

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}

# --------------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------------


def llama(**kw):
    base = dict(num_hidden_layers=2, hidden_act="silu", tie_word_embeddings=False)
    base.update(kw)
    return base


LLAMA3_SCALING = {
    "rope_type": "llama3",
    "factor": 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 16,
}

CASES = [
    dict(
        name="llama_mha_f32", family="llama", dtype="F32", seed=101, T=9,
        desc="Llama MHA (kv_heads == heads), head_dim 8, untied, rms_norm_eps 1e-5",
        cfg=llama(vocab_size=131, hidden_size=40, intermediate_size=37, num_attention_heads=5,
                  num_key_value_heads=5, max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=10000.0),
    ),
    dict(
        name="llama_gqa_f32", family="llama", dtype="F32", seed=102, T=11,
        desc="Llama GQA 6 q heads / 2 kv heads, head_dim 6, untied",
        cfg=llama(vocab_size=113, hidden_size=36, intermediate_size=53, num_attention_heads=6,
                  num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=10000.0),
    ),
    dict(
        name="llama_mqa_f32", family="llama", dtype="F32", seed=103, T=8,
        desc="Llama MQA (1 kv head), 4 q heads, head_dim 10, untied, rope_theta 1000",
        cfg=llama(vocab_size=101, hidden_size=40, intermediate_size=29, num_attention_heads=4,
                  num_key_value_heads=1, max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=1000.0),
    ),
    dict(
        name="llama_untied", family="llama", dtype="F32", seed=104, T=10,
        desc="Llama GQA 4/2, head_dim 8, tie_word_embeddings false (lm_head.weight in file)",
        cfg=llama(vocab_size=127, hidden_size=32, intermediate_size=45, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=10000.0,
                  tie_word_embeddings=False),
    ),
    dict(
        name="llama_tied", family="llama", dtype="F32", seed=104, T=10,
        desc="Same shapes as llama_untied but tie_word_embeddings true (no lm_head.weight in file)",
        cfg=llama(vocab_size=127, hidden_size=32, intermediate_size=45, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=10000.0,
                  tie_word_embeddings=True),
    ),
    dict(
        name="llama_bias", family="llama", dtype="F32", seed=106, T=9,
        desc="Llama attention_bias + mlp_bias (q/k/v/o and gate/up/down biases, random non-zero), 2/1 heads, head_dim 14",
        cfg=llama(vocab_size=109, hidden_size=28, intermediate_size=39, num_attention_heads=2,
                  num_key_value_heads=1, max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=10000.0,
                  attention_bias=True, mlp_bias=True),
    ),
    dict(
        name="llama3_rope_scaling", family="llama", dtype="F32", seed=107, T=12,
        desc="Llama 3.1-style rope scaling (llama3, factor 8, low 1, high 4, orig 16), theta 5e5, head_dim 16",
        baseline_rope=True,
        cfg=llama(vocab_size=97, hidden_size=32, intermediate_size=37, num_attention_heads=2,
                  num_key_value_heads=1, max_position_embeddings=128, rms_norm_eps=1e-5, rope_theta=500000.0,
                  rope_scaling=dict(LLAMA3_SCALING)),
    ),
    dict(
        name="llama3_rope_scaling_v4config", family="llama", dtype="F32", seed=107, T=12,
        desc="Same weights/reference as llama3_rope_scaling, but config.json rewritten in the transformers 4.x "
             "layout (top-level rope_theta, rope_scaling, torch_dtype)",
        baseline_rope=True, v4config=True,
        cfg=llama(vocab_size=97, hidden_size=32, intermediate_size=37, num_attention_heads=2,
                  num_key_value_heads=1, max_position_embeddings=128, rms_norm_eps=1e-5, rope_theta=500000.0,
                  rope_scaling=dict(LLAMA3_SCALING)),
    ),
    dict(
        name="llama_linear_scaling", family="llama", dtype="F32", seed=109, T=10,
        desc="Llama linear rope scaling given with the legacy key {'type': 'linear', 'factor': 2.0}, head_dim 16",
        baseline_rope=True,
        cfg=llama(vocab_size=97, hidden_size=32, intermediate_size=37, num_attention_heads=2,
                  num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=10000.0,
                  rope_scaling={"type": "linear", "factor": 2.0}),
    ),
    dict(
        name="llama_dynamic_scaling", family="llama", dtype="F32", seed=110, T=12,
        desc="Llama dynamic-NTK rope scaling (factor 2) with max_position_embeddings 8 and 12 tokens",
        baseline_rope=True, dynamic=True,
        cfg=llama(vocab_size=97, hidden_size=32, intermediate_size=37, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=8, rms_norm_eps=1e-6, rope_theta=10000.0,
                  rope_scaling={"type": "dynamic", "factor": 2.0}),
    ),
    dict(
        name="llama_yarn", family="llama", dtype="F32", seed=111, T=12,
        desc="Llama YaRN rope scaling (factor 4, original_max_position_embeddings 16, max_pos 64), head_dim 16",
        baseline_rope=True,
        cfg=llama(vocab_size=97, hidden_size=32, intermediate_size=37, num_attention_heads=2,
                  num_key_value_heads=1, max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=10000.0,
                  rope_scaling={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16}),
    ),
    dict(
        name="llama_head_dim", family="llama", dtype="F32", seed=112, T=9,
        desc="Llama with explicit head_dim 12 != hidden/heads (32/4 = 8); q_proj is [48, 32], o_proj [32, 48]",
        cfg=llama(vocab_size=103, hidden_size=32, intermediate_size=41, num_attention_heads=4,
                  num_key_value_heads=2, head_dim=12, max_position_embeddings=64, rms_norm_eps=1e-6,
                  rope_theta=10000.0),
    ),
    dict(
        name="llama_f16", family="llama", dtype="F16", seed=113, T=10,
        desc="Llama GQA 4/2, head_dim 12, weights stored as F16",
        cfg=llama(vocab_size=131, hidden_size=48, intermediate_size=67, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=10000.0),
    ),
    dict(
        name="llama_bf16", family="llama", dtype="BF16", seed=114, T=10,
        desc="Llama MQA 3/1, head_dim 16, weights stored as BF16",
        cfg=llama(vocab_size=139, hidden_size=48, intermediate_size=61, num_attention_heads=3,
                  num_key_value_heads=1, max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=10000.0),
    ),
    dict(
        name="qwen2_bias", family="qwen2", dtype="F32", seed=201, T=11,
        desc="Qwen2: q/k/v biases (no o_proj bias), tied embeddings, GQA 4/2, head_dim 10, theta 1e6",
        cfg=dict(vocab_size=151, hidden_size=40, intermediate_size=43, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=1000000.0,
                 tie_word_embeddings=True),
    ),
    dict(
        name="qwen3_qknorm_f32", family="qwen3", dtype="F32", seed=301, T=10,
        desc="Qwen3: per-head q_norm/k_norm, head_dim 12 independent of hidden 32 / 4 heads, GQA 4/2, untied",
        cfg=dict(vocab_size=157, hidden_size=32, intermediate_size=47, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, head_dim=12, max_position_embeddings=64, rms_norm_eps=1e-6,
                 rope_theta=1000000.0, tie_word_embeddings=False),
    ),
    dict(
        name="qwen3_tied_bf16", family="qwen3", dtype="BF16", seed=302, T=9,
        desc="Qwen3: tied embeddings, MQA 3/1, head_dim 16 (hidden 24), weights stored as BF16",
        cfg=dict(vocab_size=149, hidden_size=24, intermediate_size=35, num_hidden_layers=2, num_attention_heads=3,
                 num_key_value_heads=1, head_dim=16, max_position_embeddings=64, rms_norm_eps=1e-6,
                 rope_theta=1000000.0, tie_word_embeddings=True),
    ),
    dict(
        name="mistral_sliding", family="mistral", dtype="F32", seed=401, T=10,
        desc="Mistral sliding_window 4 with 10 tokens (each query sees itself + 3 previous), GQA 4/2, head_dim 8",
        baseline_window=True,
        cfg=dict(vocab_size=97, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=10000.0,
                 sliding_window=4, tie_word_embeddings=False),
    ),
]

NOTES_COMMON = (
    "Random tiny model, HF eager attention, float32 compute, 1 CPU thread. logits_prefill: one forward over "
    "all tokens (use_cache=False). logits_decode: tokens fed one at a time with a DynamicCache(config=...) "
    "(use_cache=True, positions 0..T-1). RoPE is HF's rotate_half layout (pairs (i, i+head_dim/2)); q/k "
    "projections are stored in HF order (no permutation). Attention scale = head_dim**-0.5."
)

# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def make_config(case, override=None):
    kw = copy.deepcopy(case["cfg"])
    if override:
        kw.update(override)
    cfg = CONFIG_CLASSES[case["family"]](**kw)
    return cfg


def new_model(cfg):
    torch.manual_seed(0)  # HF init (immediately overwritten) -- seeded anyway
    m = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager", dtype=torch.float32)
    return m.eval()


@torch.no_grad()
def randomize(model, seed):
    """Overwrite every parameter with a seeded, well-conditioned random value."""
    g = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():  # tied params are yielded once
        shape = p.shape
        if name.endswith("norm.weight"):
            v = 1.0 + 0.25 * torch.randn(shape, generator=g)
        elif name.endswith(".bias"):
            v = 0.2 * torch.randn(shape, generator=g)
        elif "embed_tokens" in name:
            v = 0.4 * torch.randn(shape, generator=g)
        elif p.dim() == 2:
            v = torch.randn(shape, generator=g) / math.sqrt(shape[1])
        else:
            raise RuntimeError(f"unexpected parameter {name} {tuple(shape)}")
        p.copy_(v.to(p.dtype))


@torch.no_grad()
def prefill_logits(model, tokens):
    m = copy.deepcopy(model)  # fresh rotary state (dynamic rope is stateful)
    ids = torch.tensor([tokens], dtype=torch.long)
    return m(input_ids=ids, use_cache=False).logits[0].float()


@torch.no_grad()
def decode_logits(model, tokens, cache_config=True):
    m = copy.deepcopy(model)
    cache = DynamicCache(config=m.config) if cache_config else DynamicCache()
    rows = []
    for t in range(len(tokens)):
        ids = torch.tensor([[tokens[t]]], dtype=torch.long)
        out = m(input_ids=ids, past_key_values=cache, use_cache=True)
        cache = out.past_key_values
        rows.append(out.logits[0, -1].float())
    return torch.stack(rows)


@torch.no_grad()
def prefix_prefill_last_logits(model, tokens):
    rows = []
    for t in range(len(tokens)):
        rows.append(prefill_logits(model, tokens[: t + 1])[-1])
    return torch.stack(rows)


def maxdiff(a, b):
    return float((a - b).abs().max().item())


def fmt_rows(x):
    # repr() of the python float holding the exact float32 value: parses back bit-exactly.
    return "[\n" + ",\n".join("  [" + ",".join(repr(float(v)) for v in row) + "]" for row in x.tolist()) + "\n]"


def write_reference(path, meta, matrices):
    parts = []
    for k, v in meta.items():
        parts.append(json.dumps(k) + ": " + json.dumps(v))
    for k, v in matrices.items():
        parts.append(json.dumps(k) + ": " + fmt_rows(v))
    with open(path, "w") as f:
        f.write("{\n" + ",\n".join(parts) + "\n}\n")


def folder_size(d):
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))


def to_v4_config(c):
    """Rewrite a transformers-5 config dict into the layout transformers 4.4x wrote."""
    out = {}
    rp = dict(c.get("rope_parameters") or {})
    for k, v in c.items():
        if k == "rope_parameters":
            continue
        if k == "dtype":
            out["torch_dtype"] = v
            continue
        out[k] = v
    out["rope_theta"] = rp.pop("rope_theta")
    out["rope_scaling"] = rp if rp.get("rope_type", "default") != "default" else None
    out["transformers_version"] = "4.46.0"
    return dict(sorted(out.items()))


def tensor_inventory(path):
    inv = {}
    with safe_open(path, "pt") as f:
        for k in f.keys():
            sl = f.get_slice(k)
            inv[k] = [sl.get_dtype(), list(sl.get_shape())]
    return inv


# --------------------------------------------------------------------------------------------------
# Build one case
# --------------------------------------------------------------------------------------------------


def build(case):
    name = case["name"]
    d = os.path.join(OUT, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)

    cfg = make_config(case)
    model = new_model(cfg)
    randomize(model, case["seed"])

    store_dtype = DTYPES[case["dtype"]]
    if store_dtype != torch.float32:
        model = model.to(store_dtype)
    model.save_pretrained(d, safe_serialization=True)
    gen = os.path.join(d, "generation_config.json")
    if os.path.exists(gen):
        os.remove(gen)

    # Reference model: a fresh float32 model of the same config, loaded with a float32 copy of the
    # (possibly rounded) stored weights. Built independently of from_pretrained so that the final
    # from_pretrained check is a real round-trip test.
    ref = new_model(make_config(case))
    sd = {k: v.detach().to(torch.float32) for k, v in model.state_dict().items()}
    missing, unexpected = ref.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not (k == "lm_head.weight" and cfg.tie_word_embeddings)]
    assert not missing and not unexpected, (missing, unexpected)
    if cfg.tie_word_embeddings:
        assert ref.lm_head.weight.data_ptr() == ref.model.embed_tokens.weight.data_ptr()
    del model

    if case.get("v4config"):
        p = os.path.join(d, "config.json")
        c = json.load(open(p))
        with open(p, "w") as f:
            f.write(json.dumps(to_v4_config(c), indent=2, sort_keys=True) + "\n")

    g = torch.Generator().manual_seed(case["seed"] * 7919 + 17)
    tokens = torch.randint(0, cfg.vocab_size, (case["T"],), generator=g).tolist()

    lp = prefill_logits(ref, tokens)
    ld = decode_logits(ref, tokens)
    diff = maxdiff(lp, ld)

    checks = {}
    notes = [NOTES_COMMON, case["desc"] + "."]
    if case["dtype"] != "F32":
        notes.append(
            f"Weights stored as {case['dtype']}; reference computed in float32 from the upcast stored "
            "(rounded) weights. config.json 'dtype' records the storage dtype."
        )
    if cfg.tie_word_embeddings:
        notes.append("tie_word_embeddings=true: the file has no lm_head.weight; logits use model.embed_tokens.weight.")
    if case["family"] == "qwen3":
        notes.append("Qwen3: q_norm/k_norm are RMSNorm over head_dim applied per head after projection, before RoPE.")
    if case["family"] == "qwen2":
        notes.append("Qwen2: q/k/v projections have bias, o_proj and MLP do not; config has no attention_bias key.")
    if case.get("v4config"):
        notes.append(
            "config.json here is NOT what transformers 5 writes: it was rewritten to the 4.x layout "
            "(rope_theta top-level, rope_scaling dict, torch_dtype). transformers "
            f"{transformers.__version__} from_pretrained on this folder reproduces the reference."
        )

    if case.get("baseline_rope"):
        base_cfg = make_config(case, {"rope_scaling": None})
        base = new_model(base_cfg)
        base.load_state_dict(sd, strict=False)
        checks["max_abs_diff_prefill_vs_unscaled_rope"] = maxdiff(lp, prefill_logits(base, tokens))
        notes.append(
            "max_abs_diff_prefill_vs_unscaled_rope compares against the same weights with plain RoPE "
            "(same rope_theta): non-zero means the scaling changes the result."
        )
    if case.get("baseline_window"):
        base = new_model(make_config(case, {"sliding_window": None}))
        base.load_state_dict(sd, strict=False)
        full = prefill_logits(base, tokens)
        per_pos = (lp - full).abs().amax(dim=1).tolist()
        checks["max_abs_diff_prefill_vs_no_window"] = maxdiff(lp, full)
        checks["per_position_max_abs_diff_vs_no_window"] = per_pos
        checks["max_abs_diff_decode_plain_dynamiccache"] = maxdiff(lp, decode_logits(ref, tokens, cache_config=False))
        notes.append(
            "Sliding window (eager): HF masks with kv_idx > q_idx - sliding_window, i.e. query at position p "
            "attends to positions max(0, p-W+1)..p (W=4 tokens including itself). Positions < W are identical to "
            "full attention (per_position_max_abs_diff_vs_no_window is 0 there). In decode, "
            "DynamicCache(config=...) builds DynamicSlidingWindowLayer which keeps only the last W-1 keys/values; "
            "a plain DynamicCache() keeps everything and the mask alone enforces the window - both give the same "
            "logits (max_abs_diff_decode_plain_dynamiccache)."
        )
    extra = {}
    if case.get("dynamic"):
        pp = prefix_prefill_last_logits(ref, tokens)
        extra["logits_prefill_prefix_last"] = pp
        checks["max_abs_diff_decode_vs_prefix_prefill_last"] = maxdiff(ld, pp)
        checks["per_position_abs_diff_prefill_vs_decode"] = (lp - ld).abs().amax(dim=1).tolist()
        mp = cfg.max_position_embeddings
        notes.append(
            "Dynamic NTK: HF recomputes inv_freq at every forward from seq_len = max(position_ids)+1: if "
            f"seq_len > max_position_embeddings ({mp}) base' = rope_theta * (factor*seq_len/max_pos - (factor-1))"
            "**(head_dim/(head_dim-2)), else the original inv_freq. Prefill over all 12 tokens therefore "
            "rotates EVERY position (also 0..7) with the seq_len=12 frequencies. In decode each step uses "
            "seq_len = its own position+1, so steps 0..7 use the unscaled frequencies and steps 8..11 use "
            "base'(9..12); keys already in the cache keep the rotation they got when they were written (HF "
            "does not re-rotate the cache). Hence logits_decode != logits_prefill from position 1 on (position 0 "
            "is unrotated; prefill used scaled freqs everywhere) - this is HF's actual behaviour, not an error; "
            "max_abs_diff_prefill_decode is large for this case by design. logits_prefill_prefix_last[t] = "
            "last-row logits of a fresh prefill over tokens[0..t] (equal to decode up to ~1e-6 for t < max_pos, "
            "differs for t >= max_pos because of the cached-key rotation). HF's rotary module is stateful (max_seq_len_cached); every "
            "reference here was computed on a fresh copy of the model."
        )
    if case["name"] == "llama_yarn":
        notes.append(
            "YaRN: inv_freq blended between interpolation (1/factor) and extrapolation using beta_fast=32, "
            "beta_slow=1, truncate=true against original_max_position_embeddings; cos/sin are multiplied by "
            "attention_factor = 0.1*ln(factor)+1 (scales q.k by its square)."
        )
    if case["name"] == "llama_linear_scaling":
        notes.append(
            "Legacy key 'type' was given; transformers 5 writes rope_parameters with both 'type' and 'rope_type'. "
            "Linear: position ids are divided by factor (inv_freq / factor)."
        )
    if case["name"].startswith("llama3_rope_scaling"):
        notes.append(
            "llama3 scaling: wavelen = 2*pi/inv_freq; wavelen < orig/high_freq_factor keep; wavelen > "
            "orig/low_freq_factor divide by factor; otherwise smooth = (orig/wavelen - low)/(high - low), "
            "inv = (1-smooth)*inv/factor + smooth*inv."
        )

    meta = {
        "case": name,
        "family": case["family"],
        "architecture": type(ref).__name__,
        "weights_dtype": case["dtype"],
        "description": case["desc"],
        "versions": VERSIONS,
        "seed": case["seed"],
        "tokens": tokens,
        "vocab_size": cfg.vocab_size,
        "max_abs_diff_prefill_decode": diff,
        "checks": checks,
        "notes": " ".join(notes),
    }
    mats = {"logits_prefill": lp, "logits_decode": ld}
    mats.update(extra)
    write_reference(os.path.join(d, "reference.json"), meta, mats)

    size = folder_size(d)
    print(f"  {name:32s} {case['dtype']:4s} T={len(tokens):2d} V={cfg.vocab_size:3d} "
          f"|prefill-decode|={diff:.3g} size={size/1024:.1f} KiB "
          + " ".join(f"{k}={v:.3g}" for k, v in checks.items() if isinstance(v, float)), flush=True)
    return size


# --------------------------------------------------------------------------------------------------
# Verify (reload with from_pretrained)
# --------------------------------------------------------------------------------------------------


def verify(names):
    print("verify: from_pretrained(folder, dtype=float32, attn_implementation='eager') vs reference.json")
    ok = True
    for name in names:
        d = os.path.join(OUT, name)
        ref = json.load(open(os.path.join(d, "reference.json")))
        m = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").eval()
        tokens = ref["tokens"]
        lp = prefill_logits(m, tokens)
        ld = decode_logits(m, tokens)
        rp = torch.tensor(ref["logits_prefill"], dtype=torch.float32)
        rd = torch.tensor(ref["logits_decode"], dtype=torch.float32)
        e1, e2 = maxdiff(lp, rp), maxdiff(ld, rd)
        # JSON floats must round-trip bit-exactly to float32
        rt = all(np.float32(x) == x for row in ref["logits_prefill"] for x in row)
        inv = tensor_inventory(os.path.join(d, "model.safetensors"))
        want = {"F32": "F32", "F16": "F16", "BF16": "BF16"}[ref["weights_dtype"]]
        dt_ok = all(v[0] == want for v in inv.values())
        good = e1 <= 1e-6 and e2 <= 1e-6 and rt and dt_ok
        ok &= good
        print(f"  {'OK ' if good else 'BAD'} {name:32s} reload-vs-ref prefill={e1:.3g} decode={e2:.3g} "
              f"|prefill-decode|={ref['max_abs_diff_prefill_decode']:.3g} tensors={len(inv)} dtype={want}"
              f"{'' if dt_ok else ' (DTYPE MISMATCH)'}", flush=True)
    return ok


def write_index(sizes):
    entries = []
    for case in CASES:
        d = os.path.join(OUT, case["name"])
        if not os.path.isdir(d):
            continue
        c = json.load(open(os.path.join(d, "config.json")))
        ref = json.load(open(os.path.join(d, "reference.json")))
        entries.append({
            "name": case["name"],
            "family": case["family"],
            "architecture": c["architectures"][0],
            "dtype": case["dtype"],
            "description": case["desc"],
            "tokens": len(ref["tokens"]),
            "vocab_size": c["vocab_size"],
            "tied": c.get("tie_word_embeddings", False),
            "max_abs_diff_prefill_decode": ref["max_abs_diff_prefill_decode"],
            "prefill_decode_should_match": not case.get("dynamic", False),
            "bytes": folder_size(d),
        })
    index = {
        "generator": "tools/make_e2e.py",
        "versions": VERSIONS,
        "files": ["config.json", "model.safetensors", "reference.json"],
        "cases": entries,
    }
    with open(os.path.join(OUT, "index.json"), "w") as f:
        f.write(json.dumps(index, indent=2) + "\n")


def main(argv):
    verify_only = "--verify" in argv
    only = [a for a in argv if not a.startswith("--")]
    known = {c["name"] for c in CASES}
    for a in only:
        if a not in known:
            sys.exit(f"unknown case {a}; known: {sorted(known)}")
    selected = [c for c in CASES if not only or c["name"] in only]
    print(f"make_e2e: torch {torch.__version__}, transformers {transformers.__version__}, out={OUT}")
    os.makedirs(OUT, exist_ok=True)
    if not verify_only:
        sizes = {}
        for case in selected:
            sizes[case["name"]] = build(case)
        write_index(sizes)
    ok = verify([c["name"] for c in selected])
    total = sum(folder_size(os.path.join(OUT, c["name"])) for c in CASES if os.path.isdir(os.path.join(OUT, c["name"])))
    print(f"total size of case folders: {total/1024:.1f} KiB")
    if not ok:
        sys.exit("verification FAILED")
    print("all OK")


if __name__ == "__main__":
    main(sys.argv[1:])
