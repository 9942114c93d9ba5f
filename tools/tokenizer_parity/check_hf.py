#!/usr/bin/env python3
"""Cross-checks tokenizer parity with Hugging Face's own `tokenizers` (the Rust library).

Default: verifies tests/data/tokenizer/qwen3_expected.json (written by make_expected.mjs with
@lenml/tokenizers) against HF `tokenizers` on tests/data/tokenizer/qwen3-tokenizer.json.gz:
the ids of every text, and that HF decodes them back to the recorded NFC text.

  python3 tools/tokenizer_parity/check_hf.py            # report; exit 1 on any disagreement
  python3 tools/tokenizer_parity/check_hf.py --write    # also store HF's ids where the JS
                                                        # reference disagrees (HF is the truth)
  python3 tools/tokenizer_parity/check_hf.py --tfx /tmp/tfx_tokenize
                                                        # also compare tfx's C++ tokenizer
  python3 tools/tokenizer_parity/check_hf.py --tokenizer other/tokenizer.json \\
      --corpus tests/data/tokenizer/corpus.json --tfx /tmp/tfx_tokenize
                                                        # any tokenizer.json: HF vs tfx only
  python3 tools/tokenizer_parity/check_hf.py --fuzz 5000 --seed 1 --tfx /tmp/tfx_tokenize
                                                        # random texts: HF vs tfx only

Requires `pip install tokenizers`.
"""
import argparse
import atexit
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from tokenizers import Tokenizer, __version__ as hf_version

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "tokenizer"


def read_text(path: Path) -> str:
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return f.read()
    return path.read_text(encoding="utf-8")


# Pieces that stress the pre-tokenizer regexes, normalization and added-token matching.
FUZZ_POOL = (
    list("abcXYZ019 '\n\r\t.,!?-_\"<>|/\\~`@#$%^&*()[]{}")
    + ["'s", "'S", "'t", "'ll", "'LL", "'re", "'ve", "'M", "'D", "'\u017f", "'\u212a", "'\u0130"]
    + [chr(c) for c in (0xA0, 0x1680, 0x2000, 0x2005, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
                        0x85, 0x0B, 0x0C, 0x180E, 0xFEFF, 0x200B, 0x200C, 0x200D, 0x2060)]
    + list("\u00e9\u00e8\u00f1\u00fc\u00df\u00f8\u00c5\u03a9\u03c0\u0436\u20ac")
    + ["e\u0301", "a\u0308", "\u0301", "\u0323\u0302", "o\u0308\u0301", "\u1100\u1161", "\u11a8", "\u212b", "\uf900"]
    + list("\u4f60\u597d\u4e16\u754c\u65e5\u672c\u8a9e\u30ab\u30bf\u3072\u3089\ud55c\uad6d\uc5b4")
    + list("\u0662\u0665\u096a\uff11\u00bd\u00b2\u216b")
    + ["\U0001F600", "\U0001F44D\U0001F3FD", "\U0001F468\u200d\U0001F469\u200d\U0001F467", "\U0001F1FA\U0001F1F8", "1\ufe0f\u20e3"]
    + ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>", "<|begin_of_text|>", "<|im_", "|>", "<|"]
    + ["  ", "    ", "\n\n", "\r\n", " \n"]
)


def fuzz_texts(n, seed):
    """Random texts from FUZZ_POOL plus random code points that Python's unicodedata knows.
    Known, rare differences (docs/tokenizer.md): code points newer than the system PCRE2's
    Unicode version, and combining marks newer than HF's Unicode 9.0 normalization tables."""
    import random
    import unicodedata
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(0, 25)):
            if rng.random() < 0.3:
                while True:
                    c = rng.randint(0x20, 0x2FFFF)
                    if not 0xD800 <= c <= 0xDFFF and unicodedata.category(chr(c)) not in ("Cn", "Co", "Cs"):
                        break
                parts.append(chr(c))
            else:
                parts.append(rng.choice(FUZZ_POOL))
        texts.append("".join(parts))
    return texts


def temp_json(write) -> str:
    """A temporary .json file filled by write(file), removed when the script exits."""
    tmp = tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8", delete=False)
    atexit.register(os.unlink, tmp.name)
    with tmp:
        write(tmp)
    return tmp.name


def show(i, text, label_a, a, label_b, b):
    print(f"  text {i}: {text[:70]!r}")
    print(f"    {label_a}: {a}")
    print(f"    {label_b}: {b}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizer", type=Path, default=DATA / "qwen3-tokenizer.json.gz")
    ap.add_argument("--expected", type=Path, default=DATA / "qwen3_expected.json")
    ap.add_argument("--corpus", type=Path, help="JSON list of texts; HF vs --tfx only, no expected file")
    ap.add_argument("--tfx", type=Path, help="tfx_tokenize binary (see tfx_tokenize.cpp) to compare too")
    ap.add_argument("--add-special-tokens", action="store_true")
    ap.add_argument("--write", action="store_true", help="store HF's ids where the expected file disagrees")
    ap.add_argument("--fuzz", type=int, metavar="N", help="compare HF and --tfx on N random texts")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.add_special_tokens and not (args.corpus or args.fuzz):
        ap.error("the expected file holds ids without special tokens: use --add-special-tokens "
                 "with --corpus or --fuzz")
    if args.fuzz:
        if not args.tfx:
            ap.error("--fuzz needs --tfx")
        texts = fuzz_texts(args.fuzz, args.seed)
        args.corpus = Path(temp_json(lambda f: json.dump(texts, f, ensure_ascii=False)))

    tok = Tokenizer.from_str(read_text(args.tokenizer))
    print(f"HF tokenizers {hf_version}; tokenizer {args.tokenizer}")
    failures = 0

    expected = None
    if args.corpus:
        texts = json.loads(args.corpus.read_text(encoding="utf-8"))
        if isinstance(texts, dict):
            texts = texts["texts"]
    else:
        expected = json.loads(args.expected.read_text(encoding="utf-8"))
        texts = expected["texts"]
    hf_ids = [tok.encode(t, add_special_tokens=args.add_special_tokens).ids for t in texts]

    if expected is not None:
        # Entries already overridden by an earlier --write hold HF's ids; compare the JS ids.
        overrides = {o["index"]: o for o in expected.get("hf_overrides", [])}
        js_ids = [overrides[i]["lenml_ids"] if i in overrides else ids for i, ids in enumerate(expected["ids"])]
        disagree = [i for i, (a, b) in enumerate(zip(js_ids, hf_ids)) if a != b]
        print(f"@lenml/tokenizers vs HF: {len(texts) - len(disagree)}/{len(texts)} texts agree")
        for i in disagree:
            show(i, texts[i], "lenml", js_ids[i], "HF   ", hf_ids[i])
        stale = [i for i, (a, b) in enumerate(zip(expected["ids"], hf_ids)) if a != b]
        if args.write:
            expected["ids"] = hf_ids
            expected["hf_overrides"] = [
                {"index": i, "text": texts[i], "lenml_ids": js_ids[i],
                 "note": f"@lenml/tokenizers disagrees with HF tokenizers {hf_version}; HF ids stored"}
                for i in disagree
            ]
            body = json.dumps(expected, ensure_ascii=False, indent=1)
            # one line per id list, as make_expected.mjs writes it
            body = re.sub(r"\[\n\s*((?:-?\d+,\n\s*)*-?\d+)\n\s*\]",
                          lambda m: "[" + re.sub(r",\n\s*", ", ", m.group(1)) + "]", body)
            args.expected.write_text(body + "\n", encoding="utf-8")
            print(f"wrote {args.expected} ({len(disagree)} HF overrides)")
        elif stale:
            print(f"expected ids differ from HF for {len(stale)} texts: run with --write")
            failures += len(stale)
        nfc = expected.get("nfc")
        if nfc:
            bad = [i for i, ids in enumerate(hf_ids) if tok.decode(ids, skip_special_tokens=False) != nfc[i]]
            print(f"HF decode(encode(text)) == nfc: {len(texts) - len(bad)}/{len(texts)}")
            failures += len(bad)

    if args.tfx:
        cmd = [str(args.tfx), str(args.tokenizer), str(args.corpus or args.expected)]
        if args.add_special_tokens:
            cmd.append("--add-special-tokens")
        if args.tokenizer.suffix == ".gz":
            text = read_text(args.tokenizer)
            cmd[1] = temp_json(lambda f: f.write(text))
        run = subprocess.run(cmd, capture_output=True)
        if run.returncode != 0:
            print(f"{' '.join(cmd)} failed:\n{run.stderr.decode(errors='replace')}")
            return 1
        out = json.loads(run.stdout)
        bad = [i for i, (a, b) in enumerate(zip(out["ids"], hf_ids)) if a != b]
        print(f"tfx vs HF: {len(texts) - len(bad)}/{len(texts)} texts agree")
        for i in bad:
            show(i, texts[i], "tfx", out["ids"][i], "HF ", hf_ids[i])
        failures += len(bad)
        dec = [i for i, ids in enumerate(hf_ids) if out["decoded"][i] != tok.decode(ids, skip_special_tokens=False)]
        print(f"tfx decode vs HF decode: {len(texts) - len(dec)}/{len(texts)} texts agree")
        failures += len(dec)

    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
