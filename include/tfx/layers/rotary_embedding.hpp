// Rotary position embedding (RoPE). The two layouts are distinct types, never a flag with a default:
//   rope::half_split   Hugging Face rotate_half / GPT-NeoX: x'[j] = x[j] cos - x[j+d/2] sin, x'[j+d/2] = x[j+d/2] cos + x[j] sin
//   rope::interleaved  Meta reference / GPT-J / llama2.c:    pairs (2j, 2j+1) rotated by the same angle
// theta_j = pos * inv_freq[j] in f32; d = int(head_dim * partial_rotary_factor) dims rotate, the rest pass through.
// inv_freq and attention_scaling follow transformers' modeling_rope_utils.py for default, linear, dynamic (NTK),
// yarn and llama3.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <span>
#include <vector>

#include "tfx/core/error.hpp"
#include "tfx/layers/concepts.hpp"
#include "tfx/layers/rope_config.hpp"

namespace tfx {

namespace rope {
struct half_split {
  static constexpr rope_layout value = rope_layout::half_split;
};
struct interleaved {
  static constexpr rope_layout value = rope_layout::interleaved;
};

/// inv_freq for `seq_len` positions (only dynamic scaling depends on it) and the attention scaling factor.
struct Frequencies {
  std::vector<float> inv_freq;
  float attention_scaling = 1.f;
};

inline int rotary_dim(const RopeConfig& c) { return static_cast<int>(c.head_dim * c.partial_rotary_factor); }

inline void validate(const RopeConfig& c) {
  TFX_CHECK(c.head_dim > 0, "RoPE: head_dim must be positive, got ", c.head_dim);
  TFX_CHECK(c.partial_rotary_factor > 0 && c.partial_rotary_factor <= 1, "RoPE: partial_rotary_factor must be in (0, 1], got ",
            c.partial_rotary_factor);
  const int d = rotary_dim(c);
  TFX_CHECK(d >= 2 && d % 2 == 0, "RoPE: rotary dim ", d, " (head_dim ", c.head_dim, " x partial_rotary_factor ",
            c.partial_rotary_factor, ") must be even and >= 2");
  TFX_CHECK(c.rope_theta > 1, "RoPE: rope_theta must be > 1, got ", c.rope_theta);
  const auto& s = c.scaling;
  if (s.type != rope_type::default_) TFX_CHECK(s.factor >= 1, "RoPE scaling: factor must be >= 1, got ", s.factor);
  if (s.type == rope_type::llama3) {
    TFX_CHECK(s.original_max_position_embeddings > 0, "RoPE llama3 scaling needs original_max_position_embeddings");
    TFX_CHECK(s.high_freq_factor > s.low_freq_factor, "RoPE llama3 scaling: high_freq_factor (", s.high_freq_factor,
              ") must exceed low_freq_factor (", s.low_freq_factor, ")");
  }
  TFX_CHECK(s.type != rope_type::longrope, "RoPE: longrope scaling is not supported");
}

inline std::vector<double> default_inv_freq(int d, double base) {
  std::vector<double> f(static_cast<std::size_t>(d / 2));
  for (int i = 0; i < d / 2; ++i) f[static_cast<std::size_t>(i)] = 1.0 / std::pow(base, (2.0 * i) / d);
  return f;
}

inline Frequencies frequencies(const RopeConfig& c, Index seq_len) {
  const int d = rotary_dim(c);
  const auto& s = c.scaling;
  double base = c.rope_theta, attention = 1.0;
  std::vector<double> f = default_inv_freq(d, base);
  switch (s.type) {
    case rope_type::default_:
    case rope_type::longrope: break;
    case rope_type::linear:
      for (double& v : f) v /= s.factor;
      break;
    case rope_type::dynamic:
      if (seq_len > c.max_position_embeddings) {
        base *= std::pow(s.factor * static_cast<double>(seq_len) / c.max_position_embeddings - (s.factor - 1),
                         static_cast<double>(d) / (d - 2));
        f = default_inv_freq(d, base);
      }
      break;
    case rope_type::yarn: {
      const double orig = s.original_max_position_embeddings > 0 ? s.original_max_position_embeddings
                                                                  : static_cast<double>(c.max_position_embeddings);
      auto mscale = [](double scale, double m) { return scale <= 1 ? 1.0 : 0.1 * m * std::log(scale) + 1.0; };
      if (s.attention_factor > 0) attention = s.attention_factor;
      else if (s.mscale > 0 && s.mscale_all_dim > 0) attention = mscale(s.factor, s.mscale) / mscale(s.factor, s.mscale_all_dim);
      else attention = mscale(s.factor, 1.0);
      auto correction_dim = [&](double rotations) {
        return d * std::log(orig / (rotations * 2 * std::numbers::pi)) / (2 * std::log(base));
      };
      double low = correction_dim(s.beta_fast), high = correction_dim(s.beta_slow);
      if (s.truncate) {
        low = std::floor(low);
        high = std::ceil(high);
      }
      low = std::max(low, 0.0);
      high = std::min(high, d - 1.0);
      if (low == high) high += 0.001;
      for (int i = 0; i < d / 2; ++i) {
        const double ramp = std::clamp((i - low) / (high - low), 0.0, 1.0);
        const double extrapolation = 1 - ramp;
        const double inv = f[static_cast<std::size_t>(i)];
        f[static_cast<std::size_t>(i)] = inv / s.factor * (1 - extrapolation) + inv * extrapolation;
      }
      break;
    }
    case rope_type::llama3: {
      const double L = s.original_max_position_embeddings;
      const double low_wl = L / s.low_freq_factor, high_wl = L / s.high_freq_factor;
      for (double& v : f) {
        const double wavelen = 2 * std::numbers::pi / v;
        const double scaled = wavelen > low_wl ? v / s.factor : v;
        const bool medium = !(wavelen < high_wl) && !(wavelen > low_wl);
        if (medium) {
          const double smooth = (L / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
          v = (1 - smooth) * scaled / s.factor + smooth * scaled;
        } else {
          v = scaled;
        }
      }
      break;
    }
  }
  Frequencies out;
  out.inv_freq.assign(f.begin(), f.end());
  out.attention_scaling = static_cast<float>(attention);
  return out;
}
}  // namespace rope

template <class Layout = rope::half_split, ExecutionPolicy P = cpu::simd<>>
class RotaryEmbedding {
 public:
  static constexpr rope_layout layout = Layout::value;
  static constexpr std::string_view name = "rotary_embedding";
  using policy = P;
  using space = space_t<P>;
  using table_type = BasicRopeTable<space>;

  RotaryEmbedding() = default;
  explicit RotaryEmbedding(const RopeConfig& config) : config_(config) {
    rope::validate(config);
    freq_ = rope::frequencies(config, config.max_position_embeddings);
  }
  const RopeConfig& config() const { return config_; }
  int head_dim() const { return config_.head_dim; }
  int rotary_dim() const { return rope::rotary_dim(config_); }
  /// inv_freq and attention scaling used for a call whose largest position is seq_len - 1.
  rope::Frequencies frequencies(Index seq_len) const {
    return needs_refresh(seq_len) ? rope::frequencies(config_, seq_len) : freq_;
  }

  /// The cos / sin of `positions` (absolute, >= 0; host memory): [T, rotary_dim / 2] each, written to cos and sin
  /// ([T, half] views in the policy's memory) and scaled by attention_scaling. Angles in f32, theta = float(pos) *
  /// inv_freq[j], as Hugging Face computes them. One table serves q and k of every layer of a forward pass.
  table_type table(context_t<P>& ctx, std::span<const std::int64_t> positions, Rows<float, space> cos,
                   Rows<float, space> sin) const {
    std::int64_t max_pos = -1;
    for (std::size_t i = 0; i < positions.size(); ++i) {
      TFX_CHECK(positions[i] >= 0, "RoPE: negative position ", positions[i], " at index ", i);
      max_pos = std::max(max_pos, positions[i]);
    }
    const Index half = rotary_dim() / 2, T_ = static_cast<Index>(positions.size());
    TFX_CHECK(cos.rows == T_ && sin.rows == T_ && cos.cols == half && sin.cols == half, "RoPE: table of [", cos.rows,
              ", ", cos.cols, "] for ", T_, " positions x ", half, " frequencies");
    // dynamic NTK: the frequencies depend on the sequence length
    const rope::Frequencies refreshed = needs_refresh(max_pos + 1) ? rope::frequencies(config_, max_pos + 1) : rope::Frequencies{};
    const rope::Frequencies& f = refreshed.inv_freq.empty() ? freq_ : refreshed;
    kernels::rope_table(P{}, ctx, positions, std::span<const float>(f.inv_freq), f.attention_scaling, cos, sin);
    return table_type{cos, sin};
  }
  /// The table of positions start .. start + count - 1, in scratch memory.
  table_type table(context_t<P>& ctx, ScratchScope<space>& scratch, Index start, Index count) const {
    std::vector<std::int64_t> pos(static_cast<std::size_t>(count));
    for (Index t = 0; t < count; ++t) pos[static_cast<std::size_t>(t)] = start + t;
    const Index half = rotary_dim() / 2;
    return table(ctx, pos, scratch.rows(count, half), scratch.rows(count, half));
  }

  /// x: [T, heads * head_dim], rotated in place by the T rows of `t` (from table()).
  void apply(context_t<P>& ctx, Rows<float, space> x, int heads, const table_type& t) const {
    TFX_CHECK(heads > 0 && x.cols == static_cast<Index>(heads) * config_.head_dim, "RoPE: input has ", x.cols,
              " columns, expected heads (", heads, ") x head_dim (", config_.head_dim, ")");
    TFX_CHECK(t.cos.rows == x.rows && t.sin.rows == x.rows && t.cos.cols == rotary_dim() / 2 && t.sin.cols == t.cos.cols,
              "RoPE: a table of ", t.cos.rows, " positions x ", t.cos.cols, " frequencies for ", x.rows,
              " rows of rotary dim ", rotary_dim());
    kernels::rope(P{}, ctx, x, heads, config_.head_dim, t, layout);
  }
  /// x: [T, heads * head_dim], rotated in place; positions: [T] absolute positions (>= 0, host memory).
  void apply(context_t<P>& ctx, Rows<float, space> x, int heads, std::span<const std::int64_t> positions) const {
    TFX_CHECK(static_cast<Index>(positions.size()) == x.rows, "RoPE: ", positions.size(), " positions for ", x.rows, " rows");
    ScratchScope scratch(ctx.scratch);
    const Index half = rotary_dim() / 2;
    apply(ctx, x, heads, table(ctx, positions, scratch.rows(x.rows, half), scratch.rows(x.rows, half)));
  }

 private:
  bool needs_refresh(Index seq_len) const {
    return config_.scaling.type == rope_type::dynamic && seq_len > config_.max_position_embeddings;
  }
  RopeConfig config_{};
  rope::Frequencies freq_{};
};

}  // namespace tfx
