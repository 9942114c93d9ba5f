// NumPy .npy (format 1.0) writer for float32 arrays, e.g. logits of shape [T, vocab].
#pragma once
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tfx/core/error.hpp"
#include "tfx/core/view.hpp"

namespace tfx::io {

/// Writes `m` as a C-ordered little-endian float32 array of shape [rows, cols].
inline void write_npy(const std::filesystem::path& path, Rows<const float> m) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(m.rows) + ", " +
                       std::to_string(m.cols) + "), }";
  // magic (6) + version (2) + header length (2) + header + '\n' is padded to a multiple of 64 bytes.
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  TFX_CHECK(out.good(), "cannot open ", path.string(), " for writing: ", std::strerror(errno));
  const std::uint16_t len = static_cast<std::uint16_t>(header.size());
  const char preamble[10] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  out.write(preamble, 10);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  for (Index r = 0; r < m.rows; ++r)
    out.write(reinterpret_cast<const char*>(m.row(r)), static_cast<std::streamsize>(m.cols * sizeof(float)));
  out.close();
  TFX_CHECK(!out.fail(), "writing ", path.string(), " failed (disk full?)");
}

}  // namespace tfx::io
