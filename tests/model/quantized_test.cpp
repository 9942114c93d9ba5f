// Q8_0 weights end to end: every e2e checkpoint quantized at load against Hugging Face's f32 logits (a bound on
// the error relative to the logits' scale), and the shipped model's perplexity on a held-out text, quantized
// against dense.
#include <cmath>
#include <filesystem>
#include <fstream>

#include "support/golden.hpp"
#include "tfx/io/load_model.hpp"
#include "tfx/text/tokenizer.hpp"

using namespace tfx;
namespace fs = std::filesystem;

namespace {
const fs::path e2e_dir = fs::path(TFX_SOURCE_DIR) / "tests/data/e2e";
const fs::path tiny_dir = fs::path(TFX_SOURCE_DIR) / "models/tiny-fortunes";

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

/// max |got - want| / max |want|
double relative_error(const Matrix<float>& got, const nlohmann::json& want) {
  double worst = 0, scale = 0;
  for (tfx::Index r = 0; r < got.rows(); ++r)
    for (tfx::Index c = 0; c < got.cols(); ++c) {
      const double w = want[static_cast<std::size_t>(r)][static_cast<std::size_t>(c)].get<double>();
      worst = std::max(worst, std::abs(got(r, c) - w));
      scale = std::max(scale, std::abs(w));
    }
  return worst / scale;
}

/// Mean negative log-likelihood of each next token of `ids` (one prefill pass).
template <class M>
double mean_nll(const M& model, const std::vector<std::int32_t>& ids, cpu::Precision precision) {
  auto s = model.new_session(static_cast<tfx::Index>(ids.size()), 2);
  s.ctx.precision = precision;
  Matrix<float> logits(static_cast<tfx::Index>(ids.size()), model.dims().vocab);
  model.forward(s, ids, logits.view());
  double nll = 0;
  for (std::size_t t = 0; t + 1 < ids.size(); ++t) {
    const float* row = logits.view().row(static_cast<tfx::Index>(t));
    const double m = *std::max_element(row, row + logits.cols());
    double sum = 0;
    for (tfx::Index v = 0; v < logits.cols(); ++v) sum += std::exp(row[v] - m);
    nll += m + std::log(sum) - row[ids[t + 1]];
  }
  return nll / static_cast<double>(ids.size() - 1);
}
}  // namespace

TEST_CASE("Q8_0 models stay within a bound of Hugging Face's f32 logits on every e2e checkpoint", "[model][q8]") {
  // Bound: max |error| / max |logit| < 0.06 (0.12 for mixtures of experts), prefill and decode, exact and fast.
  const auto index = read_json(e2e_dir / "index.json");
  double worst_case = 0;
  std::string worst_name;
  for (const auto& entry : index.at("cases")) {
    const std::string name = entry.at("name");
    const auto ref = read_json(e2e_dir / name / "reference.json");
    const auto tokens = ref.at("tokens").get<std::vector<std::int32_t>>();
    auto any = load_model<cpu::simd<>, q8_0_weights>(e2e_dir / name);
    std::visit(
        [&](auto& model) {
          const auto n = static_cast<tfx::Index>(tokens.size());
          auto s = model.new_session(n, 2);
          for (const auto precision : {cpu::Precision::exact, cpu::Precision::fast}) {
            s.reset();
            s.ctx.precision = precision;
            Matrix<float> prefill(n, model.dims().vocab), decode(n, model.dims().vocab);
            model.forward(s, tokens, prefill.view());
            s.reset();
            for (tfx::Index t = 0; t < n; ++t)
              model.forward(s, std::span<const std::int32_t>(&tokens[static_cast<std::size_t>(t)], 1),
                            decode.view().slice_rows(t, 1));
            const double e = std::max(relative_error(prefill, ref.at("logits_prefill")),
                                      relative_error(decode, ref.at("logits_decode")));
            INFO(name << (precision == cpu::Precision::fast ? " (fast)" : " (exact)") << ": max |error| / max |logit| = " << e);
            if (std::getenv("TFX_E2E_REPORT")) std::printf("%-28s %s %.4f\n", name.c_str(), precision == cpu::Precision::fast ? "fast " : "exact", e);
            // Tiny random checkpoints (hidden 32 to 64: one to two blocks a row) show int8 error at its largest; on
            // the shipped model perplexity moves by 0.1% (below). Random MoE routers give near-tied expert
            // scores, so a small error in the hidden state moves a token to another expert: a looser bound.
            const bool moe = name.rfind("qwen3_moe", 0) == 0;
            CHECK(e < (moe ? 0.12 : 0.06));
            if (e > worst_case) worst_case = e, worst_name = name;
          }
        },
        any);
  }
  if (std::getenv("TFX_E2E_REPORT")) std::printf("q8_0: worst relative error %.4f (%s)\n", worst_case, worst_name.c_str());
}

TEST_CASE("Q8_0 keeps the shipped model's perplexity on a held-out text within 1% of dense", "[model][q8][tiny]") {
  // Not from the training corpus (the fortunes of Debian's fortunes packages): written for this test.
  const std::string text =
      "The committee met on a grey Tuesday to decide whether the old lighthouse should be sold. Nobody could "
      "remember who had last climbed its stairs, and the keeper's logbook ended in the middle of a sentence. "
      "A child suggested painting it yellow; the treasurer suggested a museum. In the end they voted to keep "
      "the light burning, because ships still pass at night and a promise is a promise.";
  const auto tok = text::Tokenizer::from_file(tiny_dir / "tokenizer.json");
  const auto ids = tok.encode(text, /*add_special_tokens=*/true);
  REQUIRE(ids.size() > 50);
  const auto dense = io::load_as<Model<family::Qwen3, DynamicShape, cpu::simd<>, bf16>>(tiny_dir);
  const auto q8 = io::load_as<Model<family::Qwen3, DynamicShape, cpu::simd<>, bf16, q8_0_weights>>(tiny_dir);
  CHECK(q8.weight_bytes() < dense.weight_bytes());
  const double ppl_dense = std::exp(mean_nll(dense, ids, cpu::Precision::exact));
  for (const auto precision : {cpu::Precision::exact, cpu::Precision::fast}) {
    const double ppl = std::exp(mean_nll(q8, ids, precision));
    INFO("perplexity dense " << ppl_dense << ", q8_0 " << ppl << (precision == cpu::Precision::fast ? " (fast)" : " (exact)"));
    if (std::getenv("TFX_E2E_REPORT"))
      std::printf("perplexity: dense %.4f, q8_0 %.4f (%s)\n", ppl_dense, ppl, precision == cpu::Precision::fast ? "fast" : "exact");
    CHECK(std::abs(ppl / ppl_dense - 1) < 0.01);
  }
}
