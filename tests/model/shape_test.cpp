#include <catch2/catch.hpp>

#include "tfx/model/shape.hpp"

using namespace tfx;

// Published sizes: Qwen3-0.6B "0.6B" (596,049,920 with tied embeddings), Qwen3-8B "8.2B", Llama-3-8B 8,030,261,248.
static_assert(shapes::Qwen3_0_6B::parameter_count == 596'049'920);
static_assert(shapes::Llama3_8B::parameter_count == 8'030'261'248);
static_assert(shapes::Qwen3_8B::parameter_count == 8'190'735'360);

TEST_CASE("Static presets give the published parameter counts and per-token costs", "[model][shape]") {
  CHECK(shapes::Qwen3_8B::parameter_count / 1e9 == Approx(8.2).margin(0.05));
  // KV cache: 2 (K, V) x layers x kv_heads x head_dim x 4 bytes (f32)
  CHECK(shapes::Qwen3_0_6B::kv_cache_bytes_per_token == 2 * 28 * 8 * 128 * 4);
  CHECK(shapes::Llama3_8B::kv_cache_bytes_per_token == 2 * 32 * 8 * 128 * 4);
  // FLOPs per token at context 0: 2 x the weights used in matrix products (embedding lookup excluded, head included)
  constexpr auto d = shapes::Llama3_8B::dims;
  CHECK(shapes::Llama3_8B::flops_per_token == 2 * (d.parameter_count() - d.vocab * d.hidden - (2 * d.layers + 1) * d.hidden) +
                                                 4 * d.layers * d.heads * d.head_dim);
  CHECK(d.flops_per_token(1000) - d.flops_per_token(0) == 4 * d.layers * d.heads * d.head_dim * 1000);
}
