#!/usr/bin/env python3
"""Step 1 of the tiny-fortunes pipeline: train the byte-level BPE tokenizer and
encode the corpus.

Needs the Hugging Face ``tokenizers`` package (``pip install tokenizers``), so
run it with a Python that has it (the pip ``python3``).  ``train.py`` calls it
automatically when its encoded corpus is missing or stale.

Reads:  /usr/share/games/fortunes/*   (Debian packages fortunes, fortunes-min)
Writes: <out>/tokenizer.json, <out>/tokenizer_config.json,
        <work>/corpus.u16 (token ids, uint16 LE), <work>/corpus.json (metadata)
"""

import argparse
import array
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from corpus import EOT, read_fortunes  # noqa: E402

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers  # noqa: E402

# The split regex of Qwen2 / Qwen2.5 / Qwen3's tokenizer.json.
QWEN_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
              r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def build_tokenizer(entries, vocab_size):
    tok = Tokenizer(models.BPE(unk_token=None, byte_fallback=False, fuse_unk=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[EOT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(entries, trainer=trainer, length=len(entries))
    return tok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "models", "tiny-fortunes"))
    ap.add_argument("--work", default=os.path.join(HERE, "scratch"))
    ap.add_argument("--vocab-size", type=int, default=4096)
    ap.add_argument("--max-len", type=int, default=512)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.work, exist_ok=True)

    entries, digest = read_fortunes()
    print("corpus: %d fortunes, %d chars, sha256 %s" % (
        len(entries), sum(len(e) for e in entries), digest[:16]), flush=True)

    tok = build_tokenizer(entries, args.vocab_size)
    eot = tok.token_to_id(EOT)
    assert tok.get_vocab_size() == args.vocab_size, tok.get_vocab_size()
    path = os.path.join(args.out, "tokenizer.json")
    tok.save(path)
    # Make the ByteLevel components read exactly like Qwen2/Qwen3's tokenizer.json
    # (the flags are no-ops for encoding/decoding here, but keep loaders on the known path).
    with open(path, encoding="utf-8") as f:
        tj = json.load(f)
    qwen_bl = {"add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    tj["pre_tokenizer"]["pretokenizers"][1].update(qwen_bl)
    tj["post_processor"].update(qwen_bl)
    tj["decoder"].update(qwen_bl)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False, indent=2)
        f.write("\n")
    # reload from disk so that the ids below are exactly what the saved file produces
    tok = Tokenizer.from_file(os.path.join(args.out, "tokenizer.json"))

    tok_cfg = {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": {
            str(eot): {"content": EOT, "lstrip": False, "normalized": False,
                       "rstrip": False, "single_word": False, "special": True},
        },
        "bos_token": EOT,
        "clean_up_tokenization_spaces": False,
        "eos_token": EOT,
        "errors": "replace",
        "model_max_length": args.max_len,
        "pad_token": EOT,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "unk_token": None,
    }
    with open(os.path.join(args.out, "tokenizer_config.json"), "w") as f:
        json.dump(tok_cfg, f, indent=2)
        f.write("\n")

    # Encode: <|endoftext|> entry <|endoftext|> entry ... <|endoftext|>
    ids = array.array("H", [eot])
    starts = []
    for enc in tok.encode_batch(entries, add_special_tokens=False):
        starts.append(len(ids))
        ids.extend(enc.ids)
        ids.append(eot)
    if sys.byteorder != "little":
        ids.byteswap()
    with open(os.path.join(args.work, "corpus.u16"), "wb") as f:
        ids.tofile(f)
    meta = {"corpus_sha256": digest, "n_entries": len(entries), "n_tokens": len(ids),
            "eot_id": eot, "vocab_size": tok.get_vocab_size(), "entry_starts": starts}
    with open(os.path.join(args.work, "corpus.json"), "w") as f:
        json.dump(meta, f)
    print("tokenizer: vocab %d, eot id %d; corpus: %d tokens (%.2f chars/token)" % (
        tok.get_vocab_size(), eot, len(ids),
        sum(len(e) for e in entries) / len(ids)), flush=True)


if __name__ == "__main__":
    main()
