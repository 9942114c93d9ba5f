#!/usr/bin/env python3
"""Times sentence embeddings, tfx against PyTorch (transformers' BertModel), on a random BERT of
all-MiniLM-L6-v2's shape (hidden 384, 6 layers, 12 heads, FFN 1536, vocab 30522): the same texts, the same
batch size and threads, mean pooling and L2 normalization, tokenization included on both sides. The two run
alternately, `--rounds` times; prints texts/s of each round, the best of each and their ratio.

    python3 tools/peer/bench_embed.py --tfx build/release/tools/tfx [--threads 2] [--texts 512] [--rounds 3]

Needs torch, transformers and tokenizers (pip). Writes the model folder to a temporary directory.
"""
import argparse
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import time

import torch
from tokenizers import Tokenizer
from transformers import BertConfig, BertModel

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORDS = ("the quick brown fox jumps over a lazy dog while people in the city read books about music history "
         "science and the weather changes every day so we write long letters to friends far away").split()


def make_folder(d):
    cfg = BertConfig(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                     intermediate_size=1536, max_position_embeddings=512)
    torch.manual_seed(0)
    BertModel(cfg).eval().save_pretrained(d, safe_serialization=True)
    shutil.copy(os.path.join(ROOT, "tests/data/tokenizer/bert-uncased-tokenizer.json"), os.path.join(d, "tokenizer.json"))
    json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
               {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}],
              open(os.path.join(d, "modules.json"), "w"))
    os.makedirs(os.path.join(d, "1_Pooling"))
    json.dump({"word_embedding_dimension": 384, "pooling_mode_mean_tokens": True},
              open(os.path.join(d, "1_Pooling", "config.json"), "w"))
    json.dump({"max_seq_length": 256, "do_lower_case": False}, open(os.path.join(d, "sentence_bert_config.json"), "w"))


def texts(n):
    rnd = random.Random(1)
    return [" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(8, 60))) for _ in range(n)]


def torch_round(d, corpus, batch, threads):
    torch.set_num_threads(threads)
    tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    tok.enable_truncation(256)
    pad = tok.token_to_id("[PAD]")
    tok.enable_padding(pad_id=pad, pad_token="[PAD]")
    model = BertModel.from_pretrained(d).eval()
    t0 = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(corpus), batch):
            enc = tok.encode_batch(corpus[i:i + batch])
            ids = torch.tensor([e.ids for e in enc])
            mask = torch.tensor([e.attention_mask for e in enc])
            h = model(input_ids=ids, attention_mask=mask).last_hidden_state
            m = mask[..., None].float()
            torch.nn.functional.normalize((h * m).sum(1) / m.sum(1).clamp(min=1e-9), p=2, dim=1)
    return len(corpus) / (time.perf_counter() - t0)


def tfx_round(tfx, d, file, batch, threads):
    r = subprocess.run([tfx, "embed", "--model", d, "--file", file, "--batch-size", str(batch), "--threads",
                        str(threads), "--out", os.path.join(os.path.dirname(file), "out.npy")],
                       capture_output=True, text=True, check=True)
    return float(re.search(r"([0-9.]+) texts/s", r.stderr).group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tfx", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--texts", type=int, default=512)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = os.path.join(tmp, "minilm_shape")
        make_folder(d)
        corpus = texts(a.texts)
        file = os.path.join(tmp, "corpus.txt")
        open(file, "w").write("\n".join(corpus) + "\n")
        best_t, best_p = 0.0, 0.0
        for r in range(a.rounds):
            t = tfx_round(a.tfx, d, file, a.batch, a.threads)
            p = torch_round(d, corpus, a.batch, a.threads)
            best_t, best_p = max(best_t, t), max(best_p, p)
            print(f"round {r + 1}: tfx {t:.1f} texts/s, PyTorch {torch.__version__} {p:.1f} texts/s", flush=True)
        print(f"best: tfx {best_t:.1f}, PyTorch {best_p:.1f} texts/s; tfx / PyTorch = {best_t / best_p:.2f} "
              f"({a.texts} texts of 8-60 words, batch {a.batch}, {a.threads} threads)")


if __name__ == "__main__":
    main()
