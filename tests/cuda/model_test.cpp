// The model on the GPU against the same references the CPU meets: every e2e checkpoint of a family that runs on
// cuda::device<> (all but the mixture of experts, whose routing runs on the host), prefill and token-by-token
// decode, f32 and bf16 KV caches. f32 checkpoints: f32 products without TF32, as tight as the CPU's exact mode;
// bf16 / f16 checkpoints: products of activations rounded to the weights' type (the CPU's fast mode), same bounds.
#include <string>

#include "support/e2e.hpp"
#include "tfx/backend/cuda.hpp"
#include "tfx/io/load_model.hpp"

using namespace tfx;
using tfx::test::e2e_dir, tfx::test::read_json, tfx::test::require_logits, tfx::test::logit_scale;

TEST_CASE("Every e2e checkpoint reproduces Hugging Face logits on the GPU, prefill and decode", "[cuda][e2e]") {
  const auto index = read_json(e2e_dir / "index.json");
  int ran = 0;
  for (const auto& entry : index.at("cases")) {
    const std::string name = entry.at("name"), family = entry.at("family");
    if (family == "qwen3_moe") continue;  // host-only family (load_model<cuda> rejects it: tested below)
    ++ran;
    SECTION(name) {
      const auto ref = read_json(e2e_dir / name / "reference.json");
      const auto tokens = ref.at("tokens").get<std::vector<std::int32_t>>();
      auto any = load_model<cuda::device<>>(e2e_dir / name);
      std::visit(
          [&](auto& model) {
            using M = std::decay_t<decltype(model)>;
            const bool narrow = !std::is_same_v<typename M::storage_type, float>;
            const auto vocab = model.dims().vocab;
            const auto n = static_cast<Index>(tokens.size());
            const double scale_p = logit_scale(ref.at("logits_prefill")), scale_d = logit_scale(ref.at("logits_decode"));
            auto s = model.new_session(n);
            Matrix<float> prefill(n, vocab);
            model.forward_to_host(s, tokens, prefill.view());
            require_logits(prefill, ref.at("logits_prefill"), narrow ? 2e-2 * scale_p : 1e-4, name + " prefill (cuda)");
            s.reset();
            Matrix<float> decode(n, vocab);
            for (Index t = 0; t < n; ++t)
              model.forward_to_host(s, std::span<const std::int32_t>(&tokens[static_cast<std::size_t>(t)], 1),
                                    decode.view().slice_rows(t, 1));
            require_logits(decode, ref.at("logits_decode"), narrow ? 2e-2 * scale_d : 1e-4, name + " decode (cuda)");
            for (const auto kv : {dtype::bf16, dtype::f16}) {
              auto s16 = model.new_session(n, 1, kv);
              Matrix<float> d16(n, vocab);
              for (Index t = 0; t < n; ++t)
                model.forward_to_host(s16, std::span<const std::int32_t>(&tokens[static_cast<std::size_t>(t)], 1),
                                      d16.view().slice_rows(t, 1));
              require_logits(d16, ref.at("logits_decode"), (narrow ? 3e-2 : 1e-2) * scale_d,
                             name + " decode, " + std::string(dtype_name(kv)) + " KV cache (cuda)");
            }
          },
          any);
    }
  }
  CHECK(ran >= 25);
}

TEST_CASE("A host-only family is refused on the GPU with a clear error", "[cuda][errors]") {
  CHECK_THROWS_WITH(load_model<cuda::device<>>(e2e_dir / "qwen3_moe_top2_f32"),
                    Catch::Matchers::Contains("runs on host-memory policies only"));
}

TEST_CASE("GPU attention rejects what it has no kernel for", "[cuda][errors]") {
  cuda::Context ctx;
  ScratchScope<device_space> scratch(ctx.scratch);
  BasicSdpaArgs<device_space> a;
  a.q = scratch.rows(1, 8);
  a.out = scratch.rows(1, 8);
  a.heads = 1;
  const float slope = 0.5f;
  a.alibi_slopes = std::span<const float>(&slope, 1);
  CHECK_THROWS_WITH(kernels::sdpa(cuda::device<>{}, ctx, a), Catch::Matchers::Contains("not supported on the GPU"));
}
