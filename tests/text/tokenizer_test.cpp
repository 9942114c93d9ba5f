// Tests of tfx::text::Tokenizer. The Qwen3 part proves parity with Hugging Face on the corpus
// in tests/data/tokenizer (expected ids from tools/tokenizer_parity, cross-checked against HF
// `tokenizers`); the hand-written tokenizers below carry ids computed with HF `tokenizers`
// 0.23.3 from the very same JSON.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tfx/core/error.hpp"
#include "tfx/text/tokenizer.hpp"

#ifndef TFX_SOURCE_DIR
#error "TFX_SOURCE_DIR must name the repository root"
#endif
#ifndef TFX_TEST_DATA_DIR
#error "TFX_TEST_DATA_DIR must name the folder holding qwen3-tokenizer.json (gunzipped)"
#endif

using tfx::text::Tokenizer;
using Ids = std::vector<std::int32_t>;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) FAIL("cannot open " << path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Loading the 11 MB file takes a few hundred ms: share one instance across test cases.
const Tokenizer& qwen3() {
  static const Tokenizer tok = Tokenizer::from_file(TFX_TEST_DATA_DIR "/qwen3-tokenizer.json");
  return tok;
}

const nlohmann::json& expected() {
  static const nlohmann::json j =
      nlohmann::json::parse(read_file(TFX_SOURCE_DIR "/tests/data/tokenizer/qwen3_expected.json"));
  return j;
}

std::string replace_once(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

// A byte-level BPE with ignore_merges, the merges in list form, NFC, and added tokens using
// lstrip/rstrip (<mask>), single_word and normalized (word, café); <s> via TemplateProcessing.
const std::string small_json = R"json(
{
  "version": "1.0",
  "truncation": null,
  "padding": null,
  "added_tokens": [
    {"id": 27, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 28, "content": "<mask>", "single_word": false, "lstrip": true, "rstrip": true, "normalized": false, "special": true},
    {"id": 29, "content": "word", "single_word": true, "lstrip": false, "rstrip": false, "normalized": true, "special": false},
    {"id": 30, "content": "café", "single_word": false, "lstrip": false, "rstrip": false, "normalized": true, "special": false}],
  "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}]},
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
  "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}], "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}], "special_tokens": {"<s>": {"id": "<s>", "ids": [27], "tokens": ["<s>"]}}},
  "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
  "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null, "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": true,
    "vocab": {"!": 0, "a": 1, "c": 2, "d": 3, "e": 4, "f": 5, "h": 6, "l": 7, "o": 8, "r": 9, "w": 10, "©": 11, "Ã": 12, "Ì": 13, "Ġ": 14, "ģ": 15, "he": 16, "ll": 17, "hell": 18, "Ġw": 19, "or": 20, "Ġwor": 21, "ld": 22, "Ġworld": 23, "Ġhell": 24, "Ġhello": 25, "hello": 26},
    "merges": [["h", "e"], ["l", "l"], ["he", "ll"], ["Ġ", "w"], ["o", "r"], ["Ġw", "or"], ["l", "d"], ["Ġwor", "ld"], ["Ġ", "hell"], ["Ġhell", "o"]]}
}
)json";

}  // namespace

// One test case, one load of the 11 MB file per process (CTest runs each case on its own).
TEST_CASE("Qwen3 tokenizer.json", "[text][tokenizer][qwen3]") {
  SECTION("ids match Hugging Face on every corpus text, quickly") {
    const Tokenizer& tok = qwen3();
    const auto& texts = expected().at("texts");
    const auto& ids = expected().at("ids");
    REQUIRE(texts.size() == ids.size());
    REQUIRE(texts.size() >= 60);
    std::vector<std::string> all;
    for (const auto& t : texts) all.push_back(t.get<std::string>());

    // Encode the whole corpus first, timed (the word cache is cold unless another test ran
    // before), then compare.
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<Ids> got;
    for (const auto& t : all) got.push_back(tok.encode(t));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    std::size_t matched = 0, total_ids = 0;
    for (std::size_t i = 0; i < all.size(); ++i) {
      const auto want = ids[i].get<Ids>();
      INFO("corpus text " << i << ": " << all[i]);
      CHECK(got[i] == want);
      if (got[i] == want) ++matched;
      total_ids += want.size();
    }
    REQUIRE(matched == all.size());
    INFO(total_ids << " ids in " << seconds * 1000 << " ms");
    CHECK(total_ids > 1000);
    CHECK(seconds < 1.0);  // even unoptimized builds take a few tens of ms
  }

  SECTION("decode(encode(text)) is the NFC form of the text") {
    const Tokenizer& tok = qwen3();
    const auto& texts = expected().at("texts");
    const auto& nfc = expected().at("nfc");  // String.prototype.normalize("NFC"), not utf8proc
    REQUIRE(nfc.size() == texts.size());
    std::size_t changed_by_nfc = 0;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      const auto text = texts[i].get<std::string>();
      const auto want = nfc[i].get<std::string>();
      INFO("corpus text " << i << ": " << text);
      CHECK(tok.decode(tok.encode(text)) == want);
      if (want != text) ++changed_by_nfc;
    }
    // The corpus holds decomposed text on purpose (e\u0301, Hangul jamo, U+212B, ...).
    CHECK(changed_by_nfc >= 5);
  }

  SECTION("vocabulary and special tokens") {
    const Tokenizer& tok = qwen3();
    CHECK(tok.vocab_size() == 151669);
    CHECK(tok.token_to_id("<|endoftext|>") == 151643);
    CHECK(tok.token_to_id("<|im_start|>") == 151644);
    CHECK(tok.token_to_id("<|im_end|>") == 151645);
    CHECK(tok.token_to_id("<think>") == 151667);
    CHECK(tok.token_to_id("</think>") == 151668);
    CHECK(tok.token_to_id("Hello") == 9707);
    CHECK(tok.token_to_id("\xC4\xA0") == 220);  // "Ġ", the byte-level stand-in for a space
    CHECK_FALSE(tok.token_to_id("no such token").has_value());
    CHECK(tok.id_to_token(9707) == "Hello");
    CHECK(tok.id_to_token(151645) == "<|im_end|>");
    CHECK(tok.is_special(151643));
    CHECK(tok.is_special(151645));
    CHECK_FALSE(tok.is_special(151667));  // <think> is an added token but not special
    CHECK_FALSE(tok.is_special(9707));
    CHECK_FALSE(tok.is_special(-1));
    CHECK_FALSE(tok.is_special(1 << 30));

    CHECK(tok.encode("<|endoftext|>") == Ids{151643});
    CHECK(tok.encode("<|im_start|>user\nhi<|im_end|>") == Ids{151644, 872, 198, 6023, 151645});
    const Ids chat = tok.encode("<|im_start|>user\nhi<|im_end|>");
    CHECK(tok.decode(chat) == "<|im_start|>user\nhi<|im_end|>");
    CHECK(tok.decode(chat, /*skip_special_tokens=*/true) == "user\nhi");
    CHECK(tok.decode(tok.encode("<think>x</think>"), true) == "<think>x</think>");
    // Qwen3's post-processor is ByteLevel: add_special_tokens adds nothing.
    CHECK(tok.encode("Hello, world!", true) == tok.encode("Hello, world!"));
    CHECK(tok.encode("").empty());
    CHECK(tok.decode(Ids{}).empty());
  }

  SECTION("decode gives back exact bytes, also for a split character") {
    const Tokenizer& tok = qwen3();
    // U+13000 (four bytes) has no token of its own: Qwen3 spells it with three tokens, each
    // holding part of the UTF-8 sequence. Each id alone decodes to its raw bytes (HF would show
    // U+FFFD); concatenated they form the character again.
    const Ids ids = tok.encode("\xF0\x93\x80\x80");
    CHECK(ids == Ids{124373, 222, 222});
    CHECK(tok.decode(Ids{222}) == "\x80");
    std::string joined;
    for (std::int32_t id : ids) joined += tok.decode(Ids{id});
    CHECK(joined == "\xF0\x93\x80\x80");
  }

  SECTION("concurrent encodes agree") {
    const Tokenizer& tok = qwen3();
    const auto& texts = expected().at("texts");
    const auto& ids = expected().at("ids");
    std::vector<int> ok(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        Tokenizer copy = tok;  // copies share the tables and the cache
        int good = 0;
        for (std::size_t i = 0; i < texts.size(); ++i)
          good += copy.encode(texts[i].get<std::string>()) == ids[i].get<Ids>();
        ok[static_cast<std::size_t>(t)] = good;
      });
    for (auto& th : threads) th.join();
    for (int good : ok) CHECK(good == static_cast<int>(texts.size()));
  }

  SECTION("bad input is a tfx::error that says what and where") {
    const Tokenizer& tok = qwen3();
    using Catch::Contains;
    REQUIRE_THROWS_AS(tok.encode("abc\xFF"), tfx::error);
    REQUIRE_THROWS_WITH(tok.encode("abc\xFF"), Contains("invalid UTF-8") && Contains("byte offset 3"));
    REQUIRE_THROWS_WITH(tok.encode("ab\xE4\xBD"), Contains("byte offset 2"));      // truncated
    REQUIRE_THROWS_WITH(tok.encode("\xC0\xAF"), Contains("byte offset 0"));        // overlong
    REQUIRE_THROWS_WITH(tok.encode("x\xED\xA0\x80"), Contains("byte offset 1"));   // surrogate
    REQUIRE_THROWS_WITH(tok.encode("\xF4\x90\x80\x80"), Contains("byte offset 0")); // > U+10FFFF

    REQUIRE_THROWS_AS(tok.decode(Ids{9707, 151669}), tfx::error);
    REQUIRE_THROWS_WITH(tok.decode(Ids{9707, 151669}),
                        Contains("ids[1]") && Contains("151669") && Contains("vocabulary size 151669"));
    REQUIRE_THROWS_WITH(tok.decode(Ids{-5}), Contains("-5") && Contains("out of range"));
    REQUIRE_THROWS_WITH(tok.id_to_token(200000), Contains("200000"));
  }
}

TEST_CASE("tokenizer.json problems are tfx::errors naming the file and field", "[text][tokenizer][errors]") {
  using Catch::Contains;
  using Catch::StartsWith;
  const std::string ok_model = R"("model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]})";
  REQUIRE_NOTHROW(Tokenizer::from_json("{" + ok_model + "}"));

  REQUIRE_THROWS_AS(Tokenizer::from_json("{\"model\": ", "broken.json"), tfx::error);
  REQUIRE_THROWS_WITH(Tokenizer::from_json("{\"model\": ", "broken.json"),
                      StartsWith("broken.json: malformed JSON"));
  REQUIRE_THROWS_WITH(Tokenizer::from_json("[1, 2]"), Contains("expected a JSON object"));
  REQUIRE_THROWS_WITH(Tokenizer::from_json("{}"), Contains("tokenizer.json: model: missing"));
  REQUIRE_THROWS_WITH(Tokenizer::from_json(R"({"model": {"type": "Unigram", "vocab": {}}})"),
                      Contains("model.type") && Contains("'Unigram'") && Contains("not supported"));
  REQUIRE_THROWS_WITH(Tokenizer::from_json(R"({"model": {"type": "WordPiece", "vocab": {}}})"),
                      Contains("model.unk_token") && Contains("'[UNK]' is not in model.vocab"));
  REQUIRE_THROWS_WITH(Tokenizer::from_json(R"({"model": {"type": "BPE", "merges": []}})"),
                      Contains("model.vocab: missing"));
  REQUIRE_THROWS_WITH(Tokenizer::from_json(R"({"model": {"type": "BPE", "vocab": [1]}})"),
                      Contains("model.vocab") && Contains("expected an object"));
  REQUIRE_THROWS_WITH(Tokenizer::from_json(R"({"model": {"type": "BPE", "vocab": {"a": -1}}})"),
                      Contains("model.vocab[\"a\"]") && Contains("-1"));
  REQUIRE_THROWS_WITH(Tokenizer::from_json(R"({"model": {"type": "BPE", "vocab": {"a": "x"}}})"),
                      Contains("model.vocab[\"a\"]") && Contains("expected a token id"));
  REQUIRE_THROWS_WITH(
      Tokenizer::from_json(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 0}}})"),
      Contains("id 0 is also used"));
  REQUIRE_THROWS_WITH(
      Tokenizer::from_json(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a c"]}})"),
      Contains("model.merges[0]") && Contains("'c' is not in model.vocab"));
  REQUIRE_THROWS_WITH(
      Tokenizer::from_json(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": [["a", "b"]]}})"),
      Contains("model.merges[0]") && Contains("merged token 'ab'"));
  REQUIRE_THROWS_WITH(
      Tokenizer::from_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a"]}})"),
      Contains("model.merges[0]") && Contains("\"a b\""));
  REQUIRE_THROWS_WITH(
      Tokenizer::from_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [["a"]]}})"),
      Contains("model.merges[0]"));
  REQUIRE_THROWS_WITH(
      Tokenizer::from_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "dropout": 0.1}})"),
      Contains("model.dropout"));
  REQUIRE_THROWS_WITH(Tokenizer::from_json(R"({"version": "2.0", )" + ok_model + "}"),
                      Contains("version") && Contains("'2.0'"));
  REQUIRE_THROWS_WITH(Tokenizer::from_json(R"({"normalizer": {"type": "Precompiled"}, )" + ok_model + "}"),
                      Contains("normalizer.type") && Contains("'Precompiled'"));
  REQUIRE_THROWS_WITH(
      Tokenizer::from_json(R"({"normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Strip"}]}, )" +
                           ok_model + "}"),
      Contains("normalizer.normalizers[1].type") && Contains("'Strip'"));
  REQUIRE_THROWS_WITH(
      Tokenizer::from_json(R"({"pre_tokenizer": {"type": "Whitespace"}, )" + ok_model + "}"),
      Contains("pre_tokenizer.type") && Contains("'Whitespace'"));
  REQUIRE_THROWS_WITH(
      Tokenizer::from_json(
          R"({"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(a"}, "behavior": "Isolated"}, )" +
          ok_model + "}"),
      Contains("pre_tokenizer.pattern.Regex") && Contains("cannot compile regex /(a/"));
  REQUIRE_THROWS_WITH(
      Tokenizer::from_json(
          R"({"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "a"}, "behavior": "Sideways"}, )" +
          ok_model + "}"),
      Contains("pre_tokenizer.behavior") && Contains("'Sideways'"));
  REQUIRE_THROWS_WITH(Tokenizer::from_json(R"({"decoder": {"type": "Metaspace"}, )" + ok_model + "}"),
                      Contains("decoder.type") && Contains("'Metaspace'"));
  REQUIRE_THROWS_WITH(
      Tokenizer::from_json(R"({"post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}], "special_tokens": {}}, )" +
                           ok_model + "}"),
      Contains("post_processor.special_tokens") && Contains("'<s>'"));
  // Added tokens: HF numbers them after the vocabulary; a file that says otherwise is refused.
  REQUIRE_NOTHROW(Tokenizer::from_json(
      R"({"added_tokens": [{"id": 3, "content": "<s>", "special": true}], )" + ok_model + "}"));
  REQUIRE_THROWS_WITH(
      Tokenizer::from_json(R"({"added_tokens": [{"id": 0, "content": "<s>", "special": true}], )" + ok_model + "}"),
      Contains("added_tokens[0].id") && Contains("gives it id 3"));
  REQUIRE_THROWS_WITH(
      Tokenizer::from_json(R"({"added_tokens": [{"id": 3, "content": ""}], )" + ok_model + "}"),
      Contains("added_tokens[0].content"));
  REQUIRE_THROWS_WITH(
      Tokenizer::from_json(R"({"added_tokens": [{"content": "<s>"}], )" + ok_model + "}"),
      Contains("added_tokens[0].id: missing"));
  REQUIRE_THROWS_WITH(
      Tokenizer::from_json(R"({"added_tokens": [{"id": 3, "content": "<s>", "lstrip": 1}], )" + ok_model + "}"),
      Contains("added_tokens[0].lstrip") && Contains("true or false"));

  REQUIRE_THROWS_AS(Tokenizer::from_file(TFX_SOURCE_DIR "/no/such/tokenizer.json"), tfx::error);
  REQUIRE_THROWS_WITH(Tokenizer::from_file(TFX_SOURCE_DIR "/no/such/tokenizer.json"),
                      Contains("cannot open") && Contains("no/such/tokenizer.json"));
}

TEST_CASE("hand-written tokenizer: merges, ignore_merges, added-token flags, template", "[text][tokenizer]") {
  struct Row {
    std::string text;
    Ids ids;                   // as written: ignore_merges, add_prefix_space false
    Ids without_ignore_merges; // ignore_merges false
    Ids with_prefix_space;     // ByteLevel add_prefix_space true
  };
  // Computed with Hugging Face tokenizers 0.23.3 on small_json and its two variants.
  const std::vector<Row> rows = {
      {"hello world", {26, 23}, {18, 8, 23}, {25, 23}},
      {"hello", {26}, {18, 8}, {25}},
      {" hello", {25}, {25}, {25}},
      {"hello <mask> world", {26, 28, 10, 20, 22}, {18, 8, 28, 10, 20, 22}, {25, 28, 23}},
      {"hello<mask>world", {26, 28, 10, 20, 22}, {18, 8, 28, 10, 20, 22}, {25, 28, 23}},
      {"hello \t <mask>\n  world", {26, 28, 10, 20, 22}, {18, 8, 28, 10, 20, 22}, {25, 28, 23}},
      {"<mask><mask>", {28, 28}, {28, 28}, {28, 28}},
      {"word", {29}, {29}, {29}},
      {"a word here", {1, 14, 29, 14, 16, 9, 4}, {1, 14, 29, 14, 16, 9, 4}, {14, 1, 14, 29, 14, 16, 9, 4}},
      {"wordy", {10, 20, 3}, {10, 20, 3}, {21, 3}},
      {"sword", {10, 20, 3}, {10, 20, 3}, {21, 3}},
      {"word!", {29, 0}, {29, 0}, {29, 14, 0}},
      {"(word)", {29}, {29}, {14, 29, 14}},
      {"wordword", {10, 20, 3, 10, 20, 3}, {10, 20, 3, 10, 20, 3}, {21, 3, 10, 20, 3}},
      {"cafe\u0301", {30}, {30}, {30}},
      {"caf\u00e9 hello", {30, 25}, {30, 25}, {30, 25}},
      {"", {}, {}, {}},
      {"<s>hello", {27, 26}, {27, 18, 8}, {27, 25}},
      {"h\u00e9llo", {6, 12, 11, 17, 8}, {6, 12, 11, 17, 8}, {14, 6, 12, 11, 17, 8}},
      {"hello!!", {26, 0, 0}, {18, 8, 0, 0}, {25, 0, 0}},
  };
  const Tokenizer tok = Tokenizer::from_json(small_json, "small.json");
  const Tokenizer no_ignore =
      Tokenizer::from_json(replace_once(small_json, "\"ignore_merges\": true", "\"ignore_merges\": false"));
  const Tokenizer prefix = Tokenizer::from_json(
      replace_once(small_json, "\"add_prefix_space\": false", "\"add_prefix_space\": true"));
  // The same merges in the legacy "a b" string form.
  nlohmann::json legacy = nlohmann::json::parse(small_json);
  for (auto& m : legacy["model"]["merges"]) m = m[0].get<std::string>() + " " + m[1].get<std::string>();
  const Tokenizer legacy_tok = Tokenizer::from_json(legacy.dump());

  for (const Row& r : rows) {
    INFO("text: " << r.text);
    CHECK(tok.encode(r.text) == r.ids);
    CHECK(legacy_tok.encode(r.text) == r.ids);
    CHECK(no_ignore.encode(r.text) == r.without_ignore_merges);
    CHECK(prefix.encode(r.text) == r.with_prefix_space);
  }

  CHECK(tok.vocab_size() == 31);
  CHECK(tok.token_to_id("<mask>") == 28);
  CHECK(tok.token_to_id("hello") == 26);
  CHECK(tok.is_special(27));
  CHECK(tok.is_special(28));
  CHECK_FALSE(tok.is_special(29));
  CHECK(tok.encode("hello", true) == Ids{27, 26});
  CHECK(tok.encode("", true) == Ids{27});
  CHECK(tok.decode(Ids{27, 26, 28, 23}) == "<s>hello<mask> world");
  CHECK(tok.decode(Ids{27, 26, 28, 23}, true) == "hello world");
  // "café" is an added token whose "é" is also the byte-level stand-in for byte 0xE9, so the
  // ByteLevel decoder turns it into that byte: the exact bytes are "caf\xE9" (HF prints the
  // same bytes through from_utf8_lossy, i.e. "caf\uFFFD").
  CHECK(tok.decode(Ids{30}) == "caf\xE9");

  // Llama-3 style: Sequence[ByteLevel, TemplateProcessing].
  std::string seq_json = replace_once(
      small_json, "\"post_processor\": {\"type\": \"TemplateProcessing\",",
      R"("post_processor": {"type": "Sequence", "processors": [)"
      R"({"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true}, )"
      R"({"type": "TemplateProcessing",)");
  seq_json = replace_once(seq_json, ",\n  \"decoder\"", "]},\n  \"decoder\"");
  const Tokenizer seq = Tokenizer::from_json(seq_json);
  CHECK(seq.encode("hello world", true) == Ids{27, 26, 23});
  CHECK(seq.encode("hello world") == Ids{26, 23});
}

TEST_CASE("Split pre-tokenizer: every behavior, with and without invert", "[text][tokenizer]") {
  struct Row {
    const char* kind;  // "Regex" or "String"
    const char* pattern;
    const char* behavior;
    bool invert;
    const char* text;
    const char* pieces;  // HF pre_tokenize_str result joined by '|'
  };
  // Computed with Hugging Face tokenizers 0.23.3 (tokenizers.pre_tokenizers.Split).
  const Row rows[] = {
      {"Regex", "-", "Removed", false, "a-b--c", "a|b|c"},
      {"Regex", "-", "Removed", false, "-a-", "a"},
      {"Regex", "-", "Removed", false, "a.b-c", "a.b|c"},
      {"Regex", "-", "Removed", false, "--", ""},
      {"Regex", "-", "Removed", false, "abc", "abc"},
      {"Regex", "-", "Removed", true, "a-b--c", "-|-|-"},
      {"Regex", "-", "Removed", true, "-a-", "-|-"},
      {"Regex", "-", "Removed", true, "a.b-c", "-"},
      {"Regex", "-", "Removed", true, "--", "-|-"},
      {"Regex", "-", "Removed", true, "abc", ""},
      {"Regex", "-", "Isolated", false, "a-b--c", "a|-|b|-|-|c"},
      {"Regex", "-", "Isolated", false, "-a-", "-|a|-"},
      {"Regex", "-", "Isolated", false, "a.b-c", "a.b|-|c"},
      {"Regex", "-", "Isolated", false, "--", "-|-"},
      {"Regex", "-", "Isolated", false, "abc", "abc"},
      {"Regex", "-", "Isolated", true, "a-b--c", "a|-|b|-|-|c"},
      {"Regex", "-", "Isolated", true, "-a-", "-|a|-"},
      {"Regex", "-", "Isolated", true, "a.b-c", "a.b|-|c"},
      {"Regex", "-", "Isolated", true, "--", "-|-"},
      {"Regex", "-", "Isolated", true, "abc", "abc"},
      {"Regex", "-", "MergedWithPrevious", false, "a-b--c", "a-|b-|-|c"},
      {"Regex", "-", "MergedWithPrevious", false, "-a-", "-|a-"},
      {"Regex", "-", "MergedWithPrevious", false, "a.b-c", "a.b-|c"},
      {"Regex", "-", "MergedWithPrevious", false, "--", "-|-"},
      {"Regex", "-", "MergedWithPrevious", false, "abc", "abc"},
      {"Regex", "-", "MergedWithPrevious", true, "a-b--c", "a|-b|-|-c"},
      {"Regex", "-", "MergedWithPrevious", true, "-a-", "-a|-"},
      {"Regex", "-", "MergedWithPrevious", true, "a.b-c", "a.b|-c"},
      {"Regex", "-", "MergedWithPrevious", true, "--", "-|-"},
      {"Regex", "-", "MergedWithPrevious", true, "abc", "abc"},
      {"Regex", "-", "MergedWithNext", false, "a-b--c", "a|-b|-|-c"},
      {"Regex", "-", "MergedWithNext", false, "-a-", "-a|-"},
      {"Regex", "-", "MergedWithNext", false, "a.b-c", "a.b|-c"},
      {"Regex", "-", "MergedWithNext", false, "--", "-|-"},
      {"Regex", "-", "MergedWithNext", false, "abc", "abc"},
      {"Regex", "-", "MergedWithNext", true, "a-b--c", "a-|b-|-|c"},
      {"Regex", "-", "MergedWithNext", true, "-a-", "-|a-"},
      {"Regex", "-", "MergedWithNext", true, "a.b-c", "a.b-|c"},
      {"Regex", "-", "MergedWithNext", true, "--", "-|-"},
      {"Regex", "-", "MergedWithNext", true, "abc", "abc"},
      {"Regex", "-", "Contiguous", false, "a-b--c", "a|-|b|--|c"},
      {"Regex", "-", "Contiguous", false, "-a-", "-|a|-"},
      {"Regex", "-", "Contiguous", false, "a.b-c", "a.b|-|c"},
      {"Regex", "-", "Contiguous", false, "--", "--"},
      {"Regex", "-", "Contiguous", false, "abc", "abc"},
      {"Regex", "-", "Contiguous", true, "a-b--c", "a|-|b|--|c"},
      {"Regex", "-", "Contiguous", true, "-a-", "-|a|-"},
      {"Regex", "-", "Contiguous", true, "a.b-c", "a.b|-|c"},
      {"Regex", "-", "Contiguous", true, "--", "--"},
      {"Regex", "-", "Contiguous", true, "abc", "abc"},
      {"String", ".", "Removed", false, "a-b--c", "a-b--c"},
      {"String", ".", "Removed", false, "-a-", "-a-"},
      {"String", ".", "Removed", false, "a.b-c", "a|b-c"},
      {"String", ".", "Removed", false, "--", "--"},
      {"String", ".", "Removed", false, "abc", "abc"},
      {"String", ".", "Removed", true, "a-b--c", ""},
      {"String", ".", "Removed", true, "-a-", ""},
      {"String", ".", "Removed", true, "a.b-c", "."},
      {"String", ".", "Removed", true, "--", ""},
      {"String", ".", "Removed", true, "abc", ""},
      {"String", ".", "Isolated", false, "a-b--c", "a-b--c"},
      {"String", ".", "Isolated", false, "-a-", "-a-"},
      {"String", ".", "Isolated", false, "a.b-c", "a|.|b-c"},
      {"String", ".", "Isolated", false, "--", "--"},
      {"String", ".", "Isolated", false, "abc", "abc"},
      {"String", ".", "Isolated", true, "a-b--c", "a-b--c"},
      {"String", ".", "Isolated", true, "-a-", "-a-"},
      {"String", ".", "Isolated", true, "a.b-c", "a|.|b-c"},
      {"String", ".", "Isolated", true, "--", "--"},
      {"String", ".", "Isolated", true, "abc", "abc"},
      {"String", ".", "MergedWithPrevious", false, "a-b--c", "a-b--c"},
      {"String", ".", "MergedWithPrevious", false, "-a-", "-a-"},
      {"String", ".", "MergedWithPrevious", false, "a.b-c", "a.|b-c"},
      {"String", ".", "MergedWithPrevious", false, "--", "--"},
      {"String", ".", "MergedWithPrevious", false, "abc", "abc"},
      {"String", ".", "MergedWithPrevious", true, "a-b--c", "a-b--c"},
      {"String", ".", "MergedWithPrevious", true, "-a-", "-a-"},
      {"String", ".", "MergedWithPrevious", true, "a.b-c", "a|.b-c"},
      {"String", ".", "MergedWithPrevious", true, "--", "--"},
      {"String", ".", "MergedWithPrevious", true, "abc", "abc"},
      {"String", ".", "MergedWithNext", false, "a-b--c", "a-b--c"},
      {"String", ".", "MergedWithNext", false, "-a-", "-a-"},
      {"String", ".", "MergedWithNext", false, "a.b-c", "a|.b-c"},
      {"String", ".", "MergedWithNext", false, "--", "--"},
      {"String", ".", "MergedWithNext", false, "abc", "abc"},
      {"String", ".", "MergedWithNext", true, "a-b--c", "a-b--c"},
      {"String", ".", "MergedWithNext", true, "-a-", "-a-"},
      {"String", ".", "MergedWithNext", true, "a.b-c", "a.|b-c"},
      {"String", ".", "MergedWithNext", true, "--", "--"},
      {"String", ".", "MergedWithNext", true, "abc", "abc"},
      {"String", ".", "Contiguous", false, "a-b--c", "a-b--c"},
      {"String", ".", "Contiguous", false, "-a-", "-a-"},
      {"String", ".", "Contiguous", false, "a.b-c", "a|.|b-c"},
      {"String", ".", "Contiguous", false, "--", "--"},
      {"String", ".", "Contiguous", false, "abc", "abc"},
      {"String", ".", "Contiguous", true, "a-b--c", "a-b--c"},
      {"String", ".", "Contiguous", true, "-a-", "-a-"},
      {"String", ".", "Contiguous", true, "a.b-c", "a|.|b-c"},
      {"String", ".", "Contiguous", true, "--", "--"},
      {"String", ".", "Contiguous", true, "abc", "abc"},
  };
  const std::string vocab =
      R"({"-": 0, "--": 1, "-a": 2, "-a-": 3, "-b": 4, "-c": 5, ".": 6, ".b-c": 7, "a": 8, "a-": 9, )"
      R"("a-b--c": 10, "a.": 11, "a.b": 12, "a.b-": 13, "abc": 14, "b": 15, "b-": 16, "b-c": 17, "c": 18})";
  for (const Row& r : rows) {
    // ignore_merges emits each whole piece found in the vocabulary: the ids show the splits.
    const std::string json = std::string(R"({"pre_tokenizer": {"type": "Split", "pattern": {")") + r.kind +
                             "\": \"" + r.pattern + "\"}, \"behavior\": \"" + r.behavior +
                             "\", \"invert\": " + (r.invert ? "true" : "false") +
                             R"(}, "model": {"type": "BPE", "ignore_merges": true, "merges": [], "vocab": )" +
                             vocab + "}}";
    const Tokenizer tok = Tokenizer::from_json(json);
    std::string pieces;
    for (std::int32_t id : tok.encode(r.text)) {
      if (!pieces.empty()) pieces += '|';
      pieces += tok.id_to_token(id);
    }
    INFO(r.kind << " " << r.pattern << " " << r.behavior << " invert=" << r.invert << " text=" << r.text);
    CHECK(pieces == r.pieces);
  }
}

TEST_CASE("regex: Oniguruma escapes keep their Oniguruma meaning under PCRE2", "[text][regex]") {
  auto matches = [](const char* pattern, const std::string& text) {
    const auto re = tfx::text::Regex::compile(pattern, "test");
    std::vector<std::string> out;
    for (auto [b, e] : re.find_all(text)) out.push_back(text.substr(b, e - b));
    return out;
  };
  using V = std::vector<std::string>;
  // Expected matches computed with HF tokenizers 0.23.3 (Split(Regex(p), "removed", invert=True)).
  // U+180E is not \s in Oniguruma (it is in PCRE2); U+0085, VT, U+2028, NBSP are.
  CHECK(matches(R"(\s+)", "a\u180Eb \u0085\x0B\u2028c\u00A0") == V{" \u0085\x0B\u2028", "\u00A0"});
  CHECK(matches(R"(\S+)", "a\u180Eb c") == V{"a\u180Eb", "c"});
  CHECK(matches(R"([^\s\p{L}]+)", "a\u180E!b c") == V{"\u180E!"});
  // \w: ² and ½ only outside a class; Nl and circled letters in; ZWJ out.
  CHECK(matches(R"(\w+)", "a\u00B2b \u00BDc\u2160d\u24B6e_\u200Df") ==
        V{"a\u00B2b", "\u00BDc\u2160d\u24B6e_", "f"});
  CHECK(matches(R"([\w]+)", "a\u00B2b\u0301\u2160") == V{"a", "b\u0301\u2160"});
  CHECK(matches(R"(\W+)", "a\u00B2b, \u200D!") == V{", \u200D!"});
  CHECK(matches(R"(\b\w)", "ab c\u00B2d") == V{"a", "c"});
  CHECK(matches(R"(\B.)", "ab c") == V{"b"});
  CHECK(matches(R"(\h+)", "xyz09af G") == V{"09af"});  // hex digits, not horizontal space
  CHECK(matches(R"(\v)", "a\x0B" "b\nc") == V{"\x0B"});  // the VT character only
  CHECK(matches(R"((?i:'s|'t))", "it'S it'\u017F don'T") == V{"'S", "'\u017F", "'T"});
  CHECK(matches(R"(\Q\s+\E)", "a\\s+b  cQ E") == V{"Q E"});  // Ruby syntax has no \Q..\E
  // Empty matches: skipped right after the previous match, as the Rust onig crate does.
  CHECK(matches("a*", "baaa") == V{"", "aaa"});
  REQUIRE_THROWS_WITH(tfx::text::Regex::compile("[a", "here"),
                      Catch::Contains("here: cannot compile regex /[a/"));
}
