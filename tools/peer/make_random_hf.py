#!/usr/bin/env python3
"""Writes a random-weight Hugging Face model folder with Qwen3-0.6B's block shapes, the twin of the GGUF files
that ../shared/tools/llama-cpp-peer.sh makes for llama.cpp, so that `tfx bench` and `llama-bench` time the same
shapes: hidden 1024, 28 layers, 16 heads / 8 kv heads of 128, FFN 3072, vocab 32000, tied embeddings,
rope theta 1e6, rms eps 1e-6. Weights are N(0, 0.02); norms are 1. No tokenizer (tfx bench needs none).

    python3 tools/peer/make_random_hf.py OUT_DIR [bf16|f16|f32]

Needs only numpy (the safetensors file is written by hand).
"""
import json
import os
import struct
import sys

import numpy as np

HIDDEN, LAYERS, HEADS, KV_HEADS, HEAD_DIM, FFN, VOCAB = 1024, 28, 16, 8, 128, 3072, 32000


def to_bf16_bytes(a):
    u = a.astype(np.float32).view(np.uint32)
    u = u + 0x7FFF + ((u >> 16) & 1)  # round to nearest even
    return (u >> 16).astype(np.uint16).tobytes()


def main():
    out, kind = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "bf16")
    assert kind in ("bf16", "f16", "f32"), kind
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(0)
    tensors = []

    def add(name, shape, norm=False):
        a = np.ones(shape, np.float32) if norm else rng.standard_normal(shape, dtype=np.float32) * 0.02
        data = {"bf16": to_bf16_bytes, "f16": lambda v: v.astype(np.float16).tobytes(), "f32": np.ndarray.tobytes}[kind](a)
        tensors.append((name, kind.upper(), list(shape), data))

    add("model.embed_tokens.weight", (VOCAB, HIDDEN))
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        add(p + "input_layernorm.weight", (HIDDEN,), norm=True)
        add(p + "post_attention_layernorm.weight", (HIDDEN,), norm=True)
        add(p + "self_attn.q_proj.weight", (HEADS * HEAD_DIM, HIDDEN))
        add(p + "self_attn.k_proj.weight", (KV_HEADS * HEAD_DIM, HIDDEN))
        add(p + "self_attn.v_proj.weight", (KV_HEADS * HEAD_DIM, HIDDEN))
        add(p + "self_attn.o_proj.weight", (HIDDEN, HEADS * HEAD_DIM))
        add(p + "self_attn.q_norm.weight", (HEAD_DIM,), norm=True)
        add(p + "self_attn.k_norm.weight", (HEAD_DIM,), norm=True)
        add(p + "mlp.gate_proj.weight", (FFN, HIDDEN))
        add(p + "mlp.up_proj.weight", (FFN, HIDDEN))
        add(p + "mlp.down_proj.weight", (HIDDEN, FFN))
    add("model.norm.weight", (HIDDEN,), norm=True)

    header, offset = {}, 0
    for name, dt, shape, data in tensors:
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    hb = json.dumps(header).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for _, _, _, data in tensors:
            f.write(data)
    config = {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "vocab_size": VOCAB,
              "hidden_size": HIDDEN, "intermediate_size": FFN, "num_hidden_layers": LAYERS,
              "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS, "head_dim": HEAD_DIM,
              "hidden_act": "silu", "max_position_embeddings": 40960, "rms_norm_eps": 1e-6, "rope_theta": 1e6,
              "rope_scaling": None, "tie_word_embeddings": True, "attention_bias": False,
              "torch_dtype": {"bf16": "bfloat16", "f16": "float16", "f32": "float32"}[kind], "bos_token_id": 1, "eos_token_id": 2}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    print(out, f"{offset / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
