// Block-quantized weights (Q8_0, Q4_0) end to end: every e2e checkpoint quantized at load against Hugging Face's
// f32 logits (a bound on the error relative to the logits' scale), the shipped model's perplexity on a held-out
// text, quantized against dense, and folders written by save_quantized.
#include <cmath>
#include <filesystem>
#include <fstream>

#include "io/io_test_util.hpp"
#include "support/golden.hpp"
#include "tfx/io/load_model.hpp"
#include "tfx/io/save_quantized.hpp"
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

/// Prefill logits of `tokens` (Precision::fast) of whichever model `any` holds.
template <class Any>
Matrix<float> prefill_logits(Any& any, const std::vector<std::int32_t>& tokens) {
  return std::visit(
      [&](auto& model) {
        auto s = model.new_session(static_cast<tfx::Index>(tokens.size()), 2);
        Matrix<float> logits(static_cast<tfx::Index>(tokens.size()), model.dims().vocab);
        model.forward(s, tokens, logits.view());
        return logits;
      },
      any);
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

/// Per scheme: the bounds the tests hold it to, and what its stored tensors look like.
template <class Q>
struct Bounds;
template <>
struct Bounds<q8_0_weights> {
  // Tiny random checkpoints (hidden 32 to 64: one to two blocks a row) show int8 error at its largest; on the
  // shipped model perplexity moves by 0.1%. Random MoE routers give near-tied expert scores, so a small error in
  // the hidden state moves a token to another expert: a looser bound.
  static constexpr double logits = 0.06, logits_moe = 0.12, perplexity = 0.01;
  static constexpr const char* values_dtype = "I8";
};
template <>
struct Bounds<q4_0_weights> {
  // 4 bits hold 16 levels against int8's 255: about 16 times Q8_0's rounding error per weight, and these tiny
  // random checkpoints measure 0.19-0.44 (0.94 for a top-1 MoE, whose tokens change expert). On the shipped
  // model perplexity moves by 3.3-3.4% (llama.cpp reports a few percent for Q4_0 on 7B models).
  static constexpr double logits = 0.5, logits_moe = 1.0, perplexity = 0.05;
  static constexpr const char* values_dtype = "U8";
};
}  // namespace

TEMPLATE_TEST_CASE("Quantized models stay within a bound of Hugging Face's f32 logits on every e2e checkpoint",
                   "[model][q8][q4]", q8_0_weights, q4_0_weights) {
  // Bound: max |error| / max |logit| < Bounds<Q>::logits (logits_moe for mixtures of experts), prefill and
  // decode, exact and fast.
  using Q = TestType;
  const auto index = read_json(e2e_dir / "index.json");
  double worst_case = 0;
  std::string worst_name;
  for (const auto& entry : index.at("cases")) {
    const std::string name = entry.at("name");
    const auto ref = read_json(e2e_dir / name / "reference.json");
    const auto tokens = ref.at("tokens").get<std::vector<std::int32_t>>();
    auto any = load_model<cpu::simd<>, Q>(e2e_dir / name);
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
            const bool moe = name.rfind("qwen3_moe", 0) == 0;
            CHECK(e < (moe ? Bounds<Q>::logits_moe : Bounds<Q>::logits));
            if (e > worst_case) worst_case = e, worst_name = name;
          }
        },
        any);
  }
  if (std::getenv("TFX_E2E_REPORT"))
    std::printf("%s: worst relative error %.4f (%s)\n", std::string(Q::name).c_str(), worst_case, worst_name.c_str());
}

TEMPLATE_TEST_CASE("Quantized weights keep the shipped model's perplexity on a held-out text within a bound of dense",
                   "[model][q8][q4][tiny]", q8_0_weights, q4_0_weights) {
  using Q = TestType;
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
  const auto quantized = io::load_as<Model<family::Qwen3, DynamicShape, cpu::simd<>, bf16, Q>>(tiny_dir);
  CHECK(quantized.weight_bytes() < dense.weight_bytes());
  const double ppl_dense = std::exp(mean_nll(dense, ids, cpu::Precision::exact));
  for (const auto precision : {cpu::Precision::exact, cpu::Precision::fast}) {
    const double ppl = std::exp(mean_nll(quantized, ids, precision));
    INFO("perplexity dense " << ppl_dense << ", " << Q::name << " " << ppl << (precision == cpu::Precision::fast ? " (fast)" : " (exact)"));
    if (std::getenv("TFX_E2E_REPORT"))
      std::printf("perplexity: dense %.4f, %s %.4f (%s)\n", ppl_dense, std::string(Q::name).c_str(), ppl,
                  precision == cpu::Precision::fast ? "fast" : "exact");
    CHECK(std::abs(ppl / ppl_dense - 1) < Bounds<Q>::perplexity);
  }
}

TEMPLATE_TEST_CASE("A folder written by save_quantized loads as the same quantized model, its matrices mapped in place",
                   "[model][q8][q4][io]", q8_0_weights, q4_0_weights) {
  // Per-name matrices (attention, MLP, per-expert, an untied head) are stored as values + scales; stacked expert
  // tensors and GPT-2's Conv1D weights are copied and quantized at load. Either way the model is the same.
  using Q = TestType;
  const std::string scheme(Q::name);
  const std::vector<std::pair<std::string, int>> cases = {
      {"llama_untied", 7 * 2 + 1}, {"llama_bf16", 7 * 2 + 1}, {"qwen3_moe_top2_f32", -1}, {"qwen3_moe_fused_experts_f32", -1},
      {"gpt2_f32", 0}};
  for (const auto& [name, stored] : cases) {
    INFO(name);
    const tfx_io_test::TempDir tmp;
    const fs::path out = tmp / "q8";
    std::vector<std::string> lines;
    save_quantized<Q>(e2e_dir / name, out, [&](const std::string& l) { lines.push_back(l); });
    CHECK(lines.size() == 2);
    CHECK(fs::exists(out / "config.json"));
    const auto ckpt = io::Checkpoint::open(out);
    int matrices = 0;
    for (const auto& n : ckpt.names()) matrices += ckpt.at(n).dtype_str == Bounds<Q>::values_dtype;
    if (stored >= 0) CHECK(matrices == stored);
    else CHECK(matrices > 0);
    CHECK(io::stored_quantization(ckpt) == (matrices > 0 ? scheme : "none"));

    const auto tokens = read_json(e2e_dir / name / "reference.json").at("tokens").template get<std::vector<std::int32_t>>();
    auto original = load_model<cpu::simd<>, Q>(e2e_dir / name);
    auto reloaded = load_model<cpu::simd<>, Q>(out);
    CHECK(original.index() == reloaded.index());  // same family and storage type
    const auto bytes = [](auto& any) { return std::visit([](auto& m) { return m.weight_bytes(); }, any); };
    CHECK(bytes(original) == bytes(reloaded));
    const Matrix<float> a = prefill_logits(original, tokens), b = prefill_logits(reloaded, tokens);
    float diff = 0;
    for (tfx::Index r = 0; r < a.rows(); ++r)
      for (tfx::Index c = 0; c < a.cols(); ++c) diff = std::max(diff, std::abs(a(r, c) - b(r, c)));
    CHECK(diff == 0.f);
    if (matrices > 0) {
      CHECK_THROWS_WITH(load_model(out), Catch::Contains("is stored as " + scheme) && Catch::Contains("--quantize " + scheme));
      const auto other = [&] {
        if constexpr (std::is_same_v<Q, q8_0_weights>) return load_model<cpu::simd<>, q4_0_weights>(out);
        else return load_model<cpu::simd<>, q8_0_weights>(out);
      };
      CHECK_THROWS_WITH(other(), Catch::Contains("is stored as " + scheme));
    }
  }
}

TEMPLATE_TEST_CASE("save_quantized and stored quantized matrices: bad folders and tensors", "[model][q8][q4][io][errors]",
                   q8_0_weights, q4_0_weights) {
  using Q = TestType;
  using Format = typename Q::template format<Dense<float>>;
  const std::string scheme(Q::name);
  const tfx_io_test::TempDir tmp;
  const fs::path src = e2e_dir / "llama_untied", q8 = tmp / "q8";
  save_quantized<Q>(src, q8);
  CHECK_THROWS_WITH(save_quantized<Q>(src, q8), Catch::Contains("already exists and is not an empty folder"));
  CHECK_THROWS_WITH(save_quantized<Q>(q8, tmp / "again"), Catch::Contains("is already quantized (" + scheme + ")"));
  CHECK_THROWS_WITH(save_quantized<Q>(tmp / "absent", tmp / "x"), Catch::Contains("does not exist"));

  // Rewrite the quantized file with one tensor changed, and load it.
  const auto rewrite = [&](const std::string& folder, auto&& change) {
    const auto ckpt = io::Checkpoint::open(q8);
    std::vector<io::TensorToWrite> tensors;
    for (const auto& n : ckpt.names()) {
      const auto& t = ckpt.at(n);
      io::TensorToWrite w{n, t.dtype_str, t.shape, std::vector<std::byte>(t.bytes.begin(), t.bytes.end())};
      change(w);
      tensors.push_back(std::move(w));
    }
    std::sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) {
      return io::safetensors_itemsize(a.dtype) > io::safetensors_itemsize(b.dtype);
    });
    fs::create_directories(tmp / folder);
    fs::copy_file(q8 / "config.json", tmp / folder / "config.json");
    io::write_safetensors(tmp / folder / "model.safetensors", tensors);
    return tmp / folder;
  };
  const std::string scale = "model.layers.0.self_attn.q_proj.weight_scale";
  const fs::path short_scales = rewrite("short", [&](io::TensorToWrite& w) {
    if (w.name != scale) return;
    w.shape.back() -= 1;
    w.bytes.resize(w.bytes.size() - static_cast<std::size_t>(w.shape[0]) * sizeof(typename Format::scale_type));
  });
  const auto load_q8 = [](const fs::path& dir) { return load_model<cpu::simd<>, Q>(dir); };
  CHECK_THROWS_WITH(load_q8(short_scales),
                    Catch::Contains(scale) && Catch::Contains("expected shape"));
  const bool q4 = std::is_same_v<Q, q4_0_weights>;
  const fs::path other_scales = rewrite("f16", [&](io::TensorToWrite& w) {  // F16 for Q8_0, F32 for Q4_0
    if (w.name != scale) return;
    w.dtype = q4 ? "F32" : "F16";
    w.bytes.resize(q4 ? w.bytes.size() * 2 : w.bytes.size() / 2);
  });
  CHECK_THROWS_WITH(load_q8(other_scales), Catch::Contains(scale) && Catch::Contains(scheme + " scales must be " +
                                                                                     (q4 ? "F16, found F32" : "F32, found F16")));
  const fs::path narrow_values = rewrite("values", [&](io::TensorToWrite& w) {
    if (w.name != "model.layers.0.self_attn.q_proj.weight") return;
    w.shape.back() = 32;  // a row holds 64 units (Q8_0: 64 values; Q4_0: 128 values in 64 bytes), not 32
    w.bytes.resize(static_cast<std::size_t>(w.shape[0] * 32));
  });
  CHECK_THROWS_WITH(load_q8(narrow_values),
                    Catch::Contains("model.layers.0.self_attn.q_proj.weight'") && Catch::Contains("expected shape"));
}
