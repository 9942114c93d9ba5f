// Compositions that must not compile, one per TFX_CASE_* macro (see CMakeLists.txt for the expected messages).
#include <tfx/model.hpp>

#if defined(TFX_CASE_heads_not_multiple_of_kv_heads)
constexpr auto n = tfx::Shape<1000, 512, 2, 6, 4, 64, 1024>::parameter_count;  // 6 query heads, 4 kv heads
#elif defined(TFX_CASE_odd_head_dim)
constexpr auto n = tfx::Shape<1000, 512, 2, 8, 4, 63, 1024>::parameter_count;
#elif defined(TFX_CASE_wrong_storage_type)
tfx::Linear<double> linear;  // weights are float, bf16 or f16
#else
constexpr auto n = tfx::Shape<1000, 512, 2, 8, 4, 64, 1024>::parameter_count;
static_assert(n > 0);
#endif

int main() {}
