// The shipped model (models/tiny-fortunes) against the logits Hugging Face computes for it
// (tools/train_tiny/reference.py), and one loaded model serving sessions from several threads.
#include <filesystem>
#include <fstream>
#include <thread>

#include "support/golden.hpp"
#include "tfx/generate/generate.hpp"
#include "tfx/io/load_model.hpp"

using namespace tfx;
namespace fs = std::filesystem;

namespace {
const fs::path model_dir = fs::path(TFX_SOURCE_DIR) / "models/tiny-fortunes";
using TinyModel = Model<family::Qwen3, DynamicShape, cpu::simd<>, bf16>;

nlohmann::json reference() {
  std::ifstream in(model_dir / "reference.json");
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}
}  // namespace

TEST_CASE("The shipped model reproduces Hugging Face: tokens, logits, greedy continuation", "[model][tiny]") {
  const auto ref = reference();
  const auto tok = text::Tokenizer::from_file(model_dir / "tokenizer.json");
  const auto ids = tok.encode(ref.at("prompt").get<std::string>());
  REQUIRE(ids == ref.at("input_ids").get<std::vector<std::int32_t>>());

  const auto model = io::load_as<TinyModel>(model_dir);
  auto s = model.new_session(64, 2);
  s.ctx.precision = cpu::Precision::exact;  // the reference ran in f32 (Precision::fast: e2e_test)
  Matrix<float> logits(static_cast<Index>(ids.size()), model.dims().vocab);
  model.forward(s, ids, logits.view());
  const auto argmax = ref.at("argmax_ids").get<std::vector<std::int32_t>>();
  for (Index t = 0; t < logits.rows(); ++t) {
    const float* row = logits.view().row(t);
    CHECK(std::max_element(row, row + logits.cols()) - row == argmax[static_cast<std::size_t>(t)]);
  }
  const auto last = ref.at("last_logits").get<std::vector<double>>();
  double worst = 0;
  for (Index v = 0; v < logits.cols(); ++v) {
    const double d = std::abs(logits(logits.rows() - 1, v) - last[static_cast<std::size_t>(v)]);
    REQUIRE(std::isfinite(d));
    worst = std::max(worst, d);
  }
  INFO("max |logit - HF logit| = " << worst);
  CHECK(worst < 1e-3);

  // Greedy decoding through the KV cache gives HF's continuation (its reference does not stop at end of text).
  s.reset();
  Sampler greedy(SamplerOptions{});
  std::vector<std::int32_t> out;
  generate(model, s, ids, ref.at("greedy_new_tokens").get<Index>(), greedy, {}, [&](std::int32_t id) {
    out.push_back(id);
    return true;
  });
  CHECK(out == ref.at("greedy_ids").get<std::vector<std::int32_t>>());
}

TEST_CASE("One model serves independent sessions from several threads", "[model][threads]") {
  const auto model = io::load_as<TinyModel>(model_dir);
  const std::vector<std::vector<std::int32_t>> prompts{{317, 3090, 290, 684, 300}, {12, 99, 7}, {5, 4, 3, 2, 1, 0, 42}};
  auto run = [&](const std::vector<std::int32_t>& p) {
    auto s = model.new_session(32, 1);
    Matrix<float> l(1, model.dims().vocab);
    model.forward(s, p, l.view());
    for (int i = 0; i < 4; ++i) {  // a few decode steps too
      const std::int32_t next = static_cast<std::int32_t>(i * 17 + 3);
      model.forward(s, std::span<const std::int32_t>(&next, 1), l.view());
    }
    return l.storage();
  };
  std::vector<std::vector<float>> sequential;
  for (const auto& p : prompts) sequential.push_back(run(p));
  std::vector<std::vector<float>> parallel(prompts.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < prompts.size(); ++i) threads.emplace_back([&, i] { parallel[i] = run(prompts[i]); });
  for (auto& t : threads) t.join();
  for (std::size_t i = 0; i < prompts.size(); ++i) CHECK(parallel[i] == sequential[i]);
}
