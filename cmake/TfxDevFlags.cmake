# tfx_dev: flags for tfx's own tests, benchmarks, examples and tools. Never exported: consumers pick their own.
add_library(tfx_dev INTERFACE)
target_compile_options(tfx_dev INTERFACE -Wall -Wextra -Wpedantic $<$<BOOL:${TFX_WERROR}>:-Werror>)
if(TFX_NATIVE)
  target_compile_options(tfx_dev INTERFACE -march=native)
endif()
if(TFX_SANITIZE)
  target_compile_options(tfx_dev INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                                           -fno-sanitize-recover=undefined)
  target_link_options(tfx_dev INTERFACE -fsanitize=address,undefined)
  # GCC's -Wmaybe-uninitialized is known to give false positives when sanitizers instrument the code (it fires
  # inside libstdc++'s <regex> here); the non-sanitized builds keep it.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(tfx_dev INTERFACE -Wno-maybe-uninitialized)
  endif()
endif()
target_link_libraries(tfx_dev INTERFACE tfx::tfx)
