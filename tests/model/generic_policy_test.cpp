// The layers and the model are generic over the execution policy: a policy of the test's own, with its own
// context type and no fallback, counts every kernel call and runs it with the reference kernels. Every layer and
// the model compile against it (a layer that named cpu::Context, cpu::ScratchScope or a CPU kernel directly would
// not), every op of a forward pass goes through the dispatcher (the counts below are exact), long-lived memory
// (the KV caches) is allocated through the context, and the logits equal those of cpu::scalar bit for bit.
#include <filesystem>
#include <map>
#include <string>

#include "support/golden.hpp"
#include "tfx/io/load_model.hpp"
#include "tfx/layers/softmax.hpp"

using namespace tfx;
namespace fs = std::filesystem;

namespace counting {

struct Context {
  using memory_space = host_space;
  cpu::Context cpu{1};
  BasicArena<host_space> scratch{};
  std::map<std::string, int> calls{};
  Buffer allocate(std::size_t bytes) {
    ++calls["allocate"];
    return memory<host_space>::allocate(bytes);
  }
};

/// No `fallback`: an op without an overload below fails to compile.
struct policy {
  using memory_space = host_space;
  using context_type = Context;
  static constexpr std::string_view name = "test.counting";
};

#define TFX_COUNTED(OP)                                                   \
  template <class... A>                                                   \
  void OP##_impl(policy, Context& c, A&&... a) {                          \
    ++c.calls[#OP];                                                       \
    tfx::kernels::OP(tfx::cpu::scalar{}, c.cpu, std::forward<A>(a)...);   \
  }
TFX_COUNTED(embedding)
TFX_COUNTED(rms_norm)
TFX_COUNTED(layer_norm)
TFX_COUNTED(linear)
TFX_COUNTED(linear_group)
TFX_COUNTED(rope)
TFX_COUNTED(rope_table)
TFX_COUNTED(kv_append)
TFX_COUNTED(sdpa)
TFX_COUNTED(add)
TFX_COUNTED(activation)
TFX_COUNTED(gated_activation)
TFX_COUNTED(softmax)
TFX_COUNTED(copy_to_host)
#undef TFX_COUNTED

}  // namespace counting

static_assert(ExecutionPolicy<counting::policy>);
static_assert(!std::is_same_v<context_t<counting::policy>, cpu::Context>);

namespace {
const fs::path e2e_dir = fs::path(TFX_SOURCE_DIR) / "tests/data/e2e";

/// Loads checkpoint `name` as family F under the counting policy and under cpu::scalar, runs a prefill and one
/// decode step under each, and checks the logits are equal bit for bit; returns the counts of the prefill and of
/// the decode step.
template <class F, StorageType T>
std::pair<std::map<std::string, int>, std::map<std::string, int>> run_both(const std::string& name) {
  using Counted = Model<F, DynamicShape, counting::policy, T>;
  using Reference = Model<F, DynamicShape, cpu::scalar, T>;
  const Counted model = io::load_as<Counted>(e2e_dir / name);
  const Reference ref = io::load_as<Reference>(e2e_dir / name);
  const std::vector<std::int32_t> tokens{3, 1, 4, 1, 5};
  const auto n = static_cast<Index>(tokens.size()), vocab = model.dims().vocab, L = model.dims().layers;

  auto s = model.new_session(n + 1);
  CHECK(s.ctx.calls["allocate"] == 2 * L);  // K and V of each layer, through the context
  s.ctx.calls.clear();
  Matrix<float> got(n, vocab), want(n, vocab);
  model.forward(s, tokens, got.view());
  auto r = ref.new_session(n + 1);
  r.ctx.precision = cpu::Precision::exact;
  ref.forward(r, tokens, want.view());
  CHECK(got.storage() == want.storage());
  const auto prefill = s.ctx.calls;

  // decode: one more token through the cache, logits copied to the host through the policy
  s.ctx.calls.clear();
  Matrix<float> one(1, vocab), one_ref(1, vocab);
  const std::int32_t next = 2;
  model.forward_to_host(s, std::span<const std::int32_t>(&next, 1), one.view());
  ref.forward(r, std::span<const std::int32_t>(&next, 1), one_ref.view());
  CHECK(one.storage() == one_ref.storage());
  return {prefill, s.ctx.calls};
}

template <class F, StorageType T>
void check_counts_and_logits(const std::string& name, const std::map<std::string, int>& per_forward) {
  const auto [prefill, decode] = run_both<F, T>(name);
  CHECK(prefill == per_forward);
  CHECK(decode == per_forward);
}
}  // namespace

TEST_CASE("A model under a counting policy with no fallback dispatches every op through it", "[model][policy]") {
  SECTION("qwen3: q/k norm, RoPE, GQA, SwiGLU, untied head") {
    const int L = 2;
    check_counts_and_logits<family::Qwen3, float>(
        "qwen3_qknorm_f32", {{"embedding", 1}, {"rms_norm", 4 * L + 1}, {"linear_group", 2 * L}, {"linear", 2 * L + 1},
                             {"rope_table", 1}, {"rope", 2 * L}, {"kv_append", L}, {"sdpa", L}, {"add", 2 * L},
                             {"gated_activation", L}});
  }
  SECTION("gpt2: learned positions, LayerNorm, GELU MLP, Conv1D weights, no RoPE") {
    const int L = 2;
    check_counts_and_logits<family::Gpt2, float>(
        "gpt2_f32", {{"embedding", 1}, {"add", 2 * L + 1}, {"layer_norm", 2 * L + 1}, {"linear_group", L},
                     {"linear", 3 * L + 1}, {"kv_append", L}, {"sdpa", L}, {"activation", L}});
  }
}

TEST_CASE("A mixture of experts runs under the counting policy: router, softmax and experts dispatched", "[model][policy]") {
  // Routing is a host loop (qwen3_moe is a host-only family); everything it computes goes through the policy.
  const int L = 2, top_k = 2;
  const auto [prefill, decode] = run_both<family::Qwen3Moe, float>("qwen3_moe_top2_f32");
  for (const auto* calls : {&prefill, &decode}) {
    CHECK(calls->at("softmax") == L);           // router probabilities, one per sparse layer
    CHECK(calls->at("rms_norm") == 4 * L + 1);  // two norms and q / k norms per layer, the final norm
    CHECK(calls->at("gated_activation") >= L);  // at least one expert per layer
  }
  CHECK(decode.at("gated_activation") == L * top_k);  // one token: exactly top_k experts per layer
}

TEST_CASE("Layers on their own dispatch through the counting policy", "[model][policy]") {
  counting::Context ctx;
  Matrix<float> x(3, 8, 0.5f);
  Softmax<counting::policy>(2.f).forward(ctx, x.view());
  const std::vector<float> w(8, 1.f);
  RMSNorm<float, counting::policy>(w, 1e-6f).forward(ctx, x.view(), x.view());
  LayerNorm<float, counting::policy>(w, w).forward(ctx, x.view(), x.view());
  CHECK(ctx.calls == std::map<std::string, int>{{"softmax", 1}, {"rms_norm", 1}, {"layer_norm", 1}});
}
