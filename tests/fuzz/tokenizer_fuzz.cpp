// libFuzzer target: the byte-level BPE tokenizer of the shipped model on arbitrary bytes. Encoding either throws
// tfx::error (invalid UTF-8) or round-trips: decode(encode(text)) is the NFC form of the text. Decoding arbitrary
// ids either succeeds or throws tfx::error (id out of range). The same bytes also go through a BERT WordPiece
// tokenizer (normalizer, pre-tokenizer, WordPiece, pair template with truncation): ids in range, types 0 or 1,
// never longer than the truncation length.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <utf8proc.h>
#include <vector>

#include "tfx/text/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const tfx::text::Tokenizer tok = tfx::text::Tokenizer::from_file(TFX_FUZZ_TOKENIZER);
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto ids = tok.encode(text);
    const std::string back = tok.decode(ids);
    const std::string nul_free(text);
    if (nul_free.find('\0') == std::string::npos) {  // utf8proc_NFC takes a NUL-terminated string
      std::uint8_t* nfc = utf8proc_NFC(reinterpret_cast<const std::uint8_t*>(nul_free.c_str()));
      if (nfc != nullptr) {
        const bool same = back == reinterpret_cast<const char*>(nfc);
        std::free(nfc);
        if (!same) std::abort();
      }
    }
  } catch (const tfx::error&) {
  }
  static const tfx::text::Tokenizer wp = tfx::text::Tokenizer::from_file(TFX_FUZZ_WORDPIECE);
  try {
    const std::string_view a = text.substr(0, size / 2), b = text.substr(size / 2);
    const auto e = wp.encode_with_types(a, b, 24);
    if (e.ids.size() > 24 || e.ids.size() != e.type_ids.size()) std::abort();
    for (std::size_t i = 0; i < e.ids.size(); ++i)
      if (e.ids[i] < 0 || static_cast<std::size_t>(e.ids[i]) >= wp.vocab_size() || e.type_ids[i] > 1) std::abort();
    (void)wp.decode(wp.encode(text, true), true);
  } catch (const tfx::error&) {
  }
  std::vector<std::int32_t> ids;
  for (std::size_t i = 0; i + 2 <= size; i += 2) ids.push_back(static_cast<std::int32_t>(data[i] | (data[i + 1] << 8)) - 256);
  try {
    (void)tok.decode(ids);
  } catch (const tfx::error&) {
  }
  return 0;
}
