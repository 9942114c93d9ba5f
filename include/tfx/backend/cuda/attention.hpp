#pragma once
#include "tfx/backend/cuda/common.hpp"

namespace tfx::cuda {

/// Causal / sliding-window attention over the cache (flash attention for prefill, split-K for decode). Additive
/// masks, key padding, ALiBi and the inspection outputs (weights, entropy) have no CUDA kernel yet: a clear error.
template <int D>
void sdpa_impl(device<D>, Context& ctx, const BasicSdpaArgs<device_space>& a) {
  TFX_CHECK(a.mask.empty() && a.key_padding.empty() && a.alibi_slopes.empty() && !a.weights && !a.entropy,
            "cuda attention: additive masks, key padding, ALiBi and attention weights / entropy outputs are not "
            "supported on the GPU yet");
  TFX_CHECK(a.q.ld >= a.q.cols && a.out.ld >= a.out.cols, "cuda attention: bad strides");
  TFX_CHECK(a.kv.stride() == a.kv.head_dim, "cuda attention: keys and values must be kv-head-major (a KV cache); "
            "token-major views with row stride ", a.kv.stride(), " are not supported on the GPU yet");
  ScratchScope<device_space> scratch(ctx.scratch);
  const std::size_t ws = raw::attention_workspace(a.q.rows, a.kv.len, a.heads, a.kv.head_dim);
  float* workspace = ws ? scratch.take<float>(ws).data() : nullptr;
  raw::attention(ctx.stream(), a.q.data, a.q.ld, a.q.rows, a.kv.k, a.kv.v, a.kv.type, a.kv.len, a.kv.head_stride, a.heads,
                 a.kv.kv_heads, a.kv.head_dim, a.scale, a.causal, a.q_offset, a.window, a.out.data, a.out.ld, workspace);
}

}  // namespace tfx::cuda
