#!/usr/bin/env python3
"""Generate tiny random Hugging Face checkpoints + reference logits for tfx's C++ end-to-end tests.

    python3 tools/make_e2e.py            # regenerate tests/data/e2e/* and verify
    python3 tools/make_e2e.py --verify   # only re-check the committed folders against reference.json
    python3 tools/make_e2e.py CASE ...   # regenerate only the named cases (index.json is rewritten)

Every case folder `tests/data/e2e/<case>/` holds:
  config.json        exactly as `save_pretrained` writes it, except where a case rewrites it on purpose
                     (*_v4config, gpt2_minimal_config, *_no_head_dim: see their notes)
  model.safetensors  exactly as `save_pretrained(safe_serialization=True)` writes it, except where a case
                     rewrites the tensor names/layout on purpose (gpt2_noprefix_f16, qwen3_moe_fused_experts_f32)
  reference.json     tokens, logits_prefill [T][V], logits_decode [T][V], diagnostics, HF versions

Nothing is downloaded: configs are built in code, weights are random (seeded) and then overwritten with
a seeded, better-conditioned distribution (HF's default init gives near-uniform attention, unit norm
weights and zero biases, which would make the tests blind to many bugs).

Reference logits are produced by Hugging Face's own modeling code (eager attention, float32 compute,
one CPU thread). For F16/BF16 cases the model is rounded to the storage dtype, saved, and the reference
is computed from a float32 copy of the ROUNDED weights, i.e. exactly what the file holds, computed in f32.
Mixed-precision cases (llama_bf16_f32norms, qwen2_f16_f32bias) keep some tensors in F32 in the same file.
The reference model is always loaded from the tensors read back from the written model.safetensors (mapped
back to the module names where a case rewrote the file), so it sees exactly the stored values.

Requirements: torch, transformers (>= 5, which writes `rope_parameters`/`dtype`), safetensors, numpy.
"""

import copy
import json
import math
import os
import platform
import re
import shutil
import sys
import warnings

import numpy as np
import torch
import safetensors
import transformers
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    DynamicCache,
    GPT2Config,
    LlamaConfig,
    MistralConfig,
    Qwen2Config,
    Qwen3Config,
    Qwen3MoeConfig,
)

torch.set_num_threads(1)
warnings.filterwarnings("ignore", message=".*past_key_values.*is deprecated", category=FutureWarning)
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
    "gpt2": GPT2Config,
    "qwen3_moe": Qwen3MoeConfig,
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
    # ---------------------------------------------------------------------------------------------- GPT-2
    dict(
        name="gpt2_f32", family="gpt2", dtype="F32", seed=501, T=10,
        desc="GPT-2: n_embd 24, 4 heads (head_dim 6), 2 layers, gelu_new, n_inner null (4*24 = 96), learned "
             "positions (n_positions 32), tied lm_head; names as save_pretrained writes them (transformer.*)",
        cfg=dict(vocab_size=119, n_embd=24, n_head=4, n_layer=2, n_positions=32, activation_function="gelu_new",
                 bos_token_id=118, eos_token_id=118),
    ),
    dict(
        name="gpt2_noprefix_f16", family="gpt2", dtype="F16", seed=502, T=9,
        desc="GPT-2 stored as F16, activation 'gelu' (exact erf GELU), tensor names WITHOUT the 'transformer.' "
             "prefix (wte.weight, h.0.attn.c_attn.weight, ... as GPT2Model checkpoints are), no lm_head.weight",
        strip_prefix="transformer.",
        baselines={"gelu_new": {"activation_function": "gelu_new"}},
        cfg=dict(vocab_size=127, n_embd=32, n_head=4, n_layer=2, n_positions=32, activation_function="gelu",
                 bos_token_id=126, eos_token_id=126),
    ),
    dict(
        name="gpt2_bf16_relu_odd", family="gpt2", dtype="BF16", seed=503, T=11,
        desc="GPT-2 stored as BF16, relu, odd n_inner 37, 3 layers, n_embd 30 / 5 heads (head_dim 6), "
             "scale_attn_by_inverse_layer_idx true (layer l scores scaled by head_dim**-0.5 / (l+1))",
        baselines={"no_inverse_layer_idx": {"scale_attn_by_inverse_layer_idx": False}},
        cfg=dict(vocab_size=113, n_embd=30, n_head=5, n_layer=3, n_positions=32, n_inner=37,
                 activation_function="relu", scale_attn_by_inverse_layer_idx=True, bos_token_id=112, eos_token_id=112),
    ),
    dict(
        name="gpt2_noscale_tanh", family="gpt2", dtype="F32", seed=504, T=10,
        desc="GPT-2 with scale_attn_weights false (scores NOT divided by sqrt(head_dim)), activation "
             "gelu_pytorch_tanh, layer_norm_epsilon 1e-3, n_embd 24 / 3 heads (head_dim 8)",
        baselines={"scale_attn_weights_true": {"scale_attn_weights": True},
                   "layer_norm_epsilon_1e-5": {"layer_norm_epsilon": 1e-5},
                   "gelu_erf": {"activation_function": "gelu"}},
        cfg=dict(vocab_size=101, n_embd=24, n_head=3, n_layer=2, n_positions=32,
                 activation_function="gelu_pytorch_tanh", scale_attn_weights=False, layer_norm_epsilon=1e-3,
                 bos_token_id=100, eos_token_id=100),
    ),
    dict(
        name="gpt2_minimal_config", family="gpt2", dtype="F32", seed=505, T=8,
        desc="GPT-2 whose config.json has ONLY model_type, vocab_size, n_embd, n_layer, n_head, n_positions: "
             "GPT2Config defaults apply (n_inner 4*n_embd = 64, gelu_new, layer_norm_epsilon 1e-5, "
             "scale_attn_weights true, tie_word_embeddings true; no 'architectures' key; bos/eos default to 50256, "
             "outside this vocabulary)",
        config_only=["model_type", "vocab_size", "n_embd", "n_layer", "n_head", "n_positions"],
        cfg=dict(vocab_size=97, n_embd=16, n_head=2, n_layer=2, n_positions=16),
    ),
    # ------------------------------------------------------------------------------------------ Qwen3-MoE
    dict(
        name="qwen3_moe_top2_f32", family="qwen3_moe", dtype="F32", seed=657, T=10,
        desc="Qwen3-MoE: every layer sparse, 4 experts top-2, norm_topk_prob false (weights are the raw softmax "
             "probs), moe_intermediate_size 12, explicit head_dim 12 (hidden 32 / 4 heads), GQA 4/2, untied; "
             "per-expert tensors as save_pretrained writes them",
        cfg=dict(vocab_size=131, hidden_size=32, intermediate_size=40, moe_intermediate_size=12, num_experts=4,
                 num_experts_per_tok=2, norm_topk_prob=False, decoder_sparse_step=1, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, head_dim=12, max_position_embeddings=64,
                 rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=False),
    ),
    dict(
        name="qwen3_moe_fused_experts_f32", family="qwen3_moe", dtype="F32", seed=657, T=10,
        desc="Same config, weights, tokens and reference as qwen3_moe_top2_f32, but the experts stored fused "
             "(transformers' in-memory layout): mlp.experts.gate_up_proj [E, 2*I, H] (gate rows first, then up) "
             "and mlp.experts.down_proj [E, H, I], no '.weight' suffix",
        experts_layout="fused",
        cfg=dict(vocab_size=131, hidden_size=32, intermediate_size=40, moe_intermediate_size=12, num_experts=4,
                 num_experts_per_tok=2, norm_topk_prob=False, decoder_sparse_step=1, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, head_dim=12, max_position_embeddings=64,
                 rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=False),
    ),
    dict(
        name="qwen3_moe_top1_bf16", family="qwen3_moe", dtype="BF16", seed=756, T=9,
        desc="Qwen3-MoE stored as BF16: 4 experts top-1 with norm_topk_prob true (the one weight is p/p = 1), "
             "moe_intermediate_size 10, MQA 3/1, head_dim 16 (hidden 24), tied embeddings",
        cfg=dict(vocab_size=109, hidden_size=24, intermediate_size=30, moe_intermediate_size=10, num_experts=4,
                 num_experts_per_tok=1, norm_topk_prob=True, num_hidden_layers=2, num_attention_heads=3,
                 num_key_value_heads=1, head_dim=16, max_position_embeddings=64, rms_norm_eps=1e-6,
                 rope_theta=1000000.0, tie_word_embeddings=True),
    ),
    dict(
        name="qwen3_moe_mixed_f16", family="qwen3_moe", dtype="F16", seed=603, T=10,
        desc="Qwen3-MoE stored as F16, 3 layers with decoder_sparse_step 2 and mlp_only_layers [2]: layer 0 dense "
             "(intermediate_size 28), layer 1 sparse (5 experts top-3, moe_intermediate_size 8, norm_topk_prob "
             "true), layer 2 dense (by the step rule alone already: (2+1) % 2 != 0; qwen3_moe_mlp_only_f32 is the "
             "case where mlp_only_layers decides); 2/1 heads, head_dim 10 (hidden 24)",
        cfg=dict(vocab_size=97, hidden_size=24, intermediate_size=28, moe_intermediate_size=8, num_experts=5,
                 num_experts_per_tok=3, norm_topk_prob=True, decoder_sparse_step=2, mlp_only_layers=[2],
                 num_hidden_layers=3, num_attention_heads=2, num_key_value_heads=1, head_dim=10,
                 max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=False),
    ),
    dict(
        name="qwen3_moe_mlp_only_f32", family="qwen3_moe", dtype="F32", seed=625, T=8,
        desc="Qwen3-MoE with decoder_sparse_step 1 and mlp_only_layers [0]: layer 0 dense (intermediate_size 24), "
             "layer 1 sparse (3 experts top-2, norm_topk_prob false, moe_intermediate_size 8); 2/1 heads, head_dim 8",
        cfg=dict(vocab_size=89, hidden_size=16, intermediate_size=24, moe_intermediate_size=8, num_experts=3,
                 num_experts_per_tok=2, norm_topk_prob=False, decoder_sparse_step=1, mlp_only_layers=[0],
                 num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, head_dim=8,
                 max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=False),
    ),
    dict(
        name="qwen3_moe_no_head_dim", family="qwen3_moe", dtype="F32", seed=661, T=9,
        desc="Qwen3-MoE config.json without head_dim (Qwen3MoeConfig has no such field: attention uses "
             "hidden_size // num_attention_heads = 40 // 4 = 10) and with the expert count under the published "
             "checkpoints' key 'num_experts' (transformers 5 writes 'num_local_experts'); 4 experts top-2, "
             "norm_topk_prob true, GQA 4/2",
        config_rename={"num_local_experts": "num_experts"},
        cfg=dict(vocab_size=103, hidden_size=40, intermediate_size=48, moe_intermediate_size=10, num_experts=4,
                 num_experts_per_tok=2, norm_topk_prob=True, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=1000000.0,
                 tie_word_embeddings=False),
    ),
    # ---------------------------------------------------------------------------------- mixed precision
    dict(
        name="llama_bf16_f32norms", family="llama", dtype="BF16", seed=115, T=10,
        desc="Llama GQA 4/2, head_dim 8: embedding and projection matrices stored as BF16 but the RMSNorm weights "
             "(input_layernorm, post_attention_layernorm, model.norm) stored as F32 with values not representable "
             "in BF16",
        keep_f32=r"norm\.weight$",
        cfg=llama(vocab_size=127, hidden_size=32, intermediate_size=45, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=10000.0),
    ),
    dict(
        name="qwen2_f16_f32bias", family="qwen2", dtype="F16", seed=203, T=10,
        desc="Qwen2: matrices stored as F16, q/k/v biases (std 1.0, 5x the other cases) and RMSNorm weights "
             "stored as F32, untied, GQA 4/2, head_dim 8",
        keep_f32=r"(norm\.weight|\.bias)$", bias_std=1.0,
        cfg=dict(vocab_size=113, hidden_size=32, intermediate_size=41, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=1000000.0,
                 tie_word_embeddings=False),
    ),
    # ---------------------------------------------------------------------------------- config defaults
    dict(
        name="qwen3_no_head_dim", family="qwen3", dtype="F32", seed=303, T=9,
        desc="Qwen3 config.json without head_dim, hidden 16 / 2 heads = 8: Qwen3Config's own default head_dim = 128 "
             "applies (NOT hidden/heads), so q_proj is [256, 16], k/v_proj [128, 16], o_proj [16, 256], "
             "q_norm/k_norm [128]",
        config_drop=["head_dim"],
        cfg=dict(vocab_size=97, hidden_size=16, intermediate_size=29, num_hidden_layers=2, num_attention_heads=2,
                 num_key_value_heads=1, max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=1000000.0,
                 tie_word_embeddings=False),
    ),
]

NOTES_COMMON = (
    "Random tiny model, HF eager attention, float32 compute, 1 CPU thread. logits_prefill: one forward over "
    "all tokens (use_cache=False). logits_decode: tokens fed one at a time with a DynamicCache(config=...) "
    "(use_cache=True, positions 0..T-1). RoPE is HF's rotate_half layout (pairs (i, i+head_dim/2)); q/k "
    "projections are stored in HF order (no permutation). Attention scale = head_dim**-0.5."
)

NOTES_GPT2 = (
    "Random tiny model, HF eager attention, float32 compute, 1 CPU thread. logits_prefill: one forward over "
    "all tokens (use_cache=False). logits_decode: tokens fed one at a time with a DynamicCache(config=...) "
    "(use_cache=True, positions 0..T-1). GPT-2: no RoPE; h0 = wte[token] + wpe[position] (learned absolute "
    "positions, position = number of cached tokens + i). Pre-LN blocks: x += c_proj(attn(ln_1(x))); "
    "x += mlp.c_proj(act(mlp.c_fc(ln_2(x)))); logits = ln_f(x) @ wte^T (tied: the file has no lm_head.weight). "
    "LayerNorm has weight and bias, biased variance, eps = layer_norm_epsilon. Conv1D weights are stored "
    "[in, out] and applied as y = x @ W + b (transposed w.r.t. nn.Linear). c_attn.weight is [n_embd, 3*n_embd]: "
    "output columns [0, n_embd) are q, [n_embd, 2*n_embd) k, [2*n_embd, 3*n_embd) v; within each, head h is "
    "columns h*head_dim..(h+1)*head_dim-1; head_dim = n_embd / n_head. Every Conv1D has a bias. Attention "
    "scores are multiplied by scale = (head_dim**-0.5 if scale_attn_weights else 1) / (layer_idx+1 if "
    "scale_attn_by_inverse_layer_idx else 1) (layer_idx from 0); the causal mask is additive (dtype min); "
    "softmax then @ v, heads concatenated, then attn.c_proj. n_inner null means 4*n_embd. save_pretrained "
    "writes no attn.bias / attn.masked_bias buffers (transformers 5 GPT-2 registers no buffers at all) and no "
    "lm_head.weight for a tied model. Older checkpoints (e.g. openai-community/gpt2) carry h.{l}.attn.bias "
    "[1, 1, n_positions, n_positions] causal-mask buffers, which transformers ignores silently on load "
    "(_keys_to_ignore_on_load_unexpected), and some attn.masked_bias scalars, which it reports as unexpected "
    "and skips."
)

NOTES_QWEN3_MOE = (
    "Qwen3-MoE: attention exactly as Qwen3 (q/k/v/o without bias, per-head q_norm/k_norm RMSNorm over head_dim "
    "before RoPE, rotate_half RoPE over the full head_dim, scale head_dim**-0.5). Layer l has a sparse MoE "
    "block iff l not in mlp_only_layers and num_experts > 0 and (l+1) % decoder_sparse_step == 0, else a dense "
    "SwiGLU MLP (mlp.gate_proj/up_proj/down_proj, intermediate_size). Sparse block, per token x (the "
    "post_attention_layernorm output): router_logits = x @ mlp.gate.weight^T (gate.weight is [num_experts, "
    "hidden], no bias); probs = softmax(router_logits) computed in float32 over ALL experts; the top "
    "num_experts_per_tok probs are selected (torch.topk); if norm_topk_prob they are divided by their sum, "
    "else used as they are (they do not sum to 1); the weights are cast to the hidden dtype; "
    "out = sum_k w_k * down_e(silu(gate_e(x)) * up_e(x)) with e the selected experts (no shared expert, no "
    "bias). save_pretrained (transformers 5) writes the experts per expert: "
    "model.layers.{l}.mlp.experts.{e}.gate_proj.weight [I, H], .up_proj.weight [I, H], .down_proj.weight [H, I] "
    "(I = moe_intermediate_size); in memory (and in the fused-layout case) they are "
    "mlp.experts.gate_up_proj [E, 2*I, H] = per expert cat(gate_proj, up_proj) along rows (gate first) and "
    "mlp.experts.down_proj [E, H, I]. config.json as written by transformers 5 names the expert count "
    "'num_local_experts' (Qwen3MoeConfig.attribute_map num_experts -> num_local_experts); published Qwen3-MoE "
    "configs use 'num_experts' - both load in transformers. Qwen3MoeConfig has no head_dim field: without a "
    "head_dim key attention uses hidden_size // num_attention_heads (unlike Qwen3Config, whose default is 128). "
    "The reference uses experts_implementation='eager' (a python loop over the hit experts, accumulating with "
    "index_add_ in expert order); min_router_logit_gap is the smallest difference, over all tokens and sparse "
    "layers in prefill and decode, between the k-th and (k+1)-th largest router logit (so that the expert "
    "selection is far from a tie); expert_hits_prefill counts, per sparse layer, how many prefill tokens chose "
    "each expert."
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


def new_model(cfg, experts_implementation="eager"):
    torch.manual_seed(0)  # HF init (immediately overwritten) -- seeded anyway
    kw = {}
    if cfg.model_type == "qwen3_moe":
        kw["experts_implementation"] = experts_implementation  # the plain per-expert loop, not grouped_mm
    m = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager", dtype=torch.float32, **kw)
    return m.eval()


ROUTER_SCALE = 2.0  # router weights 2/sqrt(hidden): decisive routing, far from top-k ties


@torch.no_grad()
def randomize(model, seed, bias_std=0.2):
    """Overwrite every parameter with a seeded, well-conditioned random value."""
    if model.config.model_type == "gpt2":
        return randomize_gpt2(model, seed)
    g = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():  # tied params are yielded once
        shape = p.shape
        if name.endswith("norm.weight"):
            v = 1.0 + 0.25 * torch.randn(shape, generator=g)
        elif name.endswith(".bias"):
            v = bias_std * torch.randn(shape, generator=g)
        elif "embed_tokens" in name:
            v = 0.4 * torch.randn(shape, generator=g)
        elif name.endswith("mlp.gate.weight"):  # MoE router [num_experts, hidden]
            v = ROUTER_SCALE * torch.randn(shape, generator=g) / math.sqrt(shape[1])
        elif p.dim() == 2:
            v = torch.randn(shape, generator=g) / math.sqrt(shape[1])
        elif p.dim() == 3 and ".mlp.experts." in name:  # fused experts [E, out, in]
            v = torch.randn(shape, generator=g) / math.sqrt(shape[2])
        else:
            raise RuntimeError(f"unexpected parameter {name} {tuple(shape)}")
        p.copy_(v.to(p.dtype))


@torch.no_grad()
def randomize_gpt2(model, seed):
    """GPT-2: LayerNorm weight/bias, Conv1D weights stored [in, out] (fan-in is shape[0])."""
    g = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():
        shape = p.shape
        if ".ln_" in name and name.endswith(".weight"):
            v = 1.0 + 0.25 * torch.randn(shape, generator=g)
        elif name.endswith(".bias"):
            v = 0.2 * torch.randn(shape, generator=g)
        elif name.endswith("wte.weight"):
            v = 0.4 * torch.randn(shape, generator=g)
        elif name.endswith("wpe.weight"):
            v = 0.3 * torch.randn(shape, generator=g)
        elif p.dim() == 2:  # Conv1D [in, out]
            v = torch.randn(shape, generator=g) / math.sqrt(shape[0])
        else:
            raise RuntimeError(f"unexpected parameter {name} {tuple(shape)}")
        p.copy_(v.to(p.dtype))


EXPERT_KEY = re.compile(r"^(.*\.mlp\.experts)\.(\d+)\.(gate|up|down)_proj\.weight$")


def fuse_experts(sd):
    """Per-expert tensors (as save_pretrained writes them) -> transformers' fused gate_up_proj / down_proj."""
    out, per = {}, {}
    for k, v in sd.items():
        m = EXPERT_KEY.match(k)
        if m:
            per.setdefault(m.group(1), {})[(int(m.group(2)), m.group(3))] = v
        else:
            out[k] = v
    for prefix, t in per.items():
        n = 1 + max(e for e, _ in t)
        assert len(t) == 3 * n, (prefix, sorted(t))
        out[prefix + ".gate_up_proj"] = torch.stack([torch.cat([t[(e, "gate")], t[(e, "up")]], 0) for e in range(n)])
        out[prefix + ".down_proj"] = torch.stack([t[(e, "down")] for e in range(n)])
    return out


def file_state_dict(path, model):
    """The tensors of `path`, as float32, under `model`'s parameter names (undoing a case's renaming)."""
    sd = {k: v.to(torch.float32) for k, v in load_file(path).items()}
    if model.config.model_type == "gpt2" and not any(k.startswith("transformer.") for k in sd):
        sd = {("transformer." + k if not k.startswith("lm_head.") else k): v for k, v in sd.items()}
    if model.config.model_type == "qwen3_moe":
        sd = fuse_experts(sd)
    return sd


def rewrite_weights(case, path):
    """Case-specific rewrite of the model.safetensors that save_pretrained wrote (names/layout only, values kept)."""
    if not (case.get("strip_prefix") or case.get("experts_layout") == "fused"):
        return
    sd = load_file(path)
    if case.get("strip_prefix"):
        p = case["strip_prefix"]
        assert all(k.startswith(p) for k in sd), sorted(sd)
        sd = {k.removeprefix(p): v for k, v in sd.items()}
    if case.get("experts_layout") == "fused":
        sd = fuse_experts(sd)
    save_file({k: v.contiguous() for k, v in sd.items()}, path, metadata={"format": "pt"})


def check_file_layout(case, cfg, path):
    """Assert what the written file holds (names, shapes, dtypes) for the families/cases that depend on it."""
    inv = tensor_inventory(path)
    keep = re.compile(case["keep_f32"]) if case.get("keep_f32") else None
    for k, (dt, _) in inv.items():
        want = "F32" if keep is not None and keep.search(k) else case["dtype"]
        assert dt == want, (k, dt, want)
    if keep is not None:
        assert any(v[0] == "F32" for v in inv.values()) and any(v[0] != "F32" for v in inv.values())
    if cfg.tie_word_embeddings:
        assert "lm_head.weight" not in inv
    if case["family"] == "gpt2":
        assert not any(k.endswith((".attn.bias", ".attn.masked_bias")) for k in inv), sorted(inv)
        pre = "" if case.get("strip_prefix") else "transformer."
        E, L, V = cfg.n_embd, cfg.n_layer, cfg.vocab_size
        inner = cfg.n_inner if cfg.n_inner is not None else 4 * E
        want = {pre + "wte.weight": [V, E], pre + "wpe.weight": [cfg.n_positions, E],
                pre + "ln_f.weight": [E], pre + "ln_f.bias": [E]}
        for l in range(L):
            h = f"{pre}h.{l}."
            want.update({h + "ln_1.weight": [E], h + "ln_1.bias": [E], h + "ln_2.weight": [E], h + "ln_2.bias": [E],
                         h + "attn.c_attn.weight": [E, 3 * E], h + "attn.c_attn.bias": [3 * E],
                         h + "attn.c_proj.weight": [E, E], h + "attn.c_proj.bias": [E],
                         h + "mlp.c_fc.weight": [E, inner], h + "mlp.c_fc.bias": [inner],
                         h + "mlp.c_proj.weight": [inner, E], h + "mlp.c_proj.bias": [E]})
        assert {k: v[1] for k, v in inv.items()} == want, sorted(inv.items())
    if case["family"] == "qwen3_moe":
        H, I, E = cfg.hidden_size, cfg.moe_intermediate_size, cfg.num_experts
        for l in range(cfg.num_hidden_layers):
            p = f"model.layers.{l}.mlp."
            sparse = l not in cfg.mlp_only_layers and E > 0 and (l + 1) % cfg.decoder_sparse_step == 0
            if not sparse:
                D = cfg.intermediate_size
                assert inv[p + "gate_proj.weight"][1] == [D, H] and inv[p + "down_proj.weight"][1] == [H, D]
                assert not any(k.startswith(p + "experts") or k.startswith(p + "gate.") for k in inv)
                continue
            assert inv[p + "gate.weight"][1] == [E, H]
            if case.get("experts_layout") == "fused":
                assert inv[p + "experts.gate_up_proj"][1] == [E, 2 * I, H]
                assert inv[p + "experts.down_proj"][1] == [E, H, I]
                assert not any(EXPERT_KEY.match(k) for k in inv)
            else:
                for e in range(E):
                    q = f"{p}experts.{e}."
                    assert inv[q + "gate_proj.weight"][1] == [I, H] and inv[q + "up_proj.weight"][1] == [I, H]
                    assert inv[q + "down_proj.weight"][1] == [H, I]
                assert p + "experts.gate_up_proj" not in inv


def rewrite_config(case, path):
    """Case-specific rewrite of config.json; returns a list of what was done (empty: untouched)."""
    c = json.load(open(path))
    done = []
    if case.get("config_only"):
        c = {k: c[k] for k in case["config_only"]}
        done.append("only the keys " + ", ".join(case["config_only"]) + " kept")
    for k in case.get("config_drop", []):
        del c[k]
        done.append(f"key '{k}' removed")
    for k, new in case.get("config_rename", {}).items():
        c[new] = c.pop(k)
        done.append(f"key '{k}' renamed to '{new}'")
    if done:
        with open(path, "w") as f:
            f.write(json.dumps(c, indent=2, sort_keys=True) + "\n")
    return done


def load_reference(model, sd):
    missing, unexpected = model.load_state_dict(sd, strict=False)
    tied = model.config.tie_word_embeddings
    missing = [k for k in missing if not (k == "lm_head.weight" and tied)]
    assert not missing and not unexpected, (missing, unexpected)
    if tied:
        assert model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    return model


@torch.no_grad()
def router_stats(model, tokens):
    """Smallest gap between the k-th and (k+1)-th router logit (prefill and decode) and prefill expert hits."""
    m = copy.deepcopy(model)
    k = m.config.num_experts_per_tok
    gaps, hits, handles = [], {}, []
    phase = {"prefill": True}

    def hook(name):
        def f(mod, inp, out):
            logits = out[0].float()
            top = logits.topk(min(k + 1, logits.shape[-1]), dim=-1).values
            if top.shape[-1] > k:
                gaps.append(float((top[:, k - 1] - top[:, k]).min()))
            if phase["prefill"]:
                idx = out[2]
                hits[name] = torch.bincount(idx.flatten(), minlength=m.config.num_experts).tolist()
        return f

    for name, mod in m.named_modules():
        if type(mod).__name__.endswith("TopKRouter"):
            handles.append(mod.register_forward_hook(hook(name.removesuffix(".mlp.gate"))))
    m(input_ids=torch.tensor([tokens], dtype=torch.long), use_cache=False)
    phase["prefill"] = False
    cache = DynamicCache(config=m.config)
    for t in tokens:
        m(input_ids=torch.tensor([[t]], dtype=torch.long), past_key_values=cache, use_cache=True)
    for h in handles:
        h.remove()
    return (min(gaps) if gaps else None), hits


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
    randomize(model, case["seed"], bias_std=case.get("bias_std", 0.2))

    store_dtype = DTYPES[case["dtype"]]
    keep = re.compile(case["keep_f32"]) if case.get("keep_f32") else None
    if store_dtype != torch.float32:
        f32 = {n: p.detach().clone() for n, p in model.named_parameters() if keep and keep.search(n)}
        model = model.to(store_dtype)
        for n, p in model.named_parameters():
            if n in f32:
                p.data = f32[n]  # mixed precision: these stay F32 in the file
    model.save_pretrained(d, safe_serialization=True)
    gen = os.path.join(d, "generation_config.json")
    if os.path.exists(gen):
        os.remove(gen)
    wpath = os.path.join(d, "model.safetensors")
    rewrite_weights(case, wpath)
    check_file_layout(case, cfg, wpath)

    cpath = os.path.join(d, "config.json")
    if case.get("v4config"):
        c = json.load(open(cpath))
        with open(cpath, "w") as f:
            f.write(json.dumps(to_v4_config(c), indent=2, sort_keys=True) + "\n")
    rewritten_config = rewrite_config(case, cpath)

    # Reference model: a fresh float32 model of the same config (for a rewritten config.json: of the config
    # transformers reads back from that file), loaded with a float32 copy of the tensors read back from the
    # written model.safetensors. Built independently of from_pretrained so that the final from_pretrained
    # check is a real round-trip test.
    ref_cfg = AutoConfig.from_pretrained(d) if rewritten_config else make_config(case)
    ref = new_model(ref_cfg)
    sd = file_state_dict(wpath, ref)
    msd = model.state_dict()
    for k, v in sd.items():  # the file holds exactly the (rounded) in-memory weights
        assert torch.equal(v, msd[k].to(torch.float32)), k
    load_reference(ref, sd)
    del model, msd

    g = torch.Generator().manual_seed(case["seed"] * 7919 + 17)
    tokens = torch.randint(0, cfg.vocab_size, (case["T"],), generator=g).tolist()

    lp = prefill_logits(ref, tokens)
    ld = decode_logits(ref, tokens)
    diff = maxdiff(lp, ld)

    checks = {}
    notes = [NOTES_GPT2 if case["family"] == "gpt2" else NOTES_COMMON, case["desc"] + "."]
    if case["dtype"] != "F32":
        notes.append(
            f"Weights stored as {case['dtype']}; reference computed in float32 from the upcast stored "
            "(rounded) weights. config.json 'dtype' records the storage dtype."
        )
    if keep is not None:
        n32 = [k for k, v in tensor_inventory(wpath).items() if v[0] == "F32"]
        notes.append(
            f"Mixed precision: the {len(n32)} tensors whose names match /{case['keep_f32']}/ are stored as F32 "
            f"(full float32 values, not {case['dtype']}-representable), all others as {case['dtype']}; the reference "
            f"uses them unrounded. max_abs_diff_prefill_vs_f32_tensors_rounded_to_{case['dtype']} shows what "
            f"rounding them to {case['dtype']} would do to the logits."
        )
    if cfg.tie_word_embeddings and case["family"] != "gpt2":
        notes.append("tie_word_embeddings=true: the file has no lm_head.weight; logits use model.embed_tokens.weight.")
    if case["family"] in ("qwen3", "qwen3_moe"):
        notes.append("Qwen3: q_norm/k_norm are RMSNorm over head_dim applied per head after projection, before RoPE.")
    if case["family"] == "qwen3_moe":
        notes.append(NOTES_QWEN3_MOE)
    if case.get("strip_prefix"):
        notes.append(
            f"model.safetensors was rewritten after save_pretrained: every tensor name lost its "
            f"'{case['strip_prefix']}' prefix (the layout of GPT2Model checkpoints such as openai-community/gpt2); "
            "transformers' from_pretrained loads it into GPT2LMHeadModel unchanged."
        )
    if case.get("experts_layout") == "fused":
        notes.append(
            "model.safetensors was rewritten after save_pretrained: per layer the 3*E per-expert tensors were "
            "replaced by model.layers.{l}.mlp.experts.gate_up_proj [E, 2*I, H] (expert e: rows 0..I-1 = "
            "experts.{e}.gate_proj.weight, rows I..2I-1 = experts.{e}.up_proj.weight) and "
            "model.layers.{l}.mlp.experts.down_proj [E, H, I] (= stacked experts.{e}.down_proj.weight); "
            "transformers' from_pretrained loads it to the same logits."
        )
    if rewritten_config:
        notes.append(
            "config.json was rewritten after save_pretrained ("
            + "; ".join(rewritten_config)
            + "); the reference model was built from the config transformers reads back from this file."
        )
    if case["name"] == "qwen3_no_head_dim":
        assert ref.config.head_dim == 128 and ref.model.layers[0].self_attn.q_proj.weight.shape[0] == 2 * 128
        notes.append(
            "Qwen3Config declares head_dim: int = 128, so an absent head_dim is 128 whatever hidden_size / "
            "num_attention_heads is (Qwen3Attention's getattr(config, 'head_dim', hidden // heads) fallback is "
            "never reached for a Qwen3Config); RoPE and q_norm/k_norm use 128 too, scale = 128**-0.5."
        )
    if case["family"] == "qwen3_moe" and "head_dim" not in json.load(open(cpath)):
        hd = cfg.hidden_size // cfg.num_attention_heads
        assert not hasattr(ref.config, "head_dim") and ref.model.layers[0].self_attn.head_dim == hd
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
    for label, override in case.get("baselines", {}).items():
        base = new_model(make_config(case, override))
        base.load_state_dict(sd, strict=False)
        checks[f"max_abs_diff_prefill_vs_{label}"] = maxdiff(lp, prefill_logits(base, tokens))
    if case.get("baselines"):
        notes.append(
            "max_abs_diff_prefill_vs_<x> compare against the same weights with one config field changed "
            f"({', '.join(f'{k}: {v}' for k, v in case['baselines'].items())}): non-zero means the field matters."
        )
    if keep is not None:
        rounded = {k: (v.to(store_dtype).to(torch.float32) if keep.search(k) else v) for k, v in sd.items()}
        base = load_reference(new_model(ref_cfg), rounded)
        checks[f"max_abs_diff_prefill_vs_f32_tensors_rounded_to_{case['dtype']}"] = maxdiff(
            lp, prefill_logits(base, tokens))
    if case["family"] == "qwen3_moe":
        gap, hits = router_stats(ref, tokens)
        # seeds were picked so that routing is far from ties and every expert of every sparse layer is used
        assert gap >= 0.05 and all(min(h) >= 1 for h in hits.values()), (name, gap, hits)
        checks["min_router_logit_gap"] = gap
        checks["expert_hits_prefill"] = hits
        other = load_reference(new_model(ref_cfg, experts_implementation=None), sd)
        impl = other.config._experts_implementation
        try:
            checks["max_abs_diff_prefill_default_experts_impl"] = maxdiff(lp, prefill_logits(other, tokens))
        except RuntimeError as e:  # torch's CPU grouped_mm wants 16-byte aligned strides
            checks["max_abs_diff_prefill_default_experts_impl"] = f"{impl} failed: {e}"
        notes.append(
            "max_abs_diff_prefill_default_experts_impl: the same model with transformers' default experts "
            f"implementation ({impl}; a string when it failed on this CPU)."
        )
    checks["max_abs_logit_prefill"] = float(lp.abs().max())
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
    cases = {c["name"]: c for c in CASES}
    for name in names:
        d = os.path.join(OUT, name)
        ref = json.load(open(os.path.join(d, "reference.json")))
        kw = {}
        if json.load(open(os.path.join(d, "config.json")))["model_type"] == "qwen3_moe":
            kw["experts_implementation"] = "eager"
        m = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager", **kw).eval()
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
        keep = cases[name].get("keep_f32")
        dt_ok = all(v[0] == ("F32" if keep and re.search(keep, k) else want) for k, v in inv.items())
        if keep:
            want += "+F32"
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
        assert c["model_type"] == case["family"] == ref["family"]
        dtypes = {}
        for dt, _ in tensor_inventory(os.path.join(d, "model.safetensors")).values():
            dtypes[dt] = dtypes.get(dt, 0) + 1
        entries.append({
            "name": case["name"],
            "family": case["family"],
            "architecture": c["architectures"][0] if "architectures" in c else ref["architecture"],
            "dtype": case["dtype"],
            "tensor_dtypes": dict(sorted(dtypes.items())),
            "description": case["desc"],
            "tokens": len(ref["tokens"]),
            "vocab_size": c["vocab_size"],
            "tied": AutoConfig.from_pretrained(d).tie_word_embeddings,
            "max_abs_diff_prefill_decode": ref["max_abs_diff_prefill_decode"],
            "prefill_decode_should_match": not case.get("dynamic", False),
            "bytes": folder_size(d),
            "transformers": ref["versions"]["transformers"],
        })
    index = {
        "generator": "tools/make_e2e.py",
        "versions": VERSIONS,
        "files": ["config.json", "model.safetensors", "reference.json"],
        "cases": entries,
    }
    with open(os.path.join(OUT, "index.json"), "w") as f:
        f.write(json.dumps(index, indent=2) + "\n")


# ----------------------------------------------------------------------------------------------------------------
# Encoders (BERT): tests/data/encoders/<case>/ holds config.json, model.safetensors, tokenizer.json and
# reference.json (texts, the ids / token types / padding HF's tokenizer gives them as one padded batch, the last
# hidden states of every row, and sentence embeddings). bert_f32 is laid out as a sentence-transformers folder
# (modules.json, 1_Pooling/config.json, sentence_bert_config.json), the layout `tfx embed` reads.
#     python3 tools/make_e2e.py --encoders
# ----------------------------------------------------------------------------------------------------------------

ENC_OUT = os.path.join(REPO, "tests", "data", "encoders")
ENC_WORDS = ("the quick brown fox jumps over lazy dog a an of to in is was it that this for on with as by at "
             "from be are were have has had not but or if then than so very much many some any all each every "
             "one two three four five ten hundred first last new old good bad big small long short high low "
             "time year day week world people man woman child city country house school work life hand part "
             "place case point group number fact water room mother night question story money music paper "
             "embedding sentence similarity search retrieval vector encoder transformer attention model "
             "café naïve résumé über 北京 中文 日本 hello world, yes! no? (maybe) [x] {y} 3.14 42%")

ENCODER_CASES = [
    {"name": "bert_f32", "dtype": "F32", "arch": "BertModel", "sentence_transformers": True,
     "desc": "BertModel (with pooler), F32, GELU, 2 layers, sentence-transformers folder (mean pooling, normalize)",
     "cfg": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                 max_position_embeddings=40, type_vocab_size=2, hidden_act="gelu", layer_norm_eps=1e-12),
     "texts": ["The quick brown fox jumps over the lazy dog.", "Hello world!",
               "Sentence embeddings for similarity search and retrieval with a small encoder model.",
               ["Is this a question?", "Yes, and this is the second text of the pair."]]},
    {"name": "bert_bf16_mlm", "dtype": "BF16", "arch": "BertForMaskedLM",
     "desc": "BertForMaskedLM checkpoint (bert. prefix, cls.* head ignored), BF16, 3 token types, gelu_new",
     "cfg": dict(hidden_size=24, num_hidden_layers=3, num_attention_heads=2, intermediate_size=40,
                 max_position_embeddings=48, type_vocab_size=3, hidden_act="gelu_new", layer_norm_eps=1e-5),
     "texts": ["café naïve résumé über", ["first part", "second part of a pair that is longer"],
               "a b c d e f g h i j k l m n o p q r s t u v w x y z"], "type_id_shift": 2},
    {"name": "bert_f16_relu", "dtype": "F16", "arch": "BertModel",
     "desc": "BertModel F16, ReLU, 1 layer, 4 heads of 4, a one-word text beside a long one",
     "cfg": dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=4, intermediate_size=24,
                 max_position_embeddings=64, type_vocab_size=2, hidden_act="relu", layer_norm_eps=1e-12),
     "texts": ["yes", "many people in the city work at school and some work at home every day of the week"]},
]


def encoder_tokenizer():
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors, trainers
    from tokenizers.models import WordPiece
    tok = Tokenizer(WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator([ENC_WORDS] * 3, trainers.WordPieceTrainer(
        vocab_size=260, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tok.decoder = decoders.WordPiece()
    return tok


@torch.no_grad()
def randomize_bert(model, seed):
    g = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():
        shape = p.shape
        if "LayerNorm.weight" in name:
            v = 1.0 + 0.25 * torch.randn(shape, generator=g)
        elif name.endswith(".bias"):
            v = 0.2 * torch.randn(shape, generator=g)
        elif "embeddings" in name:
            v = 0.5 * torch.randn(shape, generator=g)
        elif p.dim() == 2:
            v = torch.randn(shape, generator=g) / math.sqrt(shape[1])
        else:
            raise RuntimeError(f"unexpected parameter {name} {tuple(shape)}")
        p.copy_(v.to(p.dtype))


def build_encoder(case):
    from transformers import BertConfig, BertForMaskedLM, BertModel
    d = os.path.join(ENC_OUT, case["name"])
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    tok = encoder_tokenizer()
    tok.save(os.path.join(d, "tokenizer.json"))
    cfg = BertConfig(vocab_size=tok.get_vocab_size(), pad_token_id=tok.token_to_id("[PAD]"), **case["cfg"])
    cls = BertForMaskedLM if case["arch"] == "BertForMaskedLM" else BertModel
    torch.manual_seed(0)
    model = cls(cfg).eval()
    randomize_bert(model, seed=sum(map(ord, case["name"])))
    dt = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}[case["dtype"]]
    model = model.to(dt)
    model.save_pretrained(d, safe_serialization=True)
    # Reference: a float32 copy of exactly the stored values.
    ref = cls.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").eval()
    enc = ref.bert if case["arch"] == "BertForMaskedLM" else ref
    singles = [t for t in case["texts"]]
    encs = [tok.encode(*t) if isinstance(t, list) else tok.encode(t) for t in singles]
    L = max(len(e.ids) for e in encs)
    pad = tok.token_to_id("[PAD]")
    ids = [e.ids + [pad] * (L - len(e.ids)) for e in encs]
    types = [[min(t + (case.get("type_id_shift", 0) if i == 0 else 0), cfg.type_vocab_size - 1) for t in e.type_ids]
             + [0] * (L - len(e.ids)) for i, e in enumerate(encs)]
    mask = [[1] * len(e.ids) + [0] * (L - len(e.ids)) for e in encs]
    out = enc(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask), token_type_ids=torch.tensor(types))
    hidden = out.last_hidden_state  # [B, L, H]
    m = torch.tensor(mask, dtype=torch.float32)[..., None]
    mean = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    mean_norm = torch.nn.functional.normalize(mean, p=2, dim=1)
    cls_vec = hidden[:, 0]
    meta = {"family": "bert", "architecture": case["arch"], "weights_dtype": case["dtype"],
            "description": case["desc"], "texts": singles, "ids": ids, "type_ids": types, "attention_mask": mask,
            "versions": VERSIONS}
    write_reference(os.path.join(d, "reference.json"), meta,
                    {"hidden": hidden.reshape(-1, hidden.shape[-1]), "mean": mean, "mean_normalized": mean_norm,
                     "cls": cls_vec})
    if case.get("sentence_transformers"):
        json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                   {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                   {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}],
                  open(os.path.join(d, "modules.json"), "w"), indent=2)
        os.makedirs(os.path.join(d, "1_Pooling"))
        json.dump({"word_embedding_dimension": cfg.hidden_size, "pooling_mode_cls_token": False,
                   "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
                   "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_weightedmean_tokens": False,
                   "pooling_mode_lasttoken": False, "include_prompt": True},
                  open(os.path.join(d, "1_Pooling", "config.json"), "w"), indent=2)
        json.dump({"max_seq_length": 24, "do_lower_case": False},
                  open(os.path.join(d, "sentence_bert_config.json"), "w"), indent=2)
    # Round trip: the checkpoint reloads to the same outputs.
    again = cls.from_pretrained(d, dtype=torch.float32, attn_implementation="sdpa").eval()
    e2 = (again.bert if case["arch"] == "BertForMaskedLM" else again)(
        input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask), token_type_ids=torch.tensor(types))
    diff = (e2.last_hidden_state - hidden).abs().max().item()
    print(f"  {case['name']:20s} {case['dtype']} batch {len(ids)} x {L}, eager vs sdpa {diff:.2g}, "
          f"{folder_size(d) / 1024:.1f} KiB", flush=True)
    assert diff < 1e-4


def build_encoders():
    print(f"make_e2e --encoders: torch {torch.__version__}, transformers {transformers.__version__}, out={ENC_OUT}")
    os.makedirs(ENC_OUT, exist_ok=True)
    for case in ENCODER_CASES:
        build_encoder(case)


# ----------------------------------------------------------------------------------------------------------------
# Encoder-decoders (Marian, the original Transformer): tests/data/seq2seq/<case>/ holds config.json,
# generation_config.json, model.safetensors, the tokenizer (source.spm, target.spm: SentencePiece models trained
# here; vocab.json) and reference.json: source texts and their ids (MarianTokenizer), teacher-forced decoder
# logits, and the ids transformers' generate() gives for greedy and beam search settings.
#     python3 tools/make_e2e.py --seq2seq
# ----------------------------------------------------------------------------------------------------------------

S2S_OUT = os.path.join(REPO, "tests", "data", "seq2seq")
S2S_SOURCE = ["the cat sat on the mat", "a dog runs in the park every morning", "we like green tea and fresh bread",
              "my brother reads old books at night", "the weather is cold today but sunny", "she writes long letters",
              "they play music in the small house", "how are you my friend", "this is a short test sentence"]
S2S_TARGET = ["le chat est assis sur le tapis", "un chien court dans le parc chaque matin",
              "nous aimons le the vert et le pain frais", "mon frere lit de vieux livres la nuit",
              "il fait froid aujourd hui mais ensoleille", "elle ecrit de longues lettres",
              "ils jouent de la musique dans la petite maison", "comment vas tu mon ami",
              "ceci est une courte phrase de test"]
S2S_TEXTS = ["the cat reads a book", "we play in the park every morning and night", "how are you"]
S2S_SEARCHES = [  # name, generate() keyword arguments
    ("greedy", dict(num_beams=1, max_new_tokens=12)),
    ("beam4", dict(num_beams=4, max_new_tokens=12, length_penalty=1.0, early_stopping=True)),
    ("beam3_lp06_heuristic", dict(num_beams=3, max_new_tokens=10, length_penalty=0.6, early_stopping=False)),
    ("beam2_never_ngram2", dict(num_beams=2, max_new_tokens=9, length_penalty=1.2, early_stopping="never",
                                no_repeat_ngram_size=2)),
]
SEQ2SEQ_CASES = [
    {"name": "marian_f32", "dtype": "F32",
     "desc": "MarianMTModel F32: 2 + 2 post-norm layers, d_model 32, 4 heads, swish, scale_embedding",
     "cfg": dict(d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4,
                 encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=64, scale_embedding=True,
                 activation_function="swish")},
    {"name": "marian_bf16", "dtype": "BF16",
     "desc": "MarianMTModel BF16: 1 encoder + 2 decoder layers, GELU, no embedding scale",
     "cfg": dict(d_model=24, encoder_layers=1, decoder_layers=2, encoder_attention_heads=2, decoder_attention_heads=2,
                 encoder_ffn_dim=40, decoder_ffn_dim=40, max_position_embeddings=48, scale_embedding=False,
                 activation_function="gelu")},
]


def s2s_tokenizer(d):
    import sentencepiece as spm
    from transformers import MarianTokenizer
    tmp = os.path.join(d, "_spm")
    os.makedirs(tmp)
    for side, corpus, n in (("source", S2S_SOURCE, 72), ("target", S2S_TARGET, 80)):
        # model_prefix is stored in the model: give it a bare name, written in the temporary folder.
        cwd = os.getcwd()
        os.chdir(tmp)
        spm.SentencePieceTrainer.train(sentence_iterator=iter(corpus * 4), model_prefix=side,
                                       vocab_size=n, model_type="unigram", character_coverage=1.0,
                                       bos_id=-1, eos_id=1, unk_id=0, minloglevel=2,
                                       normalization_rule_name="identity")
        os.chdir(cwd)
    pieces = []
    for side in ("source", "target"):
        sp = spm.SentencePieceProcessor(model_file=os.path.join(tmp, side + ".model"))
        for i in range(sp.get_piece_size()):
            p = sp.id_to_piece(i)
            if p not in ("<unk>", "</s>", "<s>") and p not in pieces:
                pieces.append(p)
    vocab = {"</s>": 0, "<unk>": 1}
    for p in pieces:
        vocab[p] = len(vocab)
    vocab["<pad>"] = len(vocab)
    json.dump(vocab, open(os.path.join(tmp, "vocab.json"), "w"), ensure_ascii=False, indent=1)
    tok = MarianTokenizer(source_spm=os.path.join(tmp, "source.model"), target_spm=os.path.join(tmp, "target.model"),
                          vocab=os.path.join(tmp, "vocab.json"), source_lang="en", target_lang="fr")
    tok.save_pretrained(d)
    shutil.rmtree(tmp)
    return MarianTokenizer.from_pretrained(d)


@torch.no_grad()
def randomize_marian(model, seed, eos_id):
    g = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():
        shape = p.shape
        if "embed_positions" in name:
            continue  # the fixed sinusoidal table
        if "layer_norm.weight" in name:
            v = 1.0 + 0.25 * torch.randn(shape, generator=g)
        elif name.endswith(".bias"):
            v = 0.2 * torch.randn(shape, generator=g)
        elif name.endswith("shared.weight"):
            v = 0.7 * torch.randn(shape, generator=g)
        elif p.dim() == 2:
            v = 1.3 * torch.randn(shape, generator=g) / math.sqrt(shape[1])
        else:
            raise RuntimeError(f"unexpected parameter {name} {tuple(shape)}")
        p.copy_(v.to(p.dtype))
    model.final_logits_bias.copy_(0.5 * torch.randn(model.final_logits_bias.shape, generator=g))


@torch.no_grad()
def raise_eos(model, source_ids, eos_id, margin):
    """Random decoders repeat one token and never end: raise the end-of-sequence bias to `margin` below the best
    first-step logit of a source, so that generations (and beams) end at different lengths."""
    logits = model(input_ids=torch.tensor([source_ids]),
                   decoder_input_ids=torch.tensor([[model.config.decoder_start_token_id]])).logits[0, -1]
    model.final_logits_bias[0, eos_id] += (logits.max() - logits[eos_id]).item() - margin


def build_seq2seq(case):
    from transformers import GenerationConfig, MarianConfig, MarianMTModel
    d = os.path.join(S2S_OUT, case["name"])
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    tok = s2s_tokenizer(d)
    V = len(tok.get_vocab())
    pad, eos = tok.pad_token_id, tok.eos_token_id
    cfg = MarianConfig(vocab_size=V, pad_token_id=pad, eos_token_id=eos, decoder_start_token_id=pad,
                       forced_eos_token_id=eos, **case["cfg"])
    torch.manual_seed(0)
    model = MarianMTModel(cfg).eval()
    randomize_marian(model, sum(map(ord, case["name"])), eos)
    raise_eos(model, tok(S2S_TEXTS[0])["input_ids"], eos, case.get("eos_margin", 0.5))
    model.generation_config = GenerationConfig(decoder_start_token_id=pad, eos_token_id=eos, pad_token_id=pad,
                                               forced_eos_token_id=eos, bad_words_ids=[[pad]], num_beams=4,
                                               max_length=cfg.max_position_embeddings)
    dt = {"F32": torch.float32, "BF16": torch.bfloat16}[case["dtype"]]
    model.to(dt).save_pretrained(d, safe_serialization=True)
    ref = MarianMTModel.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").eval()
    sources = [tok(t)["input_ids"] for t in S2S_TEXTS]
    # Teacher-forced logits of the first text: decoder start, then the greedy continuation, in one pass.
    with torch.no_grad():
        src = torch.tensor([sources[0]])
        greedy0 = ref.generate(src, num_beams=1, max_new_tokens=8, do_sample=False)[0].tolist()
        dec = torch.tensor([greedy0])
        logits = ref(input_ids=src, decoder_input_ids=dec).logits[0]
        generations = {}
        for name, kw in S2S_SEARCHES:
            generations[name] = [ref.generate(torch.tensor([s]), do_sample=False, **kw)[0].tolist() for s in sources]
    decoded = {name: [tok.decode(g, skip_special_tokens=True) for g in gens] for name, gens in generations.items()}
    meta = {"family": "marian", "architecture": "MarianMTModel", "weights_dtype": case["dtype"],
            "description": case["desc"], "texts": S2S_TEXTS, "source_ids": sources, "decoder_tokens": greedy0,
            "searches": {name: kw for name, kw in S2S_SEARCHES}, "generated": generations, "decoded": decoded,
            "versions": VERSIONS}
    write_reference(os.path.join(d, "reference.json"), meta, {"logits": logits})
    lens = {name: [len(g) for g in gens] for name, gens in generations.items()}
    print(f"  {case['name']:12s} {case['dtype']} vocab {V}, generated lengths {lens}, {folder_size(d) / 1024:.1f} KiB",
          flush=True)


def build_seq2seqs():
    print(f"make_e2e --seq2seq: torch {torch.__version__}, transformers {transformers.__version__}, out={S2S_OUT}")
    os.makedirs(S2S_OUT, exist_ok=True)
    for case in SEQ2SEQ_CASES:
        build_seq2seq(case)


def main(argv):
    if "--seq2seq" in argv:
        return build_seq2seqs()
    if "--encoders" in argv:
        return build_encoders()
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
