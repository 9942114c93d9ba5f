// Layers built from the tensors of a golden case: shared by the attention, block and encoder-decoder tests.
#pragma once
#include <map>
#include <string>

#include "support/golden.hpp"
#include "tfx/layers/attention.hpp"
#include "tfx/layers/cross_attention.hpp"

namespace tfx::test {
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
    if (c.params.contains("causal")) cfg.causal = c.param<bool>("causal");
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
  template <class P>
  CrossAttention<float, P> make_cross() const {
    auto lin = [&](const std::string& n) { return w.template linear<P>(n + ".weight", n + ".bias"); };
    return CrossAttention<float, P>(cfg, {lin("q_proj"), lin("k_proj"), lin("v_proj"), lin("o_proj")});
  }
};

}  // namespace tfx::test
