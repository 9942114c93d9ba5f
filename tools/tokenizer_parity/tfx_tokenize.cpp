// Command-line front end of tfx::text::Tokenizer for parity checks against other
// implementations (check_hf.py --tfx runs it):
//
//   tfx_tokenize TOKENIZER_JSON CORPUS_JSON [--add-special-tokens] [--repeat N]
//
// CORPUS_JSON is a JSON list of strings (or an object with "texts"). Prints
// {"ids": [[...], ...], "decoded": ["...", ...]} to stdout and timings to stderr.
//
// Build (from the repository root):
//   g++ -std=c++20 -O2 -Iinclude tools/tokenizer_parity/tfx_tokenize.cpp
//       $(pkg-config --cflags --libs libpcre2-8 libutf8proc) -o /tmp/tfx_tokenize
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tfx/text/tokenizer.hpp"

int main(int argc, char** argv) try {
  if (argc < 3) {
    std::cerr << "usage: tfx_tokenize TOKENIZER_JSON CORPUS_JSON [--add-special-tokens]"
                 " [--repeat N]\n";
    return 2;
  }
  bool add_special = false;
  int repeat = 1;
  for (int i = 3; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--add-special-tokens") add_special = true;
    else if (a == "--repeat" && i + 1 < argc) repeat = std::max(1, std::atoi(argv[++i]));
    else throw tfx::error("unknown option " + a);
  }
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const auto tok = tfx::text::Tokenizer::from_file(argv[1]);
  const auto t1 = clock::now();

  std::ifstream in(argv[2], std::ios::binary);
  if (!in) throw tfx::error(std::string("cannot open ") + argv[2]);
  std::stringstream buf;
  buf << in.rdbuf();
  nlohmann::json corpus = nlohmann::json::parse(buf.str());
  if (corpus.is_object()) corpus = corpus.at("texts");
  std::vector<std::string> texts = corpus.get<std::vector<std::string>>();

  nlohmann::json ids = nlohmann::json::array(), decoded = nlohmann::json::array();
  std::size_t count = 0;
  const auto t2 = clock::now();
  for (int r = 0; r < repeat; ++r)
    for (const std::string& t : texts) count += tok.encode(t, add_special).size();
  const auto t3 = clock::now();
  for (const std::string& t : texts) {
    const auto v = tok.encode(t, add_special);
    ids.push_back(v);
    decoded.push_back(tok.decode(v));
  }
  // decode() returns exact bytes, which need not be UTF-8 (an added token such as "café" maps
  // to the byte 0xE9); the dump replaces invalid bytes with U+FFFD like HF's from_utf8_lossy.
  std::cout << nlohmann::json{{"ids", ids}, {"decoded", decoded}}.dump(
                   -1, ' ', false, nlohmann::json::error_handler_t::replace)
            << "\n";
  auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  std::cerr << "load " << ms(t0, t1) << " ms; encode " << texts.size() << " texts x " << repeat
            << " = " << count << " ids in " << ms(t2, t3) << " ms\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "tfx_tokenize: " << e.what() << "\n";
  return 1;
}
