#!/usr/bin/env python3
"""WordPiece (BERT) tokenizer parity data: two BERT tokenizers (uncased and cased vocabularies) trained with
Hugging Face `tokenizers` on a corpus assembled for the BERT normalizer's corners, and the ids HF gives.

    python3 tools/tokenizer_parity/make_wordpiece.py     # writes tests/data/tokenizer/bert_*.json

Outputs (tests/data/tokenizer/):
  bert-uncased-tokenizer.json, bert-cased-tokenizer.json   tokenizer.json as `tokenizers` saves it
  bert_expected.json  {"texts": [...], "pairs": [[a, b], ...], "max_length": N,
                       "<name>": {"single": [{ids, type_ids}], "pair": [...], "truncated_single": [...],
                                  "truncated_pair": [...], "decoded": [...]}}
The texts are the shared tokenizer corpus (corpus.json) plus BERT-specific ones: accents, Chinese characters,
control characters, punctuation of every kind, words longer than max_input_chars_per_word, empty input.
Requires `pip install tokenizers`.
"""
import json
import os

import tokenizers
from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors, trainers
from tokenizers.models import WordPiece

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "data", "tokenizer")
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

EXTRA = [
    "",
    "   ",
    "Café déjà vu, naïve façade; Ångström and Ærø.",
    "CAFÉ DÉJÀ VU — ÜBER STRAẞE İstanbul ΣΊΣΥΦΟΣ",
    "我爱北京天安门。中文和English混合的句子！",
    "日本語のテキストと한국어 텍스트",
    "Hello,world!!! (test) [x] {y} <z> “quotes” ‘single’ «guillemets» ¿qué? ¡sí!",
    "a\u0000b\u0007c\u200bd\ufeffe\u00adf\ufffdg",
    "tabs\tand\nnewlines\r\nand\u00a0nbsp\u3000ideographic space",
    "x" * 99 + " " + "y" * 100 + " " + "z" * 101 + " " + "é" * 101,
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopic",
    "3.14159 1,000,000 42% $5.99 #hashtag @user e-mail: a.b@c.de http://example.com/path?q=1",
    "##not a continuation [CLS] and [SEP] and [MASK] in text [UNK]",
    "emoji 😀👍🏽 and symbols ©®™ ± × ÷ ∞ ≠ ≤",
    "don't won't I'm you're we've it's",
    "e\u0301 vs é, A\u030a vs Å, ﬁ ligature, ① circled, ｆｕｌｌｗｉｄｔｈ",
]


def corpus():
    shared = json.load(open(os.path.join(OUT, "corpus.json"), encoding="utf-8"))
    texts = shared["texts"] if isinstance(shared, dict) else shared
    out = []
    for t in list(texts) + EXTRA:
        if t not in out:
            out.append(t)
    return out


def build(texts, lowercase):
    tok = Tokenizer(WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                                lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=700, special_tokens=SPECIALS, min_frequency=1)
    tok.train_from_iterator(texts, trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    return tok


def encode_all(tok, texts, pairs, max_length):
    def enc(e):
        return {"ids": e.ids, "type_ids": e.type_ids}

    tok.no_truncation()
    single = [enc(tok.encode(t)) for t in texts]
    pair = [enc(tok.encode(a, b)) for a, b in pairs]
    decoded = [tok.decode(s["ids"], skip_special_tokens=True) for s in single]
    tok.enable_truncation(max_length=max_length)
    tsingle = [enc(tok.encode(t)) for t in texts]
    tpair = [enc(tok.encode(a, b)) for a, b in pairs]
    tok.no_truncation()
    return {"single": single, "pair": pair, "truncated_single": tsingle, "truncated_pair": tpair,
            "decoded": decoded}


def main():
    texts = corpus()
    nonempty = [t for t in texts if t.strip()]
    pairs = [[nonempty[i], nonempty[i + 1]] for i in range(0, len(nonempty) - 1, 3)]
    pairs.append(["", "only the second"])
    max_length = 16
    doc = {"generator": "tools/tokenizer_parity/make_wordpiece.py", "tokenizers": tokenizers.__version__,
           "texts": texts, "pairs": pairs, "max_length": max_length}
    for name, lower in (("bert-uncased", True), ("bert-cased", False)):
        tok = build(texts, lower)
        tok.save(os.path.join(OUT, name + "-tokenizer.json"))
        doc[name] = encode_all(tok, texts, pairs, max_length)
        print(f"{name}: vocab {tok.get_vocab_size()}, {len(texts)} texts, {len(pairs)} pairs")
    with open(os.path.join(OUT, "bert_expected.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
