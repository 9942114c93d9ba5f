// Embedding: out[i] = table[ids[i]]  (table [vocab, dim], any storage dtype; output f32).
#pragma once
#include <span>

#include "tfx/core/error.hpp"
#include "tfx/core/spec.hpp"
#include "tfx/layers/concepts.hpp"

namespace tfx {

template <StorageType T = float, ExecutionPolicy P = cpu::simd<>>
class Embedding {
 public:
  static constexpr std::string_view name = "embedding";
  using policy = P;
  using space = space_t<P>;
  explicit Embedding(Rows<const T, space> table) : table_(table) {
    TFX_CHECK(table.rows > 0 && table.cols > 0, "Embedding: empty table [", table.rows, ", ", table.cols, "]");
  }
  Index vocab_size() const { return table_.rows; }
  Index dim() const { return table_.cols; }
  Rows<const T, space> table() const { return table_; }
  /// The token embedding [vocab, hidden]: a lookup, no matrix product.
  static constexpr Counts counts(const ModelSpec& s) { return Counts::elementwise(s.vocab * s.hidden); }

  /// ids: [n] token ids (host memory), each in [0, vocab); out: [n, dim].
  void forward(context_t<P>& ctx, std::span<const std::int32_t> ids, Rows<float, space> out) const {
    TFX_CHECK(out.rows == static_cast<Index>(ids.size()) && out.cols == dim(), "Embedding: output is [", out.rows, ", ",
              out.cols, "], expected [", ids.size(), ", ", dim(), "]");
    for (std::size_t i = 0; i < ids.size(); ++i)
      TFX_CHECK(ids[i] >= 0 && ids[i] < table_.rows, "Embedding: token id ", ids[i], " at index ", i,
                " is out of range for a vocabulary of ", table_.rows);
    kernels::embedding(P{}, ctx, ids, table_, out);
  }

 private:
  Rows<const T, space> table_;
};

}  // namespace tfx
