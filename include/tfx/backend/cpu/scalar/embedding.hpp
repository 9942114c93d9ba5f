#pragma once
#include "tfx/backend/cpu/scalar/common.hpp"

namespace tfx::cpu {

/// out[i] = table[ids[i]]   (ids validated by the caller)
template <class T>
void embedding_impl(scalar, Context&, std::span<const std::int32_t> ids, Rows<const T> table, Rows<float> out) {
  for (std::size_t i = 0; i < ids.size(); ++i)
    for (Index c = 0; c < table.cols; ++c) out(static_cast<Index>(i), c) = to_float(table(ids[i], c));
}

}  // namespace tfx::cpu
