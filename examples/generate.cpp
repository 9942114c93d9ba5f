// Loading a Hugging Face model folder and generating text with the library (what `tfx generate` does).
//   example_generate MODEL_DIR "prompt"
#include <cstdio>
#include <tfx/generate/generate.hpp>
#include <tfx/io/load_model.hpp>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MODEL_DIR PROMPT\n", argv[0]);
    return 2;
  }
  try {
    const auto tokenizer = tfx::text::Tokenizer::from_file(std::filesystem::path(argv[1]) / "tokenizer.json");
    auto any = tfx::load_model(argv[1]);
    return std::visit(
        [&](auto& model) {
          const auto prompt = tokenizer.encode(argv[2], /*add_special_tokens=*/true);
          auto session = model.new_session(/*capacity=*/256, /*threads=*/2);
          tfx::Sampler sampler({.temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .seed = 7});
          tfx::TextStream text(tokenizer);
          std::printf("%s", argv[2]);
          const auto stats = tfx::generate(model, session, prompt, 40, sampler, model.info().eos_token_id,
                                           [&](std::int32_t id) {
                                             std::printf("%s", text.push(id).c_str());
                                             return true;
                                           });
          std::printf("\n[%lld tokens, %.1f tokens/s]\n", static_cast<long long>(stats.generated_tokens),
                      stats.decode_tokens_per_second());
          return stats.generated_tokens > 0 ? 0 : 1;
        },
        any);
  } catch (const tfx::error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
