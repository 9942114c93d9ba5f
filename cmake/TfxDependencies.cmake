# Dependencies from Debian: Eigen 3.4, xsimd 8.1, OpenMP, nlohmann-json, PCRE2, utf8proc.
find_package(Eigen3 3.4 REQUIRED NO_MODULE)
# Debian's xsimd 8.1 target names an `xtl` link dependency that is not installed (xtl is only needed for
# optional xtl complex support): stand in an empty target so nothing tries to link -lxtl.
if(NOT TARGET xtl)
  add_library(xtl INTERFACE IMPORTED)
endif()
find_package(xsimd 8.1 REQUIRED)
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(TFX_PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(TFX_UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
# SentencePiece (Debian libsentencepiece-dev): the tokenizer of Marian checkpoints (tfx/text/marian_tokenizer.hpp).
# Only code that includes that header links it; the tests and the tfx command need it.
if(TFX_BUILD_TESTS)
  pkg_check_modules(TFX_SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)
else()
  pkg_check_modules(TFX_SENTENCEPIECE IMPORTED_TARGET sentencepiece)
endif()
