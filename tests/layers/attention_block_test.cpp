#include "support/golden.hpp"
#include "tfx/layers/attention.hpp"
#include "tfx/layers/layer_norm.hpp"
#include "tfx/layers/mlp.hpp"
#include "tfx/layers/transformer_block.hpp"

using namespace tfx;

namespace {
/// The tensors of a golden case whose names start with `prefix` (prefix removed), owned as matrices and vectors.
struct GoldenWeights {
  std::map<std::string, Matrix<float>> m;
  std::map<std::string, std::vector<float>> v;

  GoldenWeights(const test::Case& c, const std::string& prefix) {
    for (const auto& [name, t] : c.tensors) {
      if (name.rfind(prefix, 0) != 0) continue;
      m.emplace(name.substr(prefix.size()), t.template matrix<float>());
      v.emplace(name.substr(prefix.size()), t.template values<float>());
    }
  }
  /// A Linear over tensor `weight`, with tensor `bias` when the case has it.
  template <class P>
  Linear<float, P> linear(const std::string& weight, const std::string& bias) const {
    auto b = v.find(bias);
    return Linear<float, P>(m.at(weight).view(), b == v.end() ? std::span<const float>{} : std::span<const float>(b->second));
  }
};

/// Builds the attention module from a golden case's weights ("prefix" = "" or "attn.").
struct AttentionFixture {
  GoldenWeights w;
  AttentionConfig cfg;
  RopeConfig rope_cfg;

  AttentionFixture(const test::Case& c, const std::string& prefix) : w(c, prefix) {
    cfg.hidden = c.param<int>("hidden");
    cfg.heads = c.param<int>("n_heads");
    cfg.kv_heads = c.param<int>("n_kv_heads");
    cfg.head_dim = c.param<int>("head_dim");
    cfg.rms_norm_eps = c.param<float>("rms_norm_eps");
    cfg.sliding_window = c.param<tfx::Index>("sliding_window");
    rope_cfg.head_dim = cfg.head_dim;
    rope_cfg.rope_theta = c.param<double>("rope_theta");
  }
  template <class P>
  Attention<float, P> make(const RotaryEmbedding<rope::half_split, P>* rope) const {
    typename Attention<float, P>::Weights aw;
    auto lin = [&](const std::string& n) { return w.template linear<P>(n + ".weight", n + ".bias"); };
    aw.q_proj = lin("q_proj");
    aw.k_proj = lin("k_proj");
    aw.v_proj = lin("v_proj");
    aw.o_proj = lin("o_proj");
    if (w.v.count("q_norm.weight")) {
      aw.q_norm = w.v.at("q_norm.weight");
      aw.k_norm = w.v.at("k_norm.weight");
    }
    return Attention<float, P>(cfg, aw, rope);
  }
};

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
      const AttentionFixture f(c, "");
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
      const AttentionFixture f(c, "attn.");
      const RotaryEmbedding<rope::half_split, TestType> rope(f.rope_cfg);
      const auto attn = f.template make<TestType>(&rope);
      const auto n1 = c["norm1.weight"].values<float>(), n2 = c["norm2.weight"].values<float>();
      const auto n1b = c.has("norm1.bias") ? c["norm1.bias"].values<float>() : std::vector<float>{};
      const auto n2b = c.has("norm2.bias") ? c["norm2.bias"].values<float>() : std::vector<float>{};
      const float eps = c.param<float>("eps");
      const GoldenWeights mlp(c, "mlp.");
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
