// A project outside tfx: finds the installed package and runs one layer.
#include <cmath>
#include <cstdio>
#include <tfx/model.hpp>

int main() {
  const float w[4] = {1, 1, 1, 1};
  float x[4] = {1, 2, 3, 4};
  tfx::cpu::Context ctx;
  tfx::RMSNorm<float> norm(std::span<const float>(w, 4), 1e-6f);
  norm.forward(ctx, tfx::Rows<const float>(x, 1, 4), tfx::Rows<float>(x, 1, 4));
  const double expect = 4 / std::sqrt(7.5);
  std::printf("tfx %d consumer: rms_norm(x)[3] = %.6f (expected %.6f)\n", TFX_VERSION, x[3], expect);
  return std::abs(x[3] - expect) < 1e-5 ? 0 : 1;
}
