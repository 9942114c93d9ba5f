#include <catch2/catch.hpp>

#include <filesystem>

#include "tfx/generate/generate.hpp"

using namespace tfx;

TEST_CASE("TextStream releases whole UTF-8 characters and skips ids without text", "[generate][text]") {
  const auto tok = text::Tokenizer::from_file(std::filesystem::path(TFX_SOURCE_DIR) / "models/tiny-fortunes/tokenizer.json");
  const std::string text = "naïve 漢字 and 😀 emoji, ß\n";
  const auto ids = tok.encode(text);
  REQUIRE(ids.size() > 10);
  TextStream stream(tok);
  std::string out;
  int held = 0;
  for (auto id : ids) {
    const std::string piece = stream.push(id);
    if (piece.empty()) ++held;
    // every piece ends on a character boundary
    if (!piece.empty()) CHECK((static_cast<unsigned char>(piece.back()) & 0xC0) != 0xC0);
    out += piece;
  }
  CHECK(held > 0);  // the multi-byte characters are split over byte-level tokens
  CHECK(out == text);
  CHECK(stream.flush().empty());
  CHECK(stream.push(1 << 20).empty());  // beyond the tokenizer's vocabulary: no text, no error
  CHECK(stream.push(0).empty());        // <|endoftext|> is special: no text
}
