// Shared by the end-to-end tests (CPU and CUDA): the checkpoints of tests/data/e2e and their reference logits.
#pragma once
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "support/golden.hpp"
#include "tfx/core/view.hpp"

namespace tfx::test {
/// The e2e checkpoints; TFX_SOURCE_DIR in the environment overrides the compiled-in source folder (a test binary
/// built on one machine and run on another).
inline const std::filesystem::path e2e_dir =
    std::filesystem::path(std::getenv("TFX_SOURCE_DIR") ? std::getenv("TFX_SOURCE_DIR") : TFX_SOURCE_DIR) / "tests/data/e2e";

inline nlohmann::json read_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

/// Max |a - b| relative to the logits' scale, and the position of the worst element.
inline void require_logits(const tfx::Matrix<float>& got, const nlohmann::json& want, double atol, const std::string& what) {
  REQUIRE(static_cast<tfx::Index>(want.size()) == got.rows());
  double worst = 0;
  tfx::Index wr = 0, wc = 0;
  for (tfx::Index r = 0; r < got.rows(); ++r) {
    const auto& row = want[static_cast<std::size_t>(r)];
    REQUIRE(static_cast<tfx::Index>(row.size()) == got.cols());
    for (tfx::Index c = 0; c < got.cols(); ++c) {
      const double d = std::abs(got(r, c) - row[static_cast<std::size_t>(c)].get<double>());
      if (!std::isfinite(d)) FAIL(what << ": non-finite logit " << got(r, c) << " at position " << r << ", token " << c);
      if (d > worst) worst = d, wr = r, wc = c;
    }
  }
  INFO(what << ": worst |difference| " << worst << " at position " << wr << ", token " << wc);
  if (std::getenv("TFX_E2E_REPORT")) std::printf("%s: worst |difference| %.3g (bound %.3g)\n", what.c_str(), worst, atol);
  CHECK(worst <= atol);
}
/// max |logit| of a reference [T, vocab]: the scale the looser (fast, narrow-cache) bounds are relative to.
inline double logit_scale(const nlohmann::json& logits) {
  double scale = 0;
  for (const auto& row : logits)
    for (const auto& v : row) scale = std::max(scale, std::abs(v.get<double>()));
  return scale;
}

}  // namespace tfx::test
