// Compiled by clang++ with -Werror: the umbrella header plus one instantiation of each layer per CPU policy.
#include <tfx/tfx.hpp>

template <class P>
void instantiate() {
  tfx::cpu::Context ctx;
  float buf[64] = {};
  const float* cbuf = buf;
  tfx::Rows<float> x(buf, 2, 4);
  tfx::Rows<const float> cx(cbuf, 2, 4);
  std::span<const float> w(cbuf, 4);
  tfx::RMSNorm<float, P>(w, 1e-6f).forward(ctx, cx, x);
  tfx::GemmaRMSNorm<tfx::bf16, P>();
  tfx::LayerNorm<float, P>(w, w).forward(ctx, cx, x);
  tfx::Linear<tfx::f16, P>();
  tfx::Softmax<P>(1.f).forward(ctx, x);
  tfx::SwiGLU<tfx::bf16, P>();
  tfx::GeluMLP<float, P>();
  tfx::RotaryEmbedding<tfx::rope::interleaved, P>();
  tfx::ScaledDotProductAttention<P>();
  tfx::Attention<float, P>();
  tfx::Embedding<tfx::bf16, P>(tfx::Rows<const tfx::bf16>(nullptr, 1, 1));
}

int main() {
  instantiate<tfx::cpu::scalar>();
  instantiate<tfx::cpu::simd<>>();
}
