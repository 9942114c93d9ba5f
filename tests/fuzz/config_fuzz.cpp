// libFuzzer target: config.json parsing. Any input either parses or throws tfx::error; nothing else may escape.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tfx/io/hf_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto c = tfx::io::HfConfig::from_json(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    (void)c.sliding_layers();
  } catch (const tfx::error&) {
  }
  return 0;
}
