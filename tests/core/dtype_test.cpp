#include <bit>

#include "support/golden.hpp"

using namespace tfx;

TEST_CASE("bf16 and f16 conversions round to nearest even exactly as PyTorch", "[dtype]") {
  const auto c = test::load_golden("dtype").front();
  const auto f32 = c["f32_bits"].values<std::uint32_t>();
  const auto want_bf16 = c["bf16_bits"].values<std::uint32_t>();
  const auto want_f16 = c["f16_bits"].values<std::uint32_t>();
  REQUIRE(f32.size() > 200);
  int nans = 0;
  for (std::size_t i = 0; i < f32.size(); ++i) {
    const float x = std::bit_cast<float>(f32[i]);
    INFO("value " << x << " (bits 0x" << std::hex << f32[i] << ")");
    if (std::isnan(x)) {  // PyTorch's NaN payload depends on the code path; any NaN is a NaN
      ++nans;
      CHECK(std::isnan(to_float(to_bf16(x))));
      CHECK(std::isnan(to_float(to_f16(x))));
      continue;
    }
    CHECK(to_bf16(x).bits == want_bf16[i]);
    CHECK(to_f16(x).bits == want_f16[i]);
    // Widening is exact: the rounded value converts back to itself.
    CHECK(to_bf16(to_float(to_bf16(x))).bits == to_bf16(x).bits);
    CHECK(to_f16(to_float(to_f16(x))).bits == to_f16(x).bits);
  }
  CHECK(nans >= 1);
}

TEST_CASE("dtype names and traits", "[dtype]") {
  STATIC_REQUIRE(dtype_of<float>() == dtype::f32);
  STATIC_REQUIRE(dtype_of<bf16>() == dtype::bf16);
  STATIC_REQUIRE(dtype_of<const f16>() == dtype::f16);
  CHECK(dtype_name(dtype::bf16) == "BF16");
  CHECK(to_float(f16{0x3c00}) == 1.0f);
  CHECK(to_float(bf16{0x3f80}) == 1.0f);
  CHECK(to_float(f16{0x0001}) == std::ldexp(1.0f, -24));  // smallest f16 subnormal
}
