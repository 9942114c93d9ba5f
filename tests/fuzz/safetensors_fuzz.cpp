// libFuzzer target for the loading floor (tfx/io): the safetensors parser and the config.json parser.
// The first input byte selects the parser (even: safetensors, odd: config.json); the rest is the document.
// Any input must either parse or throw tfx::error: anything else (a crash, a sanitizer report, another
// exception type escaping) is a bug.
//
//   clang++-14 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude tests/fuzz/safetensors_fuzz.cpp \
//       -o /tmp/io_fuzz && /tmp/io_fuzz -max_total_time=60 CORPUS_DIR
//
// Seeds: a byte 0x00 followed by a safetensors file (e.g. from tfx::io::serialize_safetensors), or 0x01 followed by
// a config.json.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "tfx/io/hf_config.hpp"
#include "tfx/io/safetensors.hpp"

namespace {

template <class T>
unsigned touch(const tfx::io::TensorInfo& t) {
  unsigned acc = 0;
  try {
    const tfx::Rows<const T> m = tfx::io::matrix<T>(t);
    for (tfx::Index i = 0; i < m.rows; ++i)
      for (tfx::Index j = 0; j < m.cols; ++j) acc += static_cast<unsigned>(tfx::to_float(m(i, j)) > 0.0f);
  } catch (const tfx::error&) {
    // misaligned data: reported, fine
  }
  return acc;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool config = (data[0] & 1u) != 0;
  const auto* body = reinterpret_cast<const std::byte*>(data + 1);
  const std::size_t n = size - 1;
  volatile unsigned sink = 0;
  try {
    if (config) {
      const tfx::io::HfConfig c =
          tfx::io::HfConfig::from_json(std::string_view(reinterpret_cast<const char*>(body), n), "fuzz.json");
      const std::vector<bool> s = c.sliding_layers();
      if (static_cast<std::int64_t>(s.size()) != c.num_hidden_layers) __builtin_trap();
      if (c.head_dim <= 0 || c.num_attention_heads % c.num_key_value_heads != 0) __builtin_trap();
    } else {
      const tfx::io::SafetensorsFile f = tfx::io::SafetensorsFile::from_bytes(std::span(body, n), "fuzz.safetensors");
      for (const tfx::io::TensorInfo& t : f.tensors()) {
        if (t.bytes.data() < body || t.bytes.data() + t.bytes.size() > body + n) __builtin_trap();
        for (std::byte b : t.bytes) sink = sink + static_cast<unsigned>(b);
        if (t.dtype == tfx::dtype::f32) sink = sink + touch<float>(t);
        if (t.dtype == tfx::dtype::bf16) sink = sink + touch<tfx::bf16>(t);
        if (t.dtype == tfx::dtype::f16) sink = sink + touch<tfx::f16>(t);
        if (f.find(t.name) != &t) __builtin_trap();
      }
    }
  } catch (const tfx::error&) {
    // rejected with a message: fine
  }
  return 0;
}
