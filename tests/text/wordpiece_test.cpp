// WordPiece (BERT) tokenizers against Hugging Face `tokenizers`: two tokenizer.json files (uncased and cased
// vocabularies, BERT normalizer and pre-tokenizer, [CLS] A [SEP] B [SEP] template) and the ids, token types,
// truncated encodings and decoded texts HF gives on a corpus built for the normalizer's corners
// (tools/tokenizer_parity/make_wordpiece.py).
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tfx/core/error.hpp"
#include "tfx/text/tokenizer.hpp"

using tfx::text::Tokenizer;
using Ids = std::vector<std::int32_t>;

namespace {
const std::string dir = TFX_SOURCE_DIR "/tests/data/tokenizer/";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) FAIL("cannot open " << path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const nlohmann::json& expected() {
  static const nlohmann::json j = nlohmann::json::parse(read_file(dir + "bert_expected.json"));
  return j;
}

void check(const tfx::text::Encoding& got, const nlohmann::json& want, const std::string& what) {
  INFO(what);
  CHECK(got.ids == want.at("ids").get<Ids>());
  CHECK(got.type_ids == want.at("type_ids").get<Ids>());
}
}  // namespace

TEST_CASE("WordPiece tokenizers match Hugging Face tokenizers on the BERT corpus", "[text][tokenizer][wordpiece]") {
  const auto& e = expected();
  const auto texts = e.at("texts").get<std::vector<std::string>>();
  const auto pairs = e.at("pairs").get<std::vector<std::vector<std::string>>>();
  const auto max_length = e.at("max_length").get<std::size_t>();
  REQUIRE(texts.size() > 100);
  for (const char* name : {"bert-uncased", "bert-cased"}) {
    SECTION(name) {
      const auto tok = Tokenizer::from_file(dir + name + "-tokenizer.json");
      const auto& want = e.at(name);
      std::size_t unknown = 0, cut = 0;
      for (std::size_t i = 0; i < texts.size(); ++i) {
        const std::string what = std::string(name) + " text " + std::to_string(i) + ": " + texts[i];
        const auto enc = tok.encode_with_types(texts[i]);
        check(enc, want.at("single")[i], what);
        CHECK(tok.encode(texts[i], true) == enc.ids);
        const auto tr = tok.encode_with_types(texts[i], std::nullopt, max_length);
        check(tr, want.at("truncated_single")[i], what + " (truncated)");
        CHECK(tr.truncated == (enc.ids.size() > max_length));
        cut += tr.truncated;
        INFO(what);
        CHECK(tok.decode(enc.ids, true) == want.at("decoded")[i].get<std::string>());
        for (auto id : enc.ids) unknown += id == *tok.token_to_id("[UNK]");
      }
      for (std::size_t i = 0; i < pairs.size(); ++i) {
        const std::string what = std::string(name) + " pair " + std::to_string(i);
        check(tok.encode_with_types(pairs[i][0], pairs[i][1]), want.at("pair")[i], what);
        check(tok.encode_with_types(pairs[i][0], pairs[i][1], max_length), want.at("truncated_pair")[i],
              what + " (truncated)");
      }
      CHECK(unknown > 0);  // the corpus reaches [UNK] (long words, characters outside the vocabulary)
      CHECK(cut > 10);     // and truncation
      CHECK(tok.pad_id() == tok.token_to_id("[PAD]"));
    }
  }
}

TEST_CASE("WordPiece: long words, continuation prefix and unknown pieces", "[text][tokenizer][wordpiece]") {
  const std::string json = R"({"version": "1.0", "added_tokens": [],
    "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                   "strip_accents": null, "lowercase": true},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
    "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
              "max_input_chars_per_word": 5,
              "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "un": 4, "##aff": 5, "##able": 6,
                        "cafe": 7, ",": 8, "中": 9, "##x": 10}}})";
  const auto tok = Tokenizer::from_json(json, "wp.json");
  // "unaffable" has 9 characters > 5: unknown as a whole; "Café" -> "cafe" (accents stripped, lowercased).
  CHECK(tok.encode("Café, un中") == Ids{7, 8, 4, 9});
  CHECK(tok.encode("unaffable") == Ids{1});
  CHECK(tok.encode("unx") == Ids{4, 10});
  CHECK(tok.encode("unq") == Ids{1});  // "##q" is not in the vocabulary: the whole word is unknown
  const auto pair = tok.encode_with_types("cafe", "un");
  CHECK(pair.ids == Ids{2, 7, 3, 4, 3});
  CHECK(pair.type_ids == Ids{0, 0, 0, 1, 1});
  CHECK(tok.decode(Ids{7, 8, 4, 10}) == "cafe, unx");
  CHECK_THROWS_WITH(tok.encode_with_types("cafe", std::nullopt, 1), Catch::Contains("max_length 1 is shorter than the 2 special tokens"));
  std::string bad = json;
  bad.replace(bad.find(R"("unk_token": "[UNK]")"), 20, R"("unk_token": "<unk>")");
  CHECK_THROWS_WITH(Tokenizer::from_json(bad, "wp.json"), Catch::Contains("unk_token '<unk>' is not in model.vocab"));
}
