// Helpers shared by the tests in tests/io: unique temporary folders and raw file writing.
#pragma once
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tfx_io_test {

/// A fresh folder under the system temp dir, removed (with its contents) on destruction.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    path_ = std::filesystem::temp_directory_path() /
            ("tfx_io_test_" + std::to_string(::getpid()) + "_" + std::to_string(now) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& p, std::span<const std::byte> bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline void write_text(const std::filesystem::path& p, std::string_view text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

inline std::vector<std::byte> to_bytes(std::string_view s) {
  std::vector<std::byte> out(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) out[i] = static_cast<std::byte>(s[i]);
  return out;
}

/// A raw safetensors image: 8-byte little-endian `header_len` (normally header.size()), the header text verbatim
/// (no padding), then `data_size` bytes of data (value = index % 251).
inline std::vector<std::byte> raw_safetensors(std::string_view header, std::size_t data_size,
                                              std::optional<std::uint64_t> header_len_opt = std::nullopt) {
  const std::uint64_t header_len = header_len_opt.value_or(header.size());
  std::vector<std::byte> out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::byte>((header_len >> (8 * i)) & 0xff));
  for (char c : header) out.push_back(static_cast<std::byte>(c));
  for (std::size_t i = 0; i < data_size; ++i) out.push_back(static_cast<std::byte>(i % 251));
  return out;
}

/// Deterministic mutations for the fuzz-style smoke tests. std::mt19937's sequence is fixed by the standard.
class Mutator {
 public:
  explicit Mutator(std::uint32_t seed) : rng_(seed) {}
  std::uint32_t next(std::uint32_t n) { return n == 0 ? 0 : static_cast<std::uint32_t>(rng_() % n); }

  /// One to three random edits of `in`; positions favour the first `hot` bytes (the header) 3 times out of 4.
  std::vector<std::byte> mutate(std::vector<std::byte> in, std::size_t hot) {
    const std::uint32_t edits = 1 + next(3);
    for (std::uint32_t e = 0; e < edits; ++e) {
      const std::size_t limit = (next(4) != 0 && hot > 0 && hot <= in.size()) ? hot : in.size();
      const std::size_t pos = next(static_cast<std::uint32_t>(limit + 1));
      switch (next(7)) {
        case 0:  // random byte
          if (pos < in.size()) in[pos] = static_cast<std::byte>(next(256));
          break;
        case 1:  // bit flip
          if (pos < in.size()) in[pos] ^= static_cast<std::byte>(1u << next(8));
          break;
        case 2:  // truncate
          in.resize(pos);
          break;
        case 3: {  // insert random bytes
          const std::uint32_t n = 1 + next(8);
          std::vector<std::byte> ins(n);
          for (auto& b : ins) b = static_cast<std::byte>(next(256));
          in.insert(in.begin() + static_cast<std::ptrdiff_t>(std::min(pos, in.size())), ins.begin(), ins.end());
          break;
        }
        case 4: {  // delete a range
          const std::size_t n = std::min<std::size_t>(1 + next(8), in.size() - std::min(pos, in.size()));
          in.erase(in.begin() + static_cast<std::ptrdiff_t>(std::min(pos, in.size())),
                   in.begin() + static_cast<std::ptrdiff_t>(std::min(pos, in.size()) + n));
          break;
        }
        case 5: {  // an interesting token
          static constexpr std::string_view tokens[] = {"9",  "0",      "-1", "18446744073709551615", "1e308", "[",
                                                        "]",  "{",      "}",  ",",     "\"",   "null", "\"F64\"",
                                                        "[]", "\"x\"", ":",  "4294967296", "2.5", "true"};
          const std::string_view t = tokens[next(sizeof(tokens) / sizeof(tokens[0]))];
          const std::vector<std::byte> b = to_bytes(t);
          in.insert(in.begin() + static_cast<std::ptrdiff_t>(std::min(pos, in.size())), b.begin(), b.end());
          break;
        }
        default:  // replace a digit by another
          if (pos < in.size()) {
            for (std::size_t k = pos; k < in.size(); ++k) {
              const auto c = static_cast<char>(in[k]);
              if (c >= '0' && c <= '9') {
                in[k] = static_cast<std::byte>('0' + next(10));
                break;
              }
            }
          }
          break;
      }
    }
    return in;
  }

 private:
  std::mt19937 rng_;
};

}  // namespace tfx_io_test
