"""Shared pieces of the tiny-fortunes pipeline.

Only the Python standard library and PyTorch are used here, so that this
module works both with Debian's ``python3-torch`` (1.13, ``/usr/bin/python3``)
and with a newer pip-installed PyTorch.

Contents:
  * ``Qwen3Config`` dict  - ``make_config`` writes a Hugging Face ``config.json``
  * ``Qwen3ForCausalLM``  - plain PyTorch re-implementation of HF modeling_qwen3
  * ``save_safetensors`` / ``load_safetensors`` - minimal safetensors I/O
"""

import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

from corpus import EOT, FORTUNE_DIR, read_fortunes  # noqa: F401


# --------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------
DEFAULT_ARCH = dict(
    vocab_size=4096,
    hidden_size=256,
    intermediate_size=768,
    num_hidden_layers=4,
    num_attention_heads=8,
    num_key_value_heads=4,
    head_dim=32,
    max_position_embeddings=512,
    rope_theta=10000.0,
    rms_norm_eps=1e-6,
)


def make_config(arch, bos_token_id, eos_token_id, torch_dtype="float32"):
    """config.json in the form Hugging Face's Qwen3Config (transformers 4.5x) writes it
    (same field set as Qwen/Qwen3-0.6B's config.json)."""
    n = arch["num_hidden_layers"]
    return {
        "architectures": ["Qwen3ForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": bos_token_id,
        "eos_token_id": eos_token_id,
        "head_dim": arch["head_dim"],
        "hidden_act": "silu",
        "hidden_size": arch["hidden_size"],
        "initializer_range": 0.02,
        "intermediate_size": arch["intermediate_size"],
        "layer_types": ["full_attention"] * n,
        "max_position_embeddings": arch["max_position_embeddings"],
        "max_window_layers": n,
        "model_type": "qwen3",
        "num_attention_heads": arch["num_attention_heads"],
        "num_hidden_layers": n,
        "num_key_value_heads": arch["num_key_value_heads"],
        "rms_norm_eps": arch["rms_norm_eps"],
        "rope_scaling": None,
        "rope_theta": arch["rope_theta"],
        "sliding_window": None,
        "tie_word_embeddings": True,
        "torch_dtype": torch_dtype,
        "transformers_version": "4.51.0",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": arch["vocab_size"],
    }


# --------------------------------------------------------------------------
# Model (semantics of transformers/models/qwen3/modeling_qwen3.py)
# --------------------------------------------------------------------------
class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        dt = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dt)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.nh = c["num_attention_heads"]
        self.nkv = c["num_key_value_heads"]
        self.hd = c["head_dim"]
        hs = c["hidden_size"]
        self.q_proj = nn.Linear(hs, self.nh * self.hd, bias=False)
        self.k_proj = nn.Linear(hs, self.nkv * self.hd, bias=False)
        self.v_proj = nn.Linear(hs, self.nkv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.nh * self.hd, hs, bias=False)
        self.q_norm = RMSNorm(self.hd, c["rms_norm_eps"])
        self.k_norm = RMSNorm(self.hd, c["rms_norm_eps"])
        self.scaling = self.hd ** -0.5

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_norm(self.q_proj(x).view(B, T, self.nh, self.hd)).transpose(1, 2)
        k = self.k_norm(self.k_proj(x).view(B, T, self.nkv, self.hd)).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.nh // self.nkv
        if rep > 1:
            k = k[:, :, None].expand(B, self.nkv, rep, T, self.hd).reshape(B, self.nh, T, self.hd)
            v = v[:, :, None].expand(B, self.nkv, rep, T, self.hd).reshape(B, self.nh, T, self.hd)
        att = torch.matmul(q, k.transpose(2, 3)) * self.scaling + mask
        att = F.softmax(att, dim=-1, dtype=torch.float32).to(q.dtype)
        y = torch.matmul(att, v).transpose(1, 2).reshape(B, T, self.nh * self.hd)
        return self.o_proj(y)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        hs, im = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = nn.Linear(hs, im, bias=False)
        self.up_proj = nn.Linear(hs, im, bias=False)
        self.down_proj = nn.Linear(im, hs, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = Attention(c)
        self.mlp = MLP(c)
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Qwen3Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([DecoderLayer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


class Qwen3ForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.model = Qwen3Model(c)
        hd = c["head_dim"]
        inv_freq = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float) / hd))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def init_weights(self, std=0.02):
        n = self.config["num_hidden_layers"]
        for name, p in self.named_parameters():
            if name.endswith("norm.weight"):
                nn.init.ones_(p)
            elif name.endswith("o_proj.weight") or name.endswith("down_proj.weight"):
                nn.init.normal_(p, 0.0, std / math.sqrt(2 * n))  # GPT-2 style residual scaling
            else:
                nn.init.normal_(p, 0.0, std)

    def forward(self, ids):
        B, T = ids.shape
        pos = torch.arange(T, dtype=torch.float)
        freqs = pos[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()  # (T, hd), broadcast over (B, H, T, hd)
        mask = torch.full((T, T), float("-inf")).triu(1)
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x, cos, sin, mask)
        x = self.model.norm(x)
        return F.linear(x, self.model.embed_tokens.weight)  # tied lm_head


# --------------------------------------------------------------------------
# safetensors (written by hand: the package is not available for Debian's python)
# --------------------------------------------------------------------------
_DT = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16"}
_DT_INV = {v: k for k, v in _DT.items()}


def save_safetensors(tensors, path, metadata=None):
    header = {}
    blobs = []
    off = 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        if t.dtype == torch.bfloat16:
            data = t.view(torch.int16).numpy().tobytes()
        else:
            data = t.numpy().tobytes()
        header[name] = {"dtype": _DT[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    if metadata:
        header["__metadata__"] = metadata
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            a, b = info["data_offsets"]
            f.seek(base + a)
            buf = bytearray(f.read(b - a))
            dt = _DT_INV[info["dtype"]]
            if dt == torch.bfloat16:
                t = torch.frombuffer(buf, dtype=torch.int16).view(torch.bfloat16)
            else:
                t = torch.frombuffer(buf, dtype=dt)
            out[name] = t.reshape(info["shape"]).clone()
    return out


def hf_state_dict(model, dtype=torch.float32):
    """Model weights under Hugging Face names (lm_head.weight omitted: tied)."""
    return {k: v.to(dtype) for k, v in model.state_dict().items()
            if k.startswith("model.")}
