#pragma once
#include "tfx/backend/cpu/simd/common.hpp"

TFX_VECTOR_CODE_BEGIN

namespace tfx::cpu {

template <class A, class T>
void embedding_impl(simd<A>, Context& ctx, std::span<const std::int32_t> ids, Rows<const T> table, Rows<float> out) {
  const Index n = static_cast<Index>(ids.size());
  const int nt = vec::threads_for_rows(ctx, n, n * table.cols, 16384);
  vec::parallel_for(nt, n, [&](Index i) { vec::to_f32(table.row(ids[static_cast<std::size_t>(i)]), out.row(i), table.cols); });
}

}  // namespace tfx::cpu

TFX_VECTOR_CODE_END
