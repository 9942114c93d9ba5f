// BERT end to end against Hugging Face (tools/make_e2e.py --encoders: random checkpoints, nothing from a hub):
// the tokenizer's ids and token types for the case's texts, the last hidden states of every row of a padded batch
// (padding rows included), and sentence embeddings (mean, normalized mean, CLS), at F32, BF16 and F16.
#include <filesystem>
#include <variant>

#include "support/e2e.hpp"
#include "tfx/io/load_model.hpp"
#include "tfx/text/tokenizer.hpp"

using namespace tfx;
namespace fs = std::filesystem;
using tfx::test::read_json, tfx::test::require_logits;

namespace {
const fs::path enc_dir = tfx::test::e2e_dir.parent_path() / "encoders";

EncoderBatch reference_batch(const nlohmann::json& ref) {
  EncoderBatch b;
  const auto ids = ref.at("ids").get<std::vector<std::vector<std::int32_t>>>();
  const auto types = ref.at("type_ids").get<std::vector<std::vector<std::int32_t>>>();
  const auto mask = ref.at("attention_mask").get<std::vector<std::vector<int>>>();
  b.batch = static_cast<Index>(ids.size());
  b.length = static_cast<Index>(ids[0].size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    b.ids.insert(b.ids.end(), ids[i].begin(), ids[i].end());
    b.type_ids.insert(b.type_ids.end(), types[i].begin(), types[i].end());
    Index n = 0;
    for (int m : mask[i]) b.padding.push_back(m ? 0 : 1), n += m;
    b.lengths.push_back(n);
  }
  return b;
}
}  // namespace

TEST_CASE("BERT checkpoints reproduce Hugging Face hidden states and sentence embeddings", "[encoder][bert][e2e]") {
  for (const char* name : {"bert_f32", "bert_bf16_mlm", "bert_f16_relu"}) {
    SECTION(name) {
      const auto ref = read_json(enc_dir / name / "reference.json");
      // The tokenizer gives HF's ids and token types for the texts (pairs as [CLS] A [SEP] B [SEP]).
      const auto tok = text::Tokenizer::from_file(enc_dir / name / "tokenizer.json");
      std::vector<std::vector<std::int32_t>> seqs, types;
      for (const auto& t : ref.at("texts")) {
        const auto e = t.is_array() ? tok.encode_with_types(t[0].get<std::string>(), t[1].get<std::string>())
                                    : tok.encode_with_types(t.get<std::string>());
        seqs.push_back(e.ids);
        types.push_back(e.type_ids);
      }
      EncoderBatch batch = EncoderBatch::pad(seqs, types, *tok.pad_id());
      const EncoderBatch want = reference_batch(ref);
      CHECK(batch.ids == want.ids);
      CHECK(batch.padding == want.padding);
      CHECK(batch.lengths == want.lengths);
      batch.type_ids = want.type_ids;  // one case shifts the first text's types to reach type 2

      auto any = load_encoder(enc_dir / name);
      std::visit([&](const auto& enc) {
        INFO(name << ": storage " << dtype_name(dtype_of<typename std::decay_t<decltype(enc)>::storage_type>()));
        CHECK(enc.info().model_type == "bert");
        // The layers' accounting equals the tensors the checkpoint holds for them (the pooler and heads aside).
        const auto ckpt = io::Checkpoint::open(enc_dir / name);
        std::int64_t stored = 0;
        for (const auto& n : ckpt.names()) {
          if (io::hf::Adapter<family::Bert>::ignored(n)) continue;
          std::int64_t numel = 1;
          for (auto d : ckpt.at(n).shape) numel *= d;
          stored += numel;
        }
        CHECK(enc.counts().parameters == stored);
        auto ctx = enc.new_context(2);
        Matrix<float> hidden(batch.batch * batch.length, enc.hidden());
        // Precision::fast (the default) rounds the activations of bf16 products to bf16: bounded relative to the
        // hidden states' scale. Exact f32 activations match the f32 reference of the stored weights.
        if constexpr (std::is_same_v<typename std::decay_t<decltype(enc)>::storage_type, bf16>) {
          enc.forward(ctx, batch, hidden.view());
          require_logits(hidden, ref.at("hidden"), 2e-2 * tfx::test::logit_scale(ref.at("hidden")),
                         std::string(name) + " hidden states, Precision::fast");
        }
        ctx.precision = cpu::Precision::exact;
        enc.forward(ctx, batch, hidden.view());
        require_logits(hidden, ref.at("hidden"), 2e-5, std::string(name) + " hidden states");
        require_logits(pool(hidden.view(), batch, pooling::mean, false), ref.at("mean"), 1e-5,
                       std::string(name) + " mean pooling");
        require_logits(enc.embed(ctx, batch, pooling::mean, true), ref.at("mean_normalized"), 2e-6,
                       std::string(name) + " normalized mean pooling");
        require_logits(enc.embed(ctx, batch, pooling::cls, false), ref.at("cls"), 2e-5, std::string(name) + " CLS");
        // Each text alone gives its rows of the batch: padding changes nothing.
        const auto first = want.type_ids.begin() + (batch.batch - 1) * batch.length;
        const std::vector<std::int32_t> last_types(first, first + static_cast<std::ptrdiff_t>(seqs.back().size()));
        const EncoderBatch one = EncoderBatch::pad({seqs.back()}, {last_types});
        Matrix<float> alone(one.length, enc.hidden());
        enc.forward(ctx, one, alone.view());
        double worst = 0;
        for (Index t = 0; t < one.length; ++t)
          for (Index e = 0; e < enc.hidden(); ++e)
            worst = std::max(worst, double(std::abs(alone(t, e) - hidden((batch.batch - 1) * batch.length + t, e))));
        CHECK(worst < 1e-5);
      }, any);
    }
  }
}

TEST_CASE("BERT: bad input is a clear error", "[encoder][bert][errors]") {
  auto any = load_encoder(enc_dir / "bert_f32");
  auto& enc = std::get<0>(any);
  auto ctx = enc.new_context(1);
  EncoderBatch b = EncoderBatch::pad({{2, 50, 3}}, {{0, 2, 0}});
  Matrix<float> h(3, enc.hidden());
  CHECK_THROWS_WITH(enc.forward(ctx, b, h.view()), Catch::Contains("token type 2 at index 1 is out of range (type_vocab_size 2)"));
  EncoderBatch long_one = EncoderBatch::pad({std::vector<std::int32_t>(41, 7)});
  Matrix<float> h41(41, enc.hidden());
  CHECK_THROWS_WITH(enc.forward(ctx, long_one, h41.view()), Catch::Contains("sequences of 41 tokens exceed the model's 40 positions"));
  EncoderBatch bad_id = EncoderBatch::pad({{2, 100000, 3}});
  CHECK_THROWS_WITH(enc.forward(ctx, bad_id, h.view()), Catch::Contains("token id 100000"));
  CHECK_THROWS_WITH(EncoderBatch::pad({{1, 2}, {}}), Catch::Contains("sequence 1 is empty"));
  EncoderBatch bad_lengths = EncoderBatch::pad({{2, 50, 3}});
  bad_lengths.lengths = {0};
  CHECK_THROWS_WITH(pool(h.view(), bad_lengths, pooling::mean, false), Catch::Contains("sequence 0 has 0 tokens"));
  CHECK_THROWS_WITH(load_model(enc_dir / "bert_f32"), Catch::Contains("is an encoder"));
  CHECK_THROWS_WITH(load_encoder(tfx::test::e2e_dir / "llama_mha_f32"), Catch::Contains("is not an encoder"));
  CHECK_THROWS_WITH(io::HfConfig::from_json(R"({"model_type": "bert", "position_embedding_type": "relative_key"})", "c.json"),
                    Catch::Contains("position_embedding_type: 'relative_key' is not supported"));
  CHECK_THROWS_WITH(io::HfConfig::from_json(R"({"model_type": "bert", "is_decoder": true})", "c.json"),
                    Catch::Contains("is_decoder"));
  CHECK_THROWS_WITH(io::HfConfig::from_json(R"({"model_type": "bert", "hidden_size": 30, "num_attention_heads": 4})", "c.json"),
                    Catch::Contains("not divisible"));
}
