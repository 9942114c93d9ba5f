// Absolute and bias position encodings.
//   Sinusoidal ("Attention is all you need"): PE[p, 2i] = sin(p / base^(2i/d)), PE[p, 2i+1] = cos(p / base^(2i/d))
//   Learned absolute (GPT-2 wpe): x[t] += table[offset + t]
//   ALiBi (Press et al.; BLOOM's slopes): score[h, i, j] += slope_h * (j - pos_i), see SdpaArgs::alibi_slopes
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "tfx/core/error.hpp"
#include "tfx/core/spec.hpp"
#include "tfx/layers/concepts.hpp"
#include "tfx/layers/rotary_embedding.hpp"

namespace tfx {

/// Where the sines and cosines of a sinusoidal table go.
enum class sinusoidal_layout {
  interleaved,  // the paper, tensor2tensor: sin in even columns, cos in odd ones
  half_split,   // Marian, fairseq: sin in the first half, cos in the second
};

/// The [max_len, dim] sinusoidal table, computed in double and rounded once: pair i has angle
/// p / base^(2i / dim).
inline Matrix<float> sinusoidal_table(Index max_len, Index dim, double base = 10000.0,
                                      sinusoidal_layout layout = sinusoidal_layout::interleaved) {
  TFX_CHECK(max_len > 0 && dim > 0 && dim % 2 == 0, "sinusoidal_table: need max_len > 0 and an even dim > 0, got [",
            max_len, ", ", dim, "]");
  Matrix<float> pe(max_len, dim);
  const bool split = layout == sinusoidal_layout::half_split;
  for (Index p = 0; p < max_len; ++p)
    for (Index i = 0; i < dim / 2; ++i) {
      const double angle = static_cast<double>(p) / std::pow(base, 2.0 * static_cast<double>(i) / static_cast<double>(dim));
      pe(p, split ? i : 2 * i) = static_cast<float>(std::sin(angle));
      pe(p, split ? dim / 2 + i : 2 * i + 1) = static_cast<float>(std::cos(angle));
    }
  return pe;
}

/// ALiBi slopes for n heads: a geometric sequence 2^(-8/n') for the largest power of two n' <= n, then the odd
/// powers of the next power of two's base for the remaining heads (the rule for head counts that are not powers of 2).
inline std::vector<float> alibi_slopes(int n_heads) {
  TFX_CHECK(n_heads > 0, "alibi_slopes: n_heads must be positive, got ", n_heads);
  int cp = 1;
  while (cp * 2 <= n_heads) cp *= 2;
  std::vector<float> s;
  const double base = std::pow(2.0, -std::pow(2.0, -(std::log2(cp) - 3)));
  for (int i = 1; i <= cp; ++i) s.push_back(static_cast<float>(std::pow(base, i)));
  if (cp != n_heads) {
    const double extra = std::pow(2.0, -std::pow(2.0, -(std::log2(2 * cp) - 3)));
    for (int i = 0; i < n_heads - cp; ++i) s.push_back(static_cast<float>(std::pow(extra, 2 * i + 1)));
  }
  return s;
}

/// Adds rows [offset, offset + T) of a position table (learned or sinusoidal) to x [T, dim].
template <StorageType T = float, ExecutionPolicy P = cpu::simd<>>
class AbsolutePositionEmbedding {
 public:
  static constexpr std::string_view name = "absolute_position_embedding";
  using policy = P;
  using space = space_t<P>;
  explicit AbsolutePositionEmbedding(Rows<const T, space> table) : table_(table) {
    TFX_CHECK(table.rows > 0 && table.cols > 0, "AbsolutePositionEmbedding: empty table");
  }
  Index max_positions() const { return table_.rows; }

  void forward(context_t<P>& ctx, Rows<float, space> x, Index offset) const {
    TFX_CHECK(x.cols == table_.cols, "AbsolutePositionEmbedding: input has ", x.cols, " columns, table has ", table_.cols);
    TFX_CHECK(offset >= 0 && offset + x.rows <= table_.rows, "AbsolutePositionEmbedding: positions [", offset, ", ",
              offset + x.rows, ") exceed the ", table_.rows, " positions of the table");
    if constexpr (std::is_same_v<T, float>) {
      kernels::add(P{}, ctx, x, table_.slice_rows(offset, x.rows));
    } else {  // rows offset.. of the table, widened by the embedding kernel
      TFX_CHECK(offset + x.rows <= std::numeric_limits<std::int32_t>::max(), "AbsolutePositionEmbedding: position ",
                offset + x.rows, " does not fit an int32 row index");
      std::vector<std::int32_t> ids(static_cast<std::size_t>(x.rows));
      for (Index t = 0; t < x.rows; ++t) ids[static_cast<std::size_t>(t)] = static_cast<std::int32_t>(offset + t);
      ScratchScope scratch(ctx.scratch);
      Rows<float, space> rows = scratch.rows(x.rows, x.cols);
      kernels::embedding(P{}, ctx, std::span<const std::int32_t>(ids), table_, rows);
      kernels::add(P{}, ctx, x, Rows<const float, space>(rows));
    }
  }

 private:
  Rows<const T, space> table_;
};

template <StorageType T = float, ExecutionPolicy P = cpu::simd<>>
using LearnedPositionEmbedding = AbsolutePositionEmbedding<T, P>;

/// A decoder's position stage. Positions either enter through RoPE inside attention (RotaryPositions: nothing is
/// added to the embeddings; attention gets `rotary()`) or are added to the embeddings (LearnedPositions, GPT-2's
/// wpe: `rotary()` is null). Either way the decoder calls forward(ctx, x, first_position) after the embedding.
template <class Layout = rope::half_split, ExecutionPolicy P = cpu::simd<>>
class RotaryPositions {
 public:
  static constexpr std::string_view name = "rotary_positions";
  using policy = P;
  using layout = Layout;
  using rope_type = RotaryEmbedding<Layout, P>;
  RotaryPositions() = default;
  explicit RotaryPositions(const RopeConfig& c) : rope_(std::make_unique<rope_type>(c)) {}
  void forward(context_t<P>&, Rows<float, space_t<P>>, Index) const {}
  const rope_type* rotary() const { return rope_.get(); }
  Index max_positions() const { return std::numeric_limits<Index>::max(); }
  static constexpr Counts counts(const ModelSpec&) { return {}; }

 private:
  std::unique_ptr<rope_type> rope_;  // on the heap, so attention's pointer survives moves
};

template <StorageType T = float, ExecutionPolicy P = cpu::simd<>>
class LearnedPositions {
 public:
  static constexpr std::string_view name = "learned_positions";
  using policy = P;
  using space = space_t<P>;
  using layout = rope::half_split;  // unused: no rotary embedding
  using rope_type = RotaryEmbedding<layout, P>;
  LearnedPositions() = default;
  explicit LearnedPositions(Rows<const T, space> table) : table_(table) {}
  void forward(context_t<P>& ctx, Rows<float, space> x, Index first) const { table_.forward(ctx, x, first); }
  const rope_type* rotary() const { return nullptr; }
  Index max_positions() const { return table_.max_positions(); }
  /// The [position_table, hidden] table, added to the embeddings.
  static constexpr Counts counts(const ModelSpec& s) { return Counts::elementwise(s.position_table * s.hidden); }

 private:
  AbsolutePositionEmbedding<T, P> table_{Rows<const T, space>(nullptr, 1, 1)};
};

/// The original Transformer's fixed encoding: owns its table (in host memory: host policies only).
template <ExecutionPolicy P = cpu::simd<>>
class SinusoidalPositionEncoding {
 public:
  static_assert(std::is_same_v<space_t<P>, host_space>, "SinusoidalPositionEncoding: owns a host table");
  static constexpr std::string_view name = "sinusoidal_position_encoding";
  using policy = P;
  SinusoidalPositionEncoding(Index max_len, Index dim, double base = 10000.0,
                             sinusoidal_layout layout = sinusoidal_layout::interleaved)
      : table_(sinusoidal_table(max_len, dim, base, layout)) {}
  const Matrix<float>& table() const { return table_; }
  Index max_positions() const { return table_.rows(); }
  void forward(context_t<P>& ctx, Rows<float> x, Index offset) const {
    AbsolutePositionEmbedding<float, P>(table_.view()).forward(ctx, x, offset);
  }

 private:
  Matrix<float> table_;
};

}  // namespace tfx
