// End to end against Hugging Face: tiny random checkpoints of every family and variant (tools/make_e2e.py),
// logits of one prefill pass and of token-by-token decoding through the KV cache.
#include <filesystem>
#include <fstream>

#include "support/golden.hpp"
#include "tfx/io/load_model.hpp"

using namespace tfx;
namespace fs = std::filesystem;

namespace {
const fs::path e2e_dir = fs::path(TFX_SOURCE_DIR) / "tests/data/e2e";

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

/// Max |a - b| relative to the logits' scale, and the position of the worst element.
void require_logits(const Matrix<float>& got, const nlohmann::json& want, double atol, const std::string& what) {
  REQUIRE(static_cast<tfx::Index>(want.size()) == got.rows());
  double worst = 0;
  tfx::Index wr = 0, wc = 0;
  for (tfx::Index r = 0; r < got.rows(); ++r) {
    const auto& row = want[static_cast<std::size_t>(r)];
    REQUIRE(static_cast<tfx::Index>(row.size()) == got.cols());
    for (tfx::Index c = 0; c < got.cols(); ++c) {
      const double d = std::abs(got(r, c) - row[static_cast<std::size_t>(c)].get<double>());
      if (!std::isfinite(d)) FAIL(what << ": non-finite logit " << got(r, c) << " at position " << r << ", token " << c);
      if (d > worst) worst = d, wr = r, wc = c;
    }
  }
  INFO(what << ": worst |difference| " << worst << " at position " << wr << ", token " << wc);
  if (std::getenv("TFX_E2E_REPORT")) std::printf("%s: worst |difference| %.3g (bound %.3g)\n", what.c_str(), worst, atol);
  CHECK(worst <= atol);
}
/// max |logit| of a reference [T, vocab]: the scale the looser (fast, narrow-cache) bounds are relative to.
double logit_scale(const nlohmann::json& logits) {
  double scale = 0;
  for (const auto& row : logits)
    for (const auto& v : row) scale = std::max(scale, std::abs(v.get<double>()));
  return scale;
}
}  // namespace

TEST_CASE("Every e2e checkpoint reproduces Hugging Face logits, prefill and decode", "[model][e2e]") {
  const auto index = read_json(e2e_dir / "index.json");
  const auto& cases = index.at("cases");
  REQUIRE(cases.size() >= 32);
  for (const auto& entry : cases) {
    const std::string name = entry.at("name");
    SECTION(name) {
      const auto ref = read_json(e2e_dir / name / "reference.json");
      const auto tokens = ref.at("tokens").get<std::vector<std::int32_t>>();
      auto any = load_model(e2e_dir / name);
      std::visit(
          [&](auto& model) {
            const auto vocab = model.dims().vocab;
            const auto n = static_cast<tfx::Index>(tokens.size());
            auto s = model.new_session(n, 2);
            s.ctx.precision = cpu::Precision::exact;  // f32 activations throughout, like the reference
            Matrix<float> prefill(n, vocab);
            model.forward(s, tokens, prefill.view());
            require_logits(prefill, ref.at("logits_prefill"), 1e-4, name + " prefill");

            // Precision::fast (the default) rounds the activations of bf16 products to bf16, as PyTorch and
            // llama.cpp do for bf16 models: bounded relative to the logits' scale, prefill and decode.
            if constexpr (std::is_same_v<typename std::decay_t<decltype(model)>::storage_type, bf16>) {
              s.reset();
              s.ctx.precision = cpu::Precision::fast;
              Matrix<float> fast(n, vocab);
              model.forward(s, tokens, fast.view());
              require_logits(fast, ref.at("logits_prefill"), 2e-2 * logit_scale(ref.at("logits_prefill")),
                             name + " prefill, Precision::fast");
              s.reset();  // decode rounds them too (vdpbf16ps)
              for (tfx::Index t = 0; t < n; ++t)
                model.forward(s, std::span<const std::int32_t>(&tokens[static_cast<std::size_t>(t)], 1),
                              fast.view().slice_rows(t, 1));
              require_logits(fast, ref.at("logits_decode"), 2e-2 * logit_scale(ref.at("logits_decode")),
                             name + " decode, Precision::fast");
              s.ctx.precision = cpu::Precision::exact;
            }

            s.reset();
            Matrix<float> decode(n, vocab);
            for (tfx::Index t = 0; t < n; ++t)
              model.forward(s, std::span<const std::int32_t>(&tokens[static_cast<std::size_t>(t)], 1),
                            decode.view().slice_rows(t, 1));
            require_logits(decode, ref.at("logits_decode"), 1e-4, name + " decode");
            CHECK(s.position() == n);

            // A bf16 / f16 KV cache (keys and values rounded when stored): bounded relative to the logits' scale.
            const double scale = logit_scale(ref.at("logits_decode"));
            for (const auto kv : {dtype::bf16, dtype::f16}) {
              auto s16 = model.new_session(n, 2, kv);
              s16.ctx.precision = cpu::Precision::exact;
              Matrix<float> d16(n, vocab);
              for (tfx::Index t = 0; t < n; ++t)
                model.forward(s16, std::span<const std::int32_t>(&tokens[static_cast<std::size_t>(t)], 1),
                              d16.view().slice_rows(t, 1));
              require_logits(d16, ref.at("logits_decode"), 1e-2 * scale,
                             name + " decode, " + std::string(dtype_name(kv)) + " KV cache");
            }
          },
          any);
    }
  }
}
