#!/usr/bin/env python3
"""Verify models/tiny-fortunes with Hugging Face transformers and write the
reference file the C++ tests compare against.

Needs (pip python3): torch, transformers, tokenizers.

    python3 tools/train_tiny/reference.py [--model models/tiny-fortunes]

Checks:
  * AutoTokenizer and tokenizers.Tokenizer give the same ids, and decode back;
  * transformers' Qwen3ForCausalLM logits == this repo's plain-PyTorch model
    (tools/train_tiny/common.py, the one train.py trains) logits, max |diff| < 1e-4;
  * prints greedy and sampled generations.

Writes <model>/reference.json:
  prompt, input_ids                  - HF tokenizers encoding (no special tokens added)
  last_logits                        - float32 logits of the last position, full vocab,
                                       prefill of input_ids, weights upcast to float32
  argmax_ids                         - argmax of the logits at every position
  greedy_ids                         - 20 greedy tokens after the prompt (full recompute,
                                       does NOT stop at <|endoftext|>)
  *_min_top2_margin                  - smallest top1-top2 logit gap (argmax robustness)
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from common import Qwen3ForCausalLM, load_safetensors  # noqa: E402

PROMPT = "The meaning of life is"
GEN_PROMPTS = ["The meaning of life is", "A computer", "Q: What is the difference between",
               "Never trust"]


def f32(v):
    # shortest decimal that round-trips to the same float32
    return np.format_float_positional(np.float32(v), unique=True, trim="-") if abs(v) >= 1e-4 or v == 0 \
        else np.format_float_scientific(np.float32(v), unique=True, trim="-")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.normpath(os.path.join(HERE, "..", "..", "models", "tiny-fortunes")))
    ap.add_argument("--out", default=None, help="default: <model>/reference.json")
    ap.add_argument("--greedy-tokens", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    out = args.out or os.path.join(args.model, "reference.json")
    torch.set_num_threads(1)

    import transformers
    from tokenizers import Tokenizer
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = Tokenizer.from_file(os.path.join(args.model, "tokenizer.json"))
    atok = AutoTokenizer.from_pretrained(args.model)
    for p in GEN_PROMPTS + ["It's 3:14 -- über café!\n\tYes, it's."]:
        ids = tok.encode(p, add_special_tokens=False).ids
        assert atok(p)["input_ids"] == ids, (p, atok(p)["input_ids"], ids)
        assert tok.decode(ids) == p and atok.decode(ids) == p
    eos = atok.eos_token_id
    print("tokenizer ok: vocab %d, eos %r = %d" % (tok.get_vocab_size(), atok.eos_token, eos))

    hf = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32).eval()
    print("transformers %s, torch %s: %s, %d params, config dtype %s" % (
        transformers.__version__, torch.__version__, type(hf).__name__,
        sum(p.numel() for p in hf.parameters()), hf.config.dtype))
    assert hf.lm_head.weight.data_ptr() == hf.model.embed_tokens.weight.data_ptr(), "lm_head not tied"

    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    mine = Qwen3ForCausalLM(cfg).eval()
    sd = {k: v.float() for k, v in load_safetensors(os.path.join(args.model, "model.safetensors")).items()}
    missing, unexpected = mine.load_state_dict(sd, strict=False)
    assert not missing and not unexpected, (missing, unexpected)

    ids = tok.encode(PROMPT, add_special_tokens=False).ids
    x = torch.tensor([ids])
    with torch.no_grad():
        lh = hf(x).logits[0].float()
        lm = mine(x)[0].float()
    diff = (lh - lm).abs().max().item()
    print("prompt %r -> %s" % (PROMPT, ids))
    print("max |logits(transformers) - logits(train_tiny model)| = %.3g" % diff)
    assert diff < 1e-4, diff

    # a longer check: random ids, 300 positions
    g = torch.Generator().manual_seed(1)
    r = torch.randint(0, cfg["vocab_size"], (2, 300), generator=g)
    with torch.no_grad():
        d2 = (hf(r).logits - mine(r)).abs().max().item()
    print("max |diff| on random ids (2 x 300) = %.3g" % d2)
    assert d2 < 1e-4, d2

    # greedy continuation by full recompute (no KV cache, no stop at eos)
    seq = list(ids)
    margins = []  # top1 - top2 logit at each greedy step (how robust the argmax is)
    with torch.no_grad():
        for _ in range(args.greedy_tokens):
            last = hf(torch.tensor([seq])).logits[0, -1]
            top2 = torch.topk(last, 2).values
            margins.append(float(top2[0] - top2[1]))
            seq.append(int(last.argmax()))
    greedy = seq[len(ids):]
    with torch.no_grad():
        gen = hf.generate(x, attention_mask=torch.ones_like(x), do_sample=False,
                          max_new_tokens=args.greedy_tokens, pad_token_id=eos)[0, len(ids):].tolist()
    # generate() (KV cache) stops after <|endoftext|>; compare up to there
    assert gen == greedy[:len(gen)], ("generate() differs from full-recompute greedy", gen, greedy)

    ref = {
        "model": os.path.basename(os.path.normpath(args.model)),
        "generator": "tools/train_tiny/reference.py (transformers %s, torch %s)" % (
            transformers.__version__, torch.__version__),
        "weights_dtype": cfg.get("torch_dtype"),
        "compute_dtype": "float32",
        "prompt": PROMPT,
        "add_special_tokens": False,
        "input_ids": ids,
        "vocab_size": cfg["vocab_size"],
        "argmax_ids": lh.argmax(-1).tolist(),
        "greedy_new_tokens": args.greedy_tokens,
        "greedy_ids": greedy,
        "greedy_text": tok.decode(greedy),
        "greedy_stops_at_eos": False,
        "greedy_min_top2_margin": round(min(margins), 6),
        "argmax_min_top2_margin": round(float((lambda t: (t[:, 0] - t[:, 1]).min())(
            torch.topk(lh, 2, dim=-1).values)), 6),
        "last_logits_top5": torch.topk(lh[-1], 5).indices.tolist(),
        "last_logits": "__LOGITS__",
    }
    text = json.dumps(ref, indent=2, ensure_ascii=False)
    text = text.replace('"__LOGITS__"', "[" + ", ".join(f32(v) for v in lh[-1].tolist()) + "]")
    with open(out, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    # the written numbers parse back to the exact float32 logits
    back = np.array(json.load(open(out))["last_logits"], dtype=np.float32)
    assert np.array_equal(back, lh[-1].numpy()), "float32 round trip"
    print("wrote %s (%d bytes)" % (out, os.path.getsize(out)))
    print("greedy(20) after %r: %s -> %r" % (PROMPT, greedy, tok.decode(greedy)))

    print("\n=== generations (transformers generate, 60 new tokens) ===")
    for p in GEN_PROMPTS:
        x = torch.tensor([tok.encode(p, add_special_tokens=False).ids])
        am = torch.ones_like(x)
        with torch.no_grad():
            gr = hf.generate(x, attention_mask=am, do_sample=False, max_new_tokens=60, pad_token_id=eos)
            torch.manual_seed(args.seed)
            sa = hf.generate(x, attention_mask=am, do_sample=True, temperature=0.8, top_k=40, top_p=0.95,
                             max_new_tokens=60, pad_token_id=eos)
        print("--- %r greedy:\n%s" % (p, tok.decode(gr[0].tolist(), skip_special_tokens=False)))
        print("--- %r sampled (T=0.8, top_k=40, top_p=0.95, seed %d):\n%s" % (
            p, args.seed, tok.decode(sa[0].tolist(), skip_special_tokens=False)))


if __name__ == "__main__":
    main()
