#!/usr/bin/python3
"""Train models/tiny-fortunes: a ~4M-parameter Qwen3 model on the Debian fortunes.

Run with Debian's PyTorch (package python3-torch, /usr/bin/python3):

    apt-get install -y fortunes fortunes-min python3-torch libopenblas0-serial
    pip install tokenizers                      # for the pip python3 (step 1 only)
    /usr/bin/python3 tools/train_tiny/train.py

Step 1 (tokenizer + encoded corpus) is done by prepare.py, which needs the
Hugging Face ``tokenizers`` package; this script runs it with ``--tok-python``
(default: the ``python3`` first on PATH) when tools/train_tiny/scratch/ holds no
encoding of the current corpus.  The corpus itself is read (and hashed) from
/usr/share/games/fortunes/ by both scripts.

Everything is seeded and runs on one CPU thread, so a rerun reproduces the
same weights (given the same PyTorch / BLAS build).
"""

import argparse
import array
import json
import math
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from common import (DEFAULT_ARCH, EOT, Qwen3ForCausalLM, hf_state_dict,  # noqa: E402
                    make_config, read_fortunes, save_safetensors)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.normpath(os.path.join(HERE, "..", "..", "models", "tiny-fortunes")))
    ap.add_argument("--work", default=os.path.join(HERE, "scratch"))
    ap.add_argument("--tok-python", default="python3",
                    help="python with the `tokenizers` package, used to run prepare.py")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--layers", type=int, default=DEFAULT_ARCH["num_hidden_layers"])
    ap.add_argument("--vocab-size", type=int, default=DEFAULT_ARCH["vocab_size"])
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=950)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-ratio", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=60)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--grad-clip", type=float, default=1.0)
    ap.add_argument("--val-frac", type=float, default=0.02)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--eval-batches", type=int, default=8)
    ap.add_argument("--ckpt-every", type=int, default=200)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--max-minutes", type=float, default=24.0,
                    help="safety stop: end training early (and save) after this much wall time")
    ap.add_argument("--dtype", choices=["bfloat16", "float32"], default="bfloat16",
                    help="dtype of the exported model.safetensors")
    ap.add_argument("--resume", action="store_true", help="continue from <work>/ckpt.pt")
    return ap.parse_args()


# ---------------------------------------------------------------------------
def load_corpus(args):
    entries, digest = read_fortunes()
    meta_path = os.path.join(args.work, "corpus.json")
    fresh = False
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        fresh = (meta["corpus_sha256"] == digest and meta["vocab_size"] == args.vocab_size
                 and os.path.exists(os.path.join(args.out, "tokenizer.json")))
    if not fresh:
        cmd = [args.tok_python, os.path.join(HERE, "prepare.py"), "--out", args.out,
               "--work", args.work, "--vocab-size", str(args.vocab_size)]
        print("running:", " ".join(cmd), flush=True)
        subprocess.check_call(cmd)
        with open(meta_path) as f:
            meta = json.load(f)
        assert meta["corpus_sha256"] == digest
    ids = array.array("H")
    with open(os.path.join(args.work, "corpus.u16"), "rb") as f:
        ids.frombytes(f.read())
    if sys.byteorder != "little":
        ids.byteswap()
    assert len(ids) == meta["n_tokens"]
    all_ids = torch.tensor(ids, dtype=torch.long)
    print("corpus: %d fortunes from /usr/share/games/fortunes, %d tokens" % (len(entries), len(ids)), flush=True)

    # Hold out a random subset of whole fortunes for validation.
    starts = meta["entry_starts"] + [len(ids)]
    rng = random.Random(args.seed)
    order = list(range(len(starts) - 1))
    rng.shuffle(order)
    n_val = int(len(order) * args.val_frac)
    val_set = set(order[:n_val])
    eot = meta["eot_id"]
    train_parts, val_parts = [all_ids[:1]], [all_ids[:1]]
    for i in range(len(starts) - 1):
        piece = all_ids[starts[i]:starts[i + 1]]  # entry tokens + trailing <|endoftext|>
        (val_parts if i in val_set else train_parts).append(piece)
    train, val = torch.cat(train_parts), torch.cat(val_parts)
    assert int(train[0]) == eot and int(train[-1]) == eot
    print("split: train %d tokens, val %d tokens (%d fortunes)" % (len(train), len(val), n_val), flush=True)
    return train, val, eot


def get_batch(data, B, T, gen):
    ix = torch.randint(0, len(data) - T - 1, (B,), generator=gen)
    x = torch.stack([data[i:i + T + 1] for i in ix.tolist()])
    return x[:, :-1], x[:, 1:]


def lr_at(step, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (args.min_lr_ratio + (1 - args.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


@torch.no_grad()
def evaluate(model, data, args, V):
    model.eval()
    gen = torch.Generator().manual_seed(args.seed + 7)  # same batches every time
    tot = 0.0
    for _ in range(args.eval_batches):
        x, y = get_batch(data, args.batch, args.seq_len, gen)
        tot += F.cross_entropy(model(x).view(-1, V), y.reshape(-1)).item()
    model.train()
    return tot / args.eval_batches


# ---------------------------------------------------------------------------
def byte_decoder(tokenizer_path):
    """Decode ids with tokenizer.json's vocab (GPT-2 byte-to-unicode mapping), stdlib only."""
    with open(tokenizer_path, encoding="utf-8") as f:
        tj = json.load(f)
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    u2b = {chr(c): b for b, c in zip(bs, cs)}
    id2tok = {i: t for t, i in tj["model"]["vocab"].items()}
    for a in tj["added_tokens"]:
        id2tok[a["id"]] = a["content"]
    special = {a["id"] for a in tj["added_tokens"]}

    def decode(ids):
        out = bytearray()
        for i in ids:
            t = id2tok[i]
            out += t.encode() if i in special else bytes(u2b[c] for c in t)
        return out.decode("utf-8", errors="replace")
    return decode


@torch.no_grad()
def generate(model, prefix, n, temperature=0.0, top_k=0, gen=None):
    model.eval()
    ids = list(prefix)
    for _ in range(n):
        logits = model(torch.tensor([ids[-model.config["max_position_embeddings"]:]]))[0, -1]
        if temperature <= 0:
            nxt = int(logits.argmax())
        else:
            logits = logits / temperature
            if top_k:
                v, _ = torch.topk(logits, top_k)
                logits[logits < v[-1]] = float("-inf")
            nxt = int(torch.multinomial(F.softmax(logits, -1), 1, generator=gen))
        ids.append(nxt)
    model.train()
    return ids


def export(model, args, eot, step, final):
    dtype = torch.bfloat16 if args.dtype == "bfloat16" else torch.float32
    cfg = make_config(model.config, bos_token_id=eot, eos_token_id=eot, torch_dtype=args.dtype)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    gcfg = {"bos_token_id": eot, "eos_token_id": eot, "pad_token_id": eot, "do_sample": True,
            "temperature": 0.8, "top_k": 40, "top_p": 0.95, "max_new_tokens": 128,
            "transformers_version": "4.51.0"}
    with open(os.path.join(args.out, "generation_config.json"), "w") as f:
        json.dump(gcfg, f, indent=2)
        f.write("\n")
    save_safetensors(hf_state_dict(model, dtype), os.path.join(args.out, "model.safetensors"),
                     metadata={"format": "pt", "step": str(step), "final": str(final).lower()})


def main():
    args = parse_args()
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.work, exist_ok=True)
    print("torch %s (%s), threads %d" % (torch.__version__, torch.__file__, torch.get_num_threads()), flush=True)

    train, val, eot = load_corpus(args)
    arch = dict(DEFAULT_ARCH, num_hidden_layers=args.layers, vocab_size=args.vocab_size)
    assert args.seq_len <= arch["max_position_embeddings"]
    V = arch["vocab_size"]
    model = Qwen3ForCausalLM(arch)
    model.init_weights()
    n_params = sum(p.numel() for p in model.parameters())
    print("model: Qwen3 %s\nparameters: %d (%.2f M, tied embeddings)" % (
        json.dumps(arch), n_params, n_params / 1e6), flush=True)

    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    gen = torch.Generator().manual_seed(args.seed)
    step0 = 0
    ckpt_path = os.path.join(args.work, "ckpt.pt")
    if args.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        gen.set_state(ck["gen"])
        torch.set_rng_state(ck["rng"])
        step0 = ck["step"]
        print("resumed from %s at step %d" % (ckpt_path, step0), flush=True)

    log = open(os.path.join(args.work, "train_log.txt"), "a")
    t_start = time.time()
    tokens_per_step = args.batch * args.seq_len
    ema = None
    step = step0
    stopped_early = False
    model.train()
    while step < args.steps:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args)
        x, y = get_batch(train, args.batch, args.seq_len, gen)
        loss = F.cross_entropy(model(x).view(-1, V), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        opt.step()
        step += 1
        lv = loss.item()
        ema = lv if ema is None else 0.95 * ema + 0.05 * lv
        elapsed = time.time() - t_start
        if step % args.log_every == 0 or step == 1:
            msg = "step %5d/%d  loss %.4f  (ema %.4f)  lr %.2e  gnorm %.2f  %.0f tok/s  %.1f min" % (
                step, args.steps, lv, ema, lr_at(step - 1, args), float(gnorm),
                (step - step0) * tokens_per_step / elapsed, elapsed / 60)
            print(msg, flush=True)
            log.write(msg + "\n")
        last = step == args.steps
        if elapsed > args.max_minutes * 60 and not last:
            print("max-minutes (%.1f) reached at step %d: stopping early" % (args.max_minutes, step), flush=True)
            stopped_early = last = True
        if step % args.eval_every == 0 or last:
            vl = evaluate(model, val, args, V)
            msg = "step %5d  val loss %.4f  (ppl %.1f)" % (step, vl, math.exp(vl))
            print(msg, flush=True)
            log.write(msg + "\n")
            log.flush()
        if step % args.ckpt_every == 0 or last:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                        "gen": gen.get_state(), "rng": torch.get_rng_state()}, ckpt_path)
            export(model, args, eot, step, final=last)
        if last:
            break

    elapsed = time.time() - t_start
    tl = evaluate(model, train, args, V)
    vl = evaluate(model, val, args, V)
    summary = {"steps": step, "stopped_early": stopped_early, "train_minutes": round(elapsed / 60, 2),
               "tokens_seen": (step - step0) * tokens_per_step, "parameters": n_params,
               "final_train_loss_ema": round(ema, 4), "final_train_loss_eval": round(tl, 4),
               "final_val_loss": round(vl, 4), "torch": torch.__version__, "seed": args.seed}
    print("summary:", json.dumps(summary), flush=True)
    log.write("summary: " + json.dumps(summary) + "\n")
    with open(os.path.join(args.work, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)

    decode = byte_decoder(os.path.join(args.out, "tokenizer.json"))
    sgen = torch.Generator().manual_seed(args.seed)
    print("--- greedy from <|endoftext|> ---")
    print(decode(generate(model, [eot], 60)[1:]))
    for i in range(3):
        print("--- sample %d (T=0.8, top-k 40) ---" % i)
        print(decode(generate(model, [eot], 80, temperature=0.8, top_k=40, gen=sgen)[1:]))


if __name__ == "__main__":
    main()
