// End to end against Hugging Face: tiny random checkpoints of every family and variant (tools/make_e2e.py),
// logits of one prefill pass and of token-by-token decoding through the KV cache.
#include <filesystem>
#include <fstream>

#include "support/e2e.hpp"
#include "support/golden.hpp"
#include "tfx/io/load_model.hpp"

using namespace tfx;
using tfx::test::e2e_dir, tfx::test::read_json, tfx::test::require_logits, tfx::test::logit_scale;
namespace fs = std::filesystem;


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

            // Only the last position's logits (as generation asks for them): the last layer runs attention and
            // its MLP for that row alone. It still caches every position's keys and values: after such a prefill
            // of n - 1 tokens the next token decodes as it does after a full one.
            s.reset();
            Matrix<float> last(1, vocab);
            model.forward(s, tokens, last.view());
            require_logits(last, nlohmann::json::array({ref.at("logits_prefill").at(static_cast<std::size_t>(n - 1))}),
                           1e-4, name + " prefill, last position only");
            if (n >= 3) {
              const std::span<const std::int32_t> head(tokens.data(), static_cast<std::size_t>(n - 1));
              const std::span<const std::int32_t> next(&tokens[static_cast<std::size_t>(n - 1)], 1);
              Matrix<float> all(n - 1, vocab), after_all(1, vocab), after_last(1, vocab);
              s.reset();
              model.forward(s, head, all.view());
              model.forward(s, next, after_all.view());
              s.reset();
              model.forward(s, head, last.view());
              model.forward(s, next, after_last.view());
              nlohmann::json want = nlohmann::json::array({nlohmann::json::array()});
              for (tfx::Index c = 0; c < vocab; ++c) want[0].push_back(after_all(0, c));
              require_logits(after_last, want, 1e-4, name + " decode after a last-position-only prefill");
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
            // A bf16 KV cache under Precision::fast: prefill attention multiplies bf16 operands (vdpbf16ps), within
            // Precision::fast's bound.
            auto sb = model.new_session(n, 2, dtype::bf16);
            Matrix<float> pb(n, vocab);
            model.forward(sb, tokens, pb.view());
            require_logits(pb, ref.at("logits_prefill"), 2e-2 * logit_scale(ref.at("logits_prefill")),
                           name + " prefill, bf16 KV cache, Precision::fast");
          },
          any);
    }
  }
}
