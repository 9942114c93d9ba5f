// Storage dtypes: f32, bf16, f16. Conversions round to nearest even, bit-for-bit as PyTorch does
// (c10/util/BFloat16.h round_to_nearest_even; c10/util/Half.h fp16_ieee_from_fp32_value).
#pragma once
#include <bit>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace tfx {

/// bfloat16 storage: the top 16 bits of an IEEE-754 float.
struct bf16 {
  std::uint16_t bits;
};
/// IEEE-754 binary16 storage.
struct f16 {
  std::uint16_t bits;
};

enum class dtype { f32, bf16, f16 };

constexpr std::string_view dtype_name(dtype t) {
  switch (t) {
    case dtype::f32: return "F32";
    case dtype::bf16: return "BF16";
    case dtype::f16: return "F16";
  }
  return "?";
}

/// Bytes per element.
constexpr std::size_t dtype_size(dtype t) { return t == dtype::f32 ? 4 : 2; }

template <class T>
constexpr dtype dtype_of() {
  if constexpr (std::is_same_v<std::remove_cv_t<T>, float>) return dtype::f32;
  else if constexpr (std::is_same_v<std::remove_cv_t<T>, bf16>) return dtype::bf16;
  else {
    static_assert(std::is_same_v<std::remove_cv_t<T>, f16>, "tfx: storage dtype must be float, bf16 or f16");
    return dtype::f16;
  }
}

template <class T>
concept StorageType = std::is_same_v<std::remove_cv_t<T>, float> || std::is_same_v<std::remove_cv_t<T>, bf16> ||
                      std::is_same_v<std::remove_cv_t<T>, f16>;

inline float to_float(bf16 h) { return std::bit_cast<float>(static_cast<std::uint32_t>(h.bits) << 16); }

inline bf16 to_bf16(float f) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return bf16{0x7fc0};  // NaN -> canonical quiet NaN
  const std::uint32_t rounding_bias = 0x7fffu + ((u >> 16) & 1u);
  return bf16{static_cast<std::uint16_t>((u + rounding_bias) >> 16)};
}

inline float to_float(f16 h) {
  const std::uint32_t w = static_cast<std::uint32_t>(h.bits) << 16;
  const std::uint32_t sign = w & 0x80000000u;
  const std::uint32_t two_w = w + w;
  const float normalized = std::bit_cast<float>((two_w >> 4) + (0xE0u << 23)) * 0x1.0p-112f;
  const float denormalized = std::bit_cast<float>((two_w >> 17) | (126u << 23)) - 0.5f;
  const std::uint32_t result =
      sign | (two_w < (1u << 27) ? std::bit_cast<std::uint32_t>(denormalized) : std::bit_cast<std::uint32_t>(normalized));
  return std::bit_cast<float>(result);
}

inline f16 to_f16(float f) {
  float base = (f < 0 ? -f : f) * 0x1.0p+112f * 0x1.0p-110f;
  const std::uint32_t w = std::bit_cast<std::uint32_t>(f);
  const std::uint32_t shl1_w = w + w;
  const std::uint32_t sign = w & 0x80000000u;
  std::uint32_t bias = shl1_w & 0xFF000000u;
  if (bias < 0x71000000u) bias = 0x71000000u;
  base = std::bit_cast<float>((bias >> 1) + 0x07800000u) + base;
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(base);
  const std::uint32_t exp_bits = (bits >> 13) & 0x00007C00u;
  const std::uint32_t mantissa_bits = bits & 0x00000FFFu;
  const std::uint32_t nonsign = exp_bits + mantissa_bits;
  return f16{static_cast<std::uint16_t>((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign))};
}

inline float to_float(float f) { return f; }

/// Converts a float to storage type T (identity for float).
template <class T>
inline T from_float(float f) {
  if constexpr (std::is_same_v<T, float>) return f;
  else if constexpr (std::is_same_v<T, bf16>) return to_bf16(f);
  else return to_f16(f);
}

}  // namespace tfx
