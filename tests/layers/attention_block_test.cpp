#include "support/attention_fixture.hpp"
#include "tfx/layers/attention.hpp"
#include "tfx/layers/layer_norm.hpp"
#include "tfx/layers/mlp.hpp"
#include "tfx/layers/transformer_block.hpp"

using namespace tfx;

namespace {
/// Runs `step(x_chunk, start, out_chunk)` over the sequence in chunks {first, 1, 1, ...rest} to exercise the cache.
template <class Step>
void in_chunks(tfx::Index seq, tfx::Index first, Step step) {
  for (tfx::Index start = 0; start < seq;) {
    const tfx::Index n = start == 0 ? std::min(first, seq) : 1;
    step(start, n);
    start += n;
  }
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("Attention module matches Hugging Face eager attention (prefill and decode)", "[attention][golden]", test::CpuPolicies) {
  cpu::Context ctx(2);
  for (const auto& c : test::load_golden("attention")) {
    SECTION(c.name) {
      const test::AttentionFixture f(c, "");
      const RotaryEmbedding<rope::half_split, TestType> rope(f.rope_cfg);
      const auto attn = f.template make<TestType>(&rope);
      const auto x = c["x"].matrix<float>();
      const tfx::Index seq = x.rows();
      for (tfx::Index first : {seq, tfx::Index{2}}) {  // one prefill; and 2 tokens then decode one at a time
        KvCache cache(f.cfg.kv_heads, f.cfg.head_dim, seq);
        Matrix<float> out(seq, f.cfg.hidden);
        in_chunks(seq, first, [&](tfx::Index start, tfx::Index n) {
          attn.forward(ctx, x.view().slice_rows(start, n), start, cache, out.view().slice_rows(start, n));
        });
        test::require_close(out, c["out"], test::tol_composite, c.name + " first chunk " + std::to_string(first));
      }
    }
  }
}

TEMPLATE_LIST_TEST_CASE("TransformerBlock pre-norm and post-norm match PyTorch goldens", "[block][golden]", test::CpuPolicies) {
  cpu::Context ctx(2);
  for (const auto& c : test::load_golden("block")) {
    SECTION(c.name) {
      const test::AttentionFixture f(c, "attn.");
      const RotaryEmbedding<rope::half_split, TestType> rope(f.rope_cfg);
      const auto attn = f.template make<TestType>(&rope);
      const auto n1 = c["norm1.weight"].values<float>(), n2 = c["norm2.weight"].values<float>();
      const auto n1b = c.has("norm1.bias") ? c["norm1.bias"].values<float>() : std::vector<float>{};
      const auto n2b = c.has("norm2.bias") ? c["norm2.bias"].values<float>() : std::vector<float>{};
      const float eps = c.param<float>("eps");
      const test::GoldenWeights mlp(c, "mlp.");
      auto lin = [&](const std::string& n) { return mlp.template linear<TestType>(n + "_weight", n + "_bias"); };
      auto x = c["x"].matrix<float>();
      KvCache cache(f.cfg.kv_heads, f.cfg.head_dim, x.rows());
      using Attn = Attention<float, TestType>;
      if (c.param<std::string>("placement") == "pre") {
        using Block = TransformerBlock<RMSNorm<float, TestType>, Attn, SwiGLU<float, TestType>, norm_placement::pre, TestType>;
        const Block block(RMSNorm<float, TestType>(n1, eps), attn, RMSNorm<float, TestType>(n2, eps),
                          SwiGLU<float, TestType>(lin("gate"), lin("up"), lin("down")));
        block.forward(ctx, x.view(), 0, cache);
      } else {
        using Block = TransformerBlock<LayerNorm<float, TestType>, Attn, GeluMLP<float, TestType>, norm_placement::post, TestType>;
        const Block block(LayerNorm<float, TestType>(n1, n1b, eps), attn, LayerNorm<float, TestType>(n2, n2b, eps),
                          GeluMLP<float, TestType>(lin("fc1"), lin("fc2")));
        block.forward(ctx, x.view(), 0, cache);
      }
      test::require_close(x, c["out"], test::tol_composite, c.name);
    }
  }
}

TEST_CASE("Attention rejects projections that disagree with the head layout", "[attention][errors]") {
  Matrix<float> q(16, 16), kv(8, 16), o(16, 16), bad(12, 16);
  using L = Linear<float, cpu::scalar>;
  AttentionConfig cfg{16, 4, 2, 4};
  typename Attention<float, cpu::scalar>::Weights w{L(q.view()), L(kv.view()), L(kv.view()), L(o.view())};
  CHECK_NOTHROW(Attention<float, cpu::scalar>(cfg, w, nullptr));
  w.k_proj = L(bad.view());
  CHECK_THROWS_WITH((Attention<float, cpu::scalar>(cfg, w, nullptr)), Catch::Contains("k_proj is [12, 16], expected [8, 16]"));
  w.k_proj = L(kv.view());
  cfg.kv_heads = 3;
  CHECK_THROWS_AS((Attention<float, cpu::scalar>(cfg, w, nullptr)), tfx::error);
  cfg.kv_heads = 2;
  std::vector<float> qn(4);
  w.q_norm = qn;
  CHECK_THROWS_WITH((Attention<float, cpu::scalar>(cfg, w, nullptr)), Catch::Contains("q_norm and k_norm must be given together"));
  w.q_norm = {};
  const Attention<float, cpu::scalar> attn(cfg, w, nullptr);
  cpu::Context ctx;
  KvCache cache(2, 4, 8);
  Matrix<float> x(2, 16), out(2, 16);
  CHECK_THROWS_WITH(attn.forward(ctx, x.view(), 1, cache, out.view()), Catch::Contains("holds 0 positions but start_pos is 1"));
}
