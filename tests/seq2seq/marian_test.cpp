// Marian (the original Transformer) end to end against Hugging Face (tools/make_e2e.py --seq2seq: random
// checkpoints and SentencePiece models trained for the test, nothing from a hub): the tokenizer's source ids,
// teacher-forced decoder logits (one pass, and token by token through the self-attention cache), and the ids
// transformers' generate() gives for greedy and beam search (length penalties, early stopping true / false /
// "never", no_repeat_ngram_size), at F32 and BF16.
#include <filesystem>
#include <fstream>
#include <variant>

#include "support/e2e.hpp"
#include "tfx/generate/seq2seq.hpp"
#include "tfx/io/load_model.hpp"
#include "tfx/text/marian_tokenizer.hpp"

using namespace tfx;
namespace fs = std::filesystem;
using tfx::test::read_json, tfx::test::require_logits;

namespace {
const fs::path s2s_dir = tfx::test::e2e_dir.parent_path() / "seq2seq";

SearchOptions search_of(const fs::path& dir, const nlohmann::json& kw) {
  SearchOptions o = io::read_generation_config(dir);
  o.num_beams = kw.at("num_beams").get<int>();
  o.max_new_tokens(kw.at("max_new_tokens").get<Index>());
  if (kw.contains("length_penalty")) o.length_penalty = kw.at("length_penalty").get<float>();
  if (kw.contains("early_stopping")) {
    const auto& e = kw.at("early_stopping");
    o.early = e.is_string() ? early_stopping::never : e.get<bool>() ? early_stopping::on : early_stopping::heuristic;
  }
  if (kw.contains("no_repeat_ngram_size")) o.no_repeat_ngram_size = kw.at("no_repeat_ngram_size").get<int>();
  return o;
}
}  // namespace

TEST_CASE("Marian checkpoints reproduce transformers: tokens, logits, greedy and beam search", "[seq2seq][marian][e2e]") {
  for (const char* name : {"marian_f32", "marian_bf16"}) {
    SECTION(name) {
      const fs::path dir = s2s_dir / name;
      const auto ref = read_json(dir / "reference.json");
      const auto tok = text::MarianTokenizer::from_folder(dir);
      const auto texts = ref.at("texts").get<std::vector<std::string>>();
      const auto sources = ref.at("source_ids").get<std::vector<std::vector<std::int32_t>>>();
      for (std::size_t i = 0; i < texts.size(); ++i) CHECK(tok.encode(texts[i]) == sources[i]);

      auto any = load_seq2seq(dir);
      std::visit([&](const auto& model) {
        auto ctx = model.new_context(2);
        ctx.precision = cpu::Precision::exact;  // f32 activations, as the reference computes
        CHECK(model.info().model_type == "marian");
        // Teacher-forced logits: the whole target in one pass, then one token at a time.
        const auto dec = ref.at("decoder_tokens").get<std::vector<std::int32_t>>();
        const auto mem = model.encode(ctx, sources[0]);
        const auto n = static_cast<Index>(dec.size());
        Matrix<float> prefill(n, model.dims().vocab), step(n, model.dims().vocab);
        auto s = model.new_state(n);
        model.decode(ctx, mem, s, dec, prefill.view());
        require_logits(prefill, ref.at("logits"), 1e-4, std::string(name) + " decoder logits, one pass");
        auto s1 = model.new_state(n);
        for (Index t = 0; t < n; ++t)
          model.decode(ctx, mem, s1, std::span<const std::int32_t>(&dec[static_cast<std::size_t>(t)], 1),
                       step.view().slice_rows(t, 1));
        require_logits(step, ref.at("logits"), 1e-4, std::string(name) + " decoder logits, token by token");
        // Every search setting gives transformers' ids, and the target tokenizer its text.
        for (const auto& [search, kw] : ref.at("searches").items()) {
          const SearchOptions o = search_of(dir, kw);
          for (std::size_t i = 0; i < sources.size(); ++i) {
            INFO(name << " " << search << " source " << i);
            const auto ids = generate_seq2seq(model, ctx, sources[i], o);
            CHECK(ids == ref.at("generated").at(search).at(i).template get<std::vector<std::int32_t>>());
            CHECK(tok.decode(ids) == ref.at("decoded").at(search).at(i).template get<std::string>());
          }
        }
      }, any);
    }
  }
}

TEST_CASE("Marian: bad input is a clear error", "[seq2seq][marian][errors]") {
  const fs::path dir = s2s_dir / "marian_f32";
  auto any = load_seq2seq(dir);
  auto& model = std::get<0>(any);
  auto ctx = model.new_context(1);
  const std::vector<std::int32_t> src{6, 38, 0};
  SearchOptions o;
  o.num_beams = 0;
  CHECK_THROWS_WITH(generate_seq2seq(model, ctx, src, o), Catch::Contains("num_beams must be in [1, 1024], got 0"));
  o.num_beams = 2;
  o.max_length = 1000;
  CHECK_THROWS_WITH(generate_seq2seq(model, ctx, src, o), Catch::Contains("max_length 1000 exceeds the model's 64"));
  CHECK_THROWS_WITH(model.encode(ctx, std::vector<std::int32_t>(65, 5)), Catch::Contains("source of 65 tokens exceeds"));
  CHECK_THROWS_WITH(model.encode(ctx, std::vector<std::int32_t>{5, 500}), Catch::Contains("token id 500"));
  CHECK_THROWS_WITH(io::HfConfig::from_json(R"({"model_type": "marian", "vocab_size": 10, "d_model": 8,
      "encoder_attention_heads": 2, "decoder_attention_heads": 2})", "c.json"),
                    Catch::Contains("missing field 'decoder_start_token_id'"));
  CHECK_THROWS_WITH(io::HfConfig::from_json(R"({"model_type": "marian", "vocab_size": 10, "d_model": 8,
      "encoder_attention_heads": 2, "decoder_attention_heads": 4, "decoder_start_token_id": 9})", "c.json"),
                    Catch::Contains("encoder and decoder differ"));
  CHECK_THROWS_WITH(load_model(dir), Catch::Contains("is an encoder-decoder"));
  CHECK_THROWS_WITH(load_seq2seq(tfx::test::e2e_dir / "llama_mha_f32"), Catch::Contains("is not an encoder-decoder"));
  CHECK_THROWS_WITH(text::MarianTokenizer::from_folder(tfx::test::e2e_dir / "llama_mha_f32"),
                    Catch::Contains("missing SentencePiece model"));
  {  // a vocabulary whose ids are mostly holes is refused, not allocated
    const fs::path d = fs::temp_directory_path() / "tfx_marian_sparse_vocab";
    fs::create_directories(d);
    for (const char* f : {"source.spm", "target.spm"}) fs::copy_file(dir / f, d / f, fs::copy_options::overwrite_existing);
    std::ofstream(d / "vocab.json") << R"({"</s>": 0, "<unk>": 1, "x": 9000000})";
    CHECK_THROWS_WITH(text::MarianTokenizer::from_folder(d), Catch::Contains("ids are too sparse"));
    fs::remove_all(d);
  }
  // config.json alone gives the same counts as the loaded layers.
  CHECK(io::describe(io::HfConfig::from_file(dir)).second.parameters == model.counts().parameters);
  CHECK(model.counts().parameters == 46496);  // transformers' num_parameters() 50592 adds the 2 x 64 x 32 sinusoids
}

TEST_CASE("generation_config.json: the fields the search honours, and errors for those it cannot", "[seq2seq][config]") {
  const fs::path dir = fs::temp_directory_path() / "tfx_generation_config_test";
  fs::create_directories(dir);
  auto read = [&](const std::string& text) {
    std::ofstream(dir / "generation_config.json") << text;
    return io::read_generation_config(dir);
  };
  const SearchOptions o = read(R"({"num_beams": 3, "max_length": 40, "max_new_tokens": 7, "min_length": 2,
      "length_penalty": 0.5, "early_stopping": "never", "no_repeat_ngram_size": 3, "bad_words_ids": [[5], [9]],
      "forced_eos_token_id": 0, "renormalize_logits": true, "eos_token_id": [0], "decoder_start_token_id": 4,
      "do_sample": false, "repetition_penalty": 1.0})");
  CHECK(o.num_beams == 3);
  CHECK(o.max_length == 8);  // max_new_tokens wins
  CHECK(o.min_length == 2);
  CHECK(o.length_penalty == 0.5f);
  CHECK(o.early == early_stopping::never);
  CHECK(o.no_repeat_ngram_size == 3);
  CHECK(o.bad_words == std::vector<std::int32_t>{5, 9});
  CHECK(o.forced_eos == 0);
  CHECK(o.renormalize);
  CHECK(o.eos == 0);
  CHECK(o.decoder_start == 4);
  CHECK_THROWS_WITH(read(R"({"do_sample": true})"), Catch::Contains("do_sample is true"));
  CHECK_THROWS_WITH(read(R"({"repetition_penalty": 1.2})"), Catch::Contains("repetition penalty is not supported"));
  CHECK_THROWS_WITH(read(R"({"bad_words_ids": [[1, 2]]})"), Catch::Contains("only single-token entries"));
  CHECK_THROWS_WITH(read(R"({"early_stopping": "sometimes"})"), Catch::Contains("expected true, false or \"never\""));
  CHECK_THROWS_WITH(read(R"({"num_beams": 0})"), Catch::Contains("num_beams"));
  fs::remove_all(dir);
}
