// The layers of encoders and encoder-decoders against PyTorch goldens (tools/make_golden.py): attention over a
// padded batch without a cache (bidirectional or causal), cross-attention over a padded source, and the
// three-sub-layer decoder block (post- and pre-norm) run with a KV cache in chunks.
#include "support/attention_fixture.hpp"
#include "tfx/layers/decoder_block.hpp"
#include "tfx/layers/layer_norm.hpp"
#include "tfx/layers/mlp.hpp"

using namespace tfx;

namespace {
std::vector<std::uint8_t> padding_of(const test::Case& c) { return c["key_padding"].values<std::uint8_t>(); }
}  // namespace

TEMPLATE_LIST_TEST_CASE("Attention over a padded batch without a cache matches PyTorch", "[attention][encoder][golden]",
                        test::CpuPolicies) {
  cpu::Context ctx(2);
  for (const auto& c : test::load_golden("attention_batch")) {
    SECTION(c.name) {
      const test::AttentionFixture f(c, "");
      const RotaryEmbedding<rope::half_split, TestType> rope(f.rope_cfg);
      const auto attn = f.template make<TestType>(c.param<bool>("rope") ? &rope : nullptr);
      const auto x = c["x"].matrix<float>();
      const auto pad = padding_of(c);
      Matrix<float> out(x.rows(), f.cfg.hidden);
      Batch batch{c.param<tfx::Index>("seq_len"), pad};
      const Matrix<float> mask = c.has("mask") ? c["mask"].matrix<float>() : Matrix<float>(0, 0);
      if (c.has("mask")) batch.mask = mask.view();
      attn.forward(ctx, x.view(), batch, out.view());
      test::require_close(out, c["out"], test::tol_composite, c.name);
    }
  }
}

TEMPLATE_LIST_TEST_CASE("CrossAttention over a padded source matches PyTorch", "[cross_attention][golden]",
                        test::CpuPolicies) {
  cpu::Context ctx(2);
  for (const auto& c : test::load_golden("cross_attention")) {
    SECTION(c.name) {
      const test::AttentionFixture f(c, "");
      const auto cross = f.template make_cross<TestType>();
      const auto x = c["x"].matrix<float>(), mem = c["memory"].matrix<float>();
      const auto pad = padding_of(c);
      const tfx::Index kw = f.cfg.kv_heads * f.cfg.head_dim;
      Matrix<float> k(mem.rows(), kw), v(mem.rows(), kw), out(x.rows(), f.cfg.hidden);
      cross.project_memory(ctx, mem.view(), k.view(), v.view());
      // Row by row (decode) and all rows at once must both match.
      for (tfx::Index step : {x.rows(), tfx::Index{1}})
        for (tfx::Index i = 0; i < x.rows(); i += step)
          cross.forward(ctx, x.view().slice_rows(i, step), {k.view(), v.view(), pad}, out.view().slice_rows(i, step));
      test::require_close(out, c["out"], test::tol_composite, c.name);
    }
  }
}

TEMPLATE_LIST_TEST_CASE("DecoderBlock (self-attention, cross-attention, MLP) matches PyTorch", "[decoder_block][golden]",
                        test::CpuPolicies) {
  cpu::Context ctx(2);
  for (const auto& c : test::load_golden("decoder_block")) {
    SECTION(c.name) {
      const test::AttentionFixture self(c, "self."), crossf(c, "cross.");
      const auto attn = self.template make<TestType>(nullptr);
      const auto cross = crossf.template make_cross<TestType>();
      const float eps = c.param<float>("eps");
      const test::GoldenWeights nw(c, "norm");  // LayerNorm keeps views: the values must outlive it
      auto norm = [&](int i) {
        const std::string n = std::to_string(i);
        return LayerNorm<float, TestType>(nw.v.at(n + ".weight"), nw.v.at(n + ".bias"), eps);
      };
      const test::GoldenWeights mlpw(c, "mlp.");
      auto lin = [&](const std::string& n) { return mlpw.template linear<TestType>(n + "_weight", n + "_bias"); };
      using Mlp = FeedForward<activation::silu, float, TestType>;
      const activation act = c.param<std::string>("activation") == "silu" ? activation::silu : activation::gelu_erf;
      const Mlp mlp(lin("fc1"), lin("fc2"), act);
      const auto mem = c["memory"].matrix<float>();
      const auto pad = padding_of(c);
      const tfx::Index kw = self.cfg.kv_heads * self.cfg.head_dim;
      Matrix<float> k(mem.rows(), kw), v(mem.rows(), kw);
      cross.project_memory(ctx, mem.view(), k.view(), v.view());
      auto run = [&](const auto& block) {
        auto x = c["x"].matrix<float>();
        KvCache cache(self.cfg.kv_heads, self.cfg.head_dim, x.rows());
        // Two positions, then one at a time: the self-attention cache grows, the cross K/V stay.
        for (tfx::Index start = 0; start < x.rows();) {
          const tfx::Index n = start == 0 ? 2 : 1;
          block.forward(ctx, x.view().slice_rows(start, n), Step{start}, cache, {k.view(), v.view(), pad});
          start += n;
        }
        test::require_close(x, c["out"], test::tol_composite, c.name);
      };
      using N = LayerNorm<float, TestType>;
      using A = Attention<float, TestType>;
      using X = CrossAttention<float, TestType>;
      if (c.param<std::string>("placement") == "pre")
        run(DecoderBlock<N, A, X, Mlp, norm_placement::pre, TestType>(norm(1), attn, norm(2), cross, norm(3), mlp));
      else
        run(DecoderBlock<N, A, X, Mlp, norm_placement::post, TestType>(norm(1), attn, norm(2), cross, norm(3), mlp));
    }
  }
}

TEST_CASE("Encoder attention and cross-attention reject bad batches and memories", "[attention][encoder][errors]") {
  Matrix<float> q(16, 16), kv(8, 16), o(16, 16);
  using L = Linear<float, cpu::scalar>;
  const AttentionConfig cfg{16, 4, 2, 4, 1e-6f, 0, {}, false};
  const Attention<float, cpu::scalar> attn(cfg, {L(q.view()), L(kv.view()), L(kv.view()), L(o.view())}, nullptr);
  cpu::Context ctx;
  Matrix<float> x(6, 16), out(6, 16);
  CHECK_THROWS_WITH(attn.forward(ctx, x.view(), Batch{4}, out.view()),
                    Catch::Contains("6 rows are not a whole number of sequences of 4"));
  const std::vector<std::uint8_t> pad(5);
  CHECK_THROWS_WITH(attn.forward(ctx, x.view(), Batch{3, pad}, out.view()), Catch::Contains("key_padding has 5 entries for 6 rows"));
  const CrossAttention<float, cpu::scalar> cross(cfg, {L(q.view()), L(kv.view()), L(kv.view()), L(o.view())});
  Matrix<float> k(3, 8), v(3, 8), bad(3, 4);
  CHECK_THROWS_WITH(cross.project_memory(ctx, x.view(), k.view(), v.view()), Catch::Contains("memory [6, 16]"));
  CHECK_THROWS_WITH(cross.forward(ctx, x.view(), {k.view(), bad.view()}, out.view()),
                    Catch::Contains("do not match kv width 8"));
  const std::vector<std::uint8_t> short_pad(2);
  CHECK_THROWS_WITH(cross.forward(ctx, x.view(), {k.view(), v.view(), short_pad}, out.view()),
                    Catch::Contains("key_padding has 2 entries for 3 keys"));
}
