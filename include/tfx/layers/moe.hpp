// Mixture of experts, Qwen3-MoE / Mixtral semantics (transformers' Qwen3MoeSparseMoeBlock):
//   p        = softmax(router(x))                      in f32, over all experts
//   top, idx = topk(p, k)                              (norm_topk_prob: top /= sum(top))
//   y        = sum_{j < k} top_j * expert_{idx_j}(x)   experts are SwiGLU MLPs; only the selected ones run
// Tokens are grouped by expert, so each selected expert runs once per forward on the rows that chose it (prefill),
// and a decode step runs exactly k expert MLPs. Experts add into y in ascending expert order, as transformers does.
//
// MixedMlp holds either a dense MLP or a mixture, chosen per layer at load (Qwen3-MoE's decoder_sparse_step and
// mlp_only_layers), so one block type serves both kinds of layer.
#pragma once
#include <algorithm>
#include <numeric>
#include <variant>
#include <vector>

#include "tfx/core/error.hpp"
#include "tfx/core/spec.hpp"
#include "tfx/kernels/softmax.hpp"
#include "tfx/layers/concepts.hpp"
#include "tfx/layers/mlp.hpp"

namespace tfx {

/// The router's weight format for experts of format W: W itself when it is dense; f32 when the experts are
/// quantized (as llama.cpp does: a small matrix whose rounding would move tokens between experts).
template <class W>
using router_format_t = std::conditional_t<BlockQuantized<weight_format_t<W>>, Dense<float>, W>;

template <class W = float, ExecutionPolicy P = cpu::simd<>>
class SparseMoE {
 public:
  static constexpr std::string_view name = "sparse_moe";
  using policy = P;
  using Expert = SwiGLU<W, P>;
  using Router = Linear<router_format_t<W>, P>;

  SparseMoE() = default;
  /// router: [experts, hidden]; experts: one MLP each; top_k in [1, experts].
  SparseMoE(Router router, std::vector<Expert> experts, int top_k, bool norm_topk_prob)
      : router_(router), experts_(std::move(experts)), top_k_(top_k), norm_topk_prob_(norm_topk_prob) {
    const auto n = static_cast<Index>(experts_.size());
    TFX_CHECK(n > 0, "SparseMoE: no experts");
    TFX_CHECK(router.out_features() == n, "SparseMoE: router has ", router.out_features(), " outputs for ", n,
              " experts");
    TFX_CHECK(top_k >= 1 && top_k <= n, "SparseMoE: top_k ", top_k, " must be in [1, ", n, "]");
    for (std::size_t e = 0; e < experts_.size(); ++e)
      TFX_CHECK(experts_[e].hidden() == router.in_features(), "SparseMoE: expert ", e, " has hidden size ",
                experts_[e].hidden(), ", the router ", router.in_features());
  }
  Index hidden() const { return router_.in_features(); }
  Index experts() const { return static_cast<Index>(experts_.size()); }
  int top_k() const { return top_k_; }

  /// Router [experts, hidden] and experts of width moe_intermediate; active: the router and top-k experts.
  static constexpr Counts counts(const ModelSpec& s, std::int64_t /*layer*/ = 0) {
    const Counts expert = Expert::shape_counts(s.hidden, s.moe_intermediate, false);
    Counts c = Counts::dense(s.experts * s.hidden);
    c.parameters += s.experts * expert.parameters;
    c.active += s.experts_per_tok * expert.active;
    c.matmul += s.experts_per_tok * expert.matmul;
    return c;
  }

  /// Routing runs on the host: a policy whose memory is elsewhere has no mixture of experts yet.
  void forward(context_t<P>& ctx, Rows<const float, space_t<P>> x, Rows<float, space_t<P>> y) const {
    static_assert(std::is_same_v<space_t<P>, host_space>, "SparseMoE: routing needs the activations in host memory");
    TFX_CHECK(x.cols == hidden() && y.cols == hidden() && y.rows == x.rows, "SparseMoE: input [", x.rows, ", ", x.cols,
              "] / output [", y.rows, ", ", y.cols, "] do not match hidden ", hidden());
    const Index T_ = x.rows, E = experts(), k = top_k_;
    ScratchScope scratch(ctx.scratch);
    Rows<float> probs(scratch.floats(static_cast<std::size_t>(T_ * E)).data(), T_, E);
    router_.forward(ctx, x, probs);
    kernels::softmax(P{}, ctx, probs, 1.f);
    // Per token: the k most probable experts (ties: the lower expert index first).
    std::span<std::int32_t> chosen = scratch.template take<std::int32_t>(static_cast<std::size_t>(T_ * k));
    std::span<float> weight = scratch.floats(static_cast<std::size_t>(T_ * k));
    std::span<std::int32_t> order = scratch.template take<std::int32_t>(static_cast<std::size_t>(E));
    for (Index t = 0; t < T_; ++t) {
      const float* p = probs.row(t);
      std::iota(order.begin(), order.end(), 0);
      std::partial_sort(order.begin(), order.begin() + k, order.end(),
                        [&](std::int32_t a, std::int32_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
      float top_sum = 0;
      for (Index j = 0; j < k; ++j) top_sum += p[order[static_cast<std::size_t>(j)]];
      for (Index j = 0; j < k; ++j) {
        const std::int32_t e = order[static_cast<std::size_t>(j)];
        chosen[static_cast<std::size_t>(t * k + j)] = e;
        weight[static_cast<std::size_t>(t * k + j)] = norm_topk_prob_ ? p[e] / top_sum : p[e];
      }
    }
    // Group the (token, weight) pairs by expert: a counting sort, tokens ascending within each expert.
    const auto sz = [](Index i) { return static_cast<std::size_t>(i); };
    std::span<Index> start = scratch.template take<Index>(sz(E + 1)), next = scratch.template take<Index>(sz(E));
    std::fill(start.begin(), start.end(), 0);
    for (const std::int32_t e : chosen) ++start[sz(e + 1)];
    std::partial_sum(start.begin(), start.end(), start.begin());
    std::copy_n(start.begin(), E, next.begin());
    std::span<std::int32_t> token = scratch.template take<std::int32_t>(sz(T_ * k));
    std::span<float> token_weight = scratch.floats(sz(T_ * k));
    for (Index i = 0; i < T_ * k; ++i) {
      const Index at = next[sz(chosen[sz(i)])]++;
      token[sz(at)] = static_cast<std::int32_t>(i / k);
      token_weight[sz(at)] = weight[sz(i)];
    }
    // Per expert, in ascending order: run it once on the rows that chose it, add its output back weighted.
    for (Index r = 0; r < T_; ++r) std::fill_n(y.row(r), hidden(), 0.f);
    Rows<float> xe(scratch.floats(sz(T_ * hidden())).data(), T_, hidden());
    Rows<float> ye(scratch.floats(sz(T_ * hidden())).data(), T_, hidden());
    for (Index e = 0; e < E; ++e) {
      const Index first = start[sz(e)], n = start[sz(e + 1)] - first;
      if (n == 0) continue;
      // A token picks an expert at most once, so n == T means every token, in order: x itself.
      if (n != T_)
        for (Index i = 0; i < n; ++i) std::copy_n(x.row(token[sz(first + i)]), hidden(), xe.row(i));
      const Rows<const float> in = n == T_ ? x : Rows<const float>(xe.data, n, hidden());
      const Rows<float> out(ye.data, n, hidden());
      experts_[sz(e)].forward(ctx, in, out);
      for (Index i = 0; i < n; ++i) {
        const float w = token_weight[sz(first + i)];
        float* dst = y.row(token[sz(first + i)]);
        const float* src = out.row(i);
        for (Index c = 0; c < hidden(); ++c) dst[c] += w * src[c];
      }
    }
  }

 private:
  Router router_{};
  std::vector<Expert> experts_;
  int top_k_ = 1;
  bool norm_topk_prob_ = false;
};

/// A dense MLP or a mixture of experts, chosen per layer.
template <Mlp Dense, Mlp Sparse>
class MixedMlp {
 public:
  static constexpr std::string_view name = "mixed_mlp";
  using policy = typename Dense::policy;
  MixedMlp() = default;
  MixedMlp(Dense d) : m_(std::move(d)) {}   // NOLINT(google-explicit-constructor)
  MixedMlp(Sparse s) : m_(std::move(s)) {}  // NOLINT(google-explicit-constructor)
  Index hidden() const {
    return std::visit([](const auto& m) { return m.hidden(); }, m_);
  }
  static constexpr Counts counts(const ModelSpec& s, std::int64_t layer) {
    return s.sparse(layer) ? Sparse::counts(s, layer) : Dense::counts(s, layer);
  }
  void forward(context_t<policy>& ctx, Rows<const float, space_t<policy>> x, Rows<float, space_t<policy>> y) const {
    std::visit([&](const auto& m) { m.forward(ctx, x, y); }, m_);
  }

 private:
  std::variant<Dense, Sparse> m_;
};

}  // namespace tfx
