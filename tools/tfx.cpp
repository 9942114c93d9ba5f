// The tfx command: generate text, dump logits, tokenize, inspect and time Hugging Face model folders.
#include <cerrno>
#include <cmath>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tfx/generate/generate.hpp"
#include "tfx/io/npy.hpp"
#include "tfx/io/load_model.hpp"
#ifdef TFX_HAS_CUDA
#include "tfx/backend/cuda.hpp"
#endif
#include "tfx/io/save_quantized.hpp"
#include "tfx/io/sentence_transformers.hpp"
#include "tfx/generate/seq2seq.hpp"
#ifdef TFX_HAS_SENTENCEPIECE
#include "tfx/text/marian_tokenizer.hpp"
#endif
#include "tfx/text/tokenizer.hpp"

namespace {

using tfx::fail;
namespace fs = std::filesystem;

constexpr const char* usage = R"(usage: tfx COMMAND --model DIR [options]

commands:
  generate    --prompt TEXT [--max-tokens N] [--temperature T] [--top-k K] [--top-p P] [--min-p P]
              [--repeat-penalty R] [--seed S] [--threads N]
              stream generated text, then print prefill and decode tokens/s
              defaults: --max-tokens 128 --temperature 0.7 --top-k 40 --top-p 0.95 --min-p 0.05
              --repeat-penalty 1.1 --seed 0 --threads (all cores); --temperature 0 is greedy
  logits      --tokens 1,2,3 --out FILE.npy [--decode] [--threads N] [--decoder-tokens 4,5,6]
              write float32 logits [T, vocab]; one prefill pass, or one token at a time with --decode;
              an encoder-decoder takes the source as --tokens and the target as --decoder-tokens
  tokenize    (--text TEXT | --file FILE) [--add-special-tokens]
              print the token ids as one comma-separated line
  detokenize  --tokens 1,2,3
              print the decoded text exactly
  embed       (--text TEXT [--text TEXT ...] | --file FILE) [--pooling mean|cls|max] [--normalize]
              [--max-length N] [--batch-size N] [--out FILE.npy] [--threads N]
              sentence embeddings from an encoder (BERT): one per --text, or one per line of FILE, run as padded
              batches; pooling and normalization follow the folder's sentence-transformers modules (else mean,
              none); texts longer than --max-length (default: max_seq_length of sentence_bert_config.json, else
              max_position_embeddings) are truncated with a warning; --out writes float32 [texts, hidden],
              otherwise a summary and the cosine similarities of the texts are printed
  translate   --text TEXT [--text TEXT ...] [--num-beams N] [--max-tokens N] [--length-penalty L]
              [--early-stopping true|false|never] [--no-repeat-ngram N] [--threads N] [--show-ids]
              translate with an encoder-decoder (marian): greedy (--num-beams 1) or beam search, one line of
              output per --text; defaults from the folder's generation_config.json (else 1 beam, 20 tokens)
  info        [--kv-dtype f32|bf16|f16]
              print architecture, shapes, parameter count and memory needed (the KV cache in that dtype)
  quantize    --out DIR [--quantize q8_0|q4_0]
              write the model folder to DIR with its matrices stored in q8_0 (default; int8 NAME + f32
              NAME_scale) or q4_0 (4-bit NAME + f16 NAME_scale), so that loading maps them in place; the other
              commands load such a folder in its format by themselves
  bench       [--prompt-tokens N,...] [--gen-tokens N,...] [--depth N,...] [--repetitions N] [--threads N]
              [--json]
              time prefill (one test per prompt length and depth) and decode (one per generation length and
              depth: tokens generated one at a time), each after N cached tokens (--depth, as llama-bench -d);
              tokens/s mean and standard deviation;
              --json prints one object per test; defaults: 128, 64, depth 0, 3 repetitions

options of generate, logits and bench:
  --precision fast|exact   fast (default): prefill products with bf16 or int8 weights round their activations to
                           bf16 and use bf16 dot products, int8 decode products quantize them to int8 blocks
                           (as PyTorch and llama.cpp do); exact keeps them f32
  --no-amx                 on CPUs with AMX, run the bf16 and quantized prefill products and the bf16 prefill
                           attention on the AVX-512 kernels instead of the AMX tiles (also for translate, embed)
  --kv-dtype f32|bf16|f16  how the KV cache stores keys and values (default f32); bf16 or f16 halve the cache's
                           memory and the bandwidth decode spends reading it
  --quantize none|q8_0|q4_0
                           quantize the matrices of the blocks and the head at load, in blocks of 32 values:
                           q8_0 int8 with an f32 scale, q4_0 4-bit with an f16 scale (the embedding table, norms
                           and biases stay as stored); also for info
  --device cpu|cuda        where the model runs (default cpu); cuda needs a build with -DTFX_CUDA=ON and a GPU:
                           the weights are copied to the GPU once, the KV cache lives there
)";

/// --key value options (flags have no value), each validated when read.
class Options {
 public:
  /// known: name -> takes a value; `repeatable` options may be given several times (all()). `--help` or `-h`
  /// where an option may stand ends the parse with help() set (an option's value that reads "--help" is a value).
  Options(int argc, char** argv, const std::map<std::string, bool>& known, const std::set<std::string>& repeatable = {}) {
    for (int i = 2; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--help" || a == "-h") {
        help_ = true;
        return;
      }
      if (a.rfind("--", 0) != 0) fail("unexpected argument '", a, "' (options start with --)");
      a = a.substr(2);
      auto it = known.find(a);
      if (it == known.end()) fail("unknown option --", a, " for '", argv[1], "'");
      if (values_.count(a) && !repeatable.count(a)) fail("option --", a, " given twice");
      if (it->second) {
        if (i + 1 >= argc) fail("option --", a, " needs a value");
        values_[a] = argv[++i];
        lists_[a].push_back(values_[a]);
      } else {
        values_[a] = "";
      }
    }
  }
  /// Every value of a repeatable option, in order.
  std::vector<std::string> all(const std::string& k) const {
    auto it = lists_.find(k);
    return it == lists_.end() ? std::vector<std::string>{} : it->second;
  }
  bool has(const std::string& k) const { return values_.count(k) != 0; }
  bool help() const { return help_; }
  std::string str(const std::string& k) const {
    if (!has(k)) fail("missing option --", k);
    return values_.at(k);
  }
  template <class N>
  N number(const std::string& k, N dflt, N lo, N hi) const {
    if (!has(k)) return dflt;
    const std::string& s = values_.at(k);
    N v{};
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) fail("option --", k, ": '", s, "' is not a number");
    if (!(v >= lo && v <= hi)) fail("option --", k, ": ", s, " is out of range [", lo, ", ", hi, "]");
    return v;
  }

 private:
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> lists_;
  bool help_ = false;
};

/// Calls item(text, index) for each comma-separated item of s (an empty item included, so it can be rejected).
template <class F>
void for_each_item(const std::string& s, F&& item) {
  std::size_t start = 0, index = 0;
  while (start <= s.size()) {
    const std::size_t end = std::min(s.find(',', start), s.size());
    item(std::string_view(s).substr(start, end - start), index++);
    start = end + 1;
  }
}

/// The integer `text` spells exactly, if it does.
template <class N>
std::optional<N> parse_integer(std::string_view text) {
  N v{};
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

/// Comma-separated token ids; an empty string is an empty list where `allow_empty` (detokenize).
std::vector<std::int32_t> parse_tokens(const std::string& s, bool allow_empty = false) {
  std::vector<std::int32_t> ids;
  if (s.empty() && allow_empty) return ids;
  for_each_item(s, [&](std::string_view text, std::size_t i) {
    const auto v = parse_integer<std::int32_t>(text);
    if (!v) fail("--tokens: '", text, "' at item ", i, " is not a token id");
    if (*v < 0) fail("--tokens: token id ", *v, " at item ", i, " is negative");
    ids.push_back(*v);
  });
  if (ids.empty()) fail("--tokens: no token ids");
  return ids;
}

void check_vocab(std::span<const std::int32_t> ids, std::int64_t vocab, const char* what) {
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] >= vocab) fail(what, ": token id ", ids[i], " at index ", i, " is >= the vocabulary size ", vocab);
}

tfx::text::Tokenizer load_tokenizer(const fs::path& dir) {
  const fs::path p = dir / "tokenizer.json";
  if (!fs::exists(p)) fail("model folder ", dir.string(), " has no tokenizer.json");
  return tfx::text::Tokenizer::from_file(p);
}

/// --precision fast|exact: whether bf16 prefill products round their activations to bf16 (tfx::cpu::Precision).
tfx::cpu::Precision precision_option(const Options& o) {
  if (!o.has("precision")) return tfx::cpu::Precision::fast;
  const std::string v = o.str("precision");
  if (v == "fast") return tfx::cpu::Precision::fast;
  if (v == "exact") return tfx::cpu::Precision::exact;
  fail("option --precision: '", v, "' is not one of: fast, exact");
}

/// How the model's matrices are quantized: --quantize none|q8_0|q4_0, by default what the folder stores.
std::string quantize_option(const Options& o, const fs::path& dir) {
  const std::string stored(tfx::io::stored_quantization(tfx::io::Checkpoint::open(dir)));
  if (!o.has("quantize")) return stored;
  const std::string v = o.str("quantize");
  if (v != "none" && v != "q8_0" && v != "q4_0") fail("option --quantize: '", v, "' is not one of: none, q8_0, q4_0");
  if (stored != "none" && v != stored)
    fail("option --quantize ", v, ": model folder ", dir.string(), " stores its matrices in ", stored,
         " (leave --quantize out, or give --quantize ", stored, ")");
  return v;
}

/// --device cpu|cuda (default cpu).
bool cuda_option(const Options& o) {
  if (!o.has("device")) return false;
  const std::string v = o.str("device");
  if (v == "cpu") return false;
  if (v == "cuda") return true;
  fail("option --device: '", v, "' is not one of: cpu, cuda");
}

/// --precision and --no-amx on a context that has them (CPU); a GPU context rounds bf16 / f16 products' inputs to
/// the weights' type, as Precision::fast does, and has neither an exact mode nor AMX.
template <class C>
void apply_cpu_options(C& ctx, const Options& o) {
  const auto p = precision_option(o);
  if constexpr (requires { ctx.precision; }) {
    ctx.precision = p;
    ctx.amx = !o.has("no-amx");
  } else {
    if (p == tfx::cpu::Precision::exact) fail("option --precision exact: not available with --device cuda");
    if (o.has("no-amx")) fail("option --no-amx: not available with --device cuda");
  }
}

/// Loads the model folder (with quantized matrices if quantize_option says so) and calls f(model).
template <class F>
int with_model(const Options& o, const fs::path& dir, F&& f) {
  if (cuda_option(o)) {
#ifdef TFX_HAS_CUDA
    if (const std::string q = quantize_option(o, dir); q != "none") fail("option --quantize ", q, ": not available with --device cuda");
    if (!tfx::cuda::available()) fail("option --device cuda: no CUDA device is available");
    const auto t0 = std::chrono::steady_clock::now();
    std::fprintf(stderr, "tfx: loading %s onto %s...\n", dir.string().c_str(), tfx::cuda::raw::device_description(0).c_str());
    auto any = tfx::load_model<tfx::cuda::device<>>(dir);
    std::fprintf(stderr, "tfx: loaded in %.1f s\n",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    return std::visit(f, any);
#else
    fail("option --device cuda: this tfx was built without CUDA (configure with -DTFX_CUDA=ON)");
#endif
  }
  const std::string quant = quantize_option(o, dir);
  const auto quantized = [&]<class Q>(Q) {
    const auto t0 = std::chrono::steady_clock::now();
    std::fprintf(stderr, "tfx: loading %s with %s matrices...\n", dir.string().c_str(), quant.c_str());
    auto any = tfx::load_model<tfx::cpu::simd<>, Q>(dir);
    std::fprintf(stderr, "tfx: loaded in %.1f s\n",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    return std::visit(f, any);
  };
  if (quant == "q8_0") return quantized(tfx::q8_0_weights{});
  if (quant == "q4_0") return quantized(tfx::q4_0_weights{});
  auto any = tfx::load_model(dir);
  return std::visit(f, any);
}

/// --kv-dtype f32|bf16|f16: how the KV cache stores keys and values.
tfx::dtype kv_dtype_option(const Options& o) {
  if (!o.has("kv-dtype")) return tfx::dtype::f32;
  const std::string v = o.str("kv-dtype");
  if (v == "f32") return tfx::dtype::f32;
  if (v == "bf16") return tfx::dtype::bf16;
  if (v == "f16") return tfx::dtype::f16;
  fail("option --kv-dtype: '", v, "' is not one of: f32, bf16, f16");
}

int threads_option(const Options& o) {
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return o.number<int>("threads", hw, 1, 1024);
}

fs::path model_dir(const Options& o) {
  const fs::path dir = o.str("model");
  if (!fs::is_directory(dir)) fail("model folder ", dir.string(), " does not exist or is not a directory");
  return dir;
}

/// Whether `dir` holds an encoder-decoder (false for anything unreadable: the usual path reports it).
bool is_seq2seq(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / "config.json", ec)) return false;
  try {
    return tfx::io::hf_seq2seq_families::visit(tfx::io::HfConfig::from_file(dir).model_type, [](auto) {});
  } catch (const tfx::error&) {
    return false;
  }
}

int cmd_generate(const Options& o) {
  const fs::path dir = model_dir(o);
  tfx::SamplerOptions so;
  so.temperature = o.number<float>("temperature", 0.7f, -1e30f, 1e30f);
  so.top_k = o.number<int>("top-k", 40, -1000000000, 1000000000);
  so.top_p = o.number<float>("top-p", 0.95f, -1e30f, 1e30f);
  so.min_p = o.number<float>("min-p", 0.05f, -1e30f, 1e30f);
  so.repetition_penalty = o.number<float>("repeat-penalty", 1.1f, -1e30f, 1e30f);
  so.seed = o.number<std::uint64_t>("seed", 0, 0, UINT64_MAX);
  so.validate();
  const auto max_tokens = o.number<std::int64_t>("max-tokens", 128, 1, 1 << 24);
  const int threads = threads_option(o);
  precision_option(o);  // a bad value fails before the model loads
  const auto kv_dtype = kv_dtype_option(o);
  const std::string prompt_text = o.str("prompt");
  if (is_seq2seq(dir)) fail("generate: ", dir.string(), " is an encoder-decoder: run tfx translate");

  const auto tok = load_tokenizer(dir);
  return with_model(o, dir,
      [&](auto& model) {
        const auto& cfg = model.info();
        const auto prompt = tok.encode(prompt_text, /*add_special_tokens=*/true);
        if (prompt.empty()) fail("--prompt: the prompt has no tokens");
        check_vocab(prompt, model.dims().vocab, "--prompt");
        const std::int64_t context = cfg.max_position_embeddings;
        if (static_cast<std::int64_t>(prompt.size()) >= context)
          fail("--prompt: ", prompt.size(), " tokens do not fit the model's context of ", context, " positions");
        std::int64_t n_new = max_tokens;
        if (static_cast<std::int64_t>(prompt.size()) + n_new - 1 > context) {
          n_new = context - static_cast<std::int64_t>(prompt.size()) + 1;
          std::fprintf(stderr, "tfx: note: --max-tokens lowered to %lld to stay within the context of %lld positions\n",
                       static_cast<long long>(n_new), static_cast<long long>(context));
        }
        auto session = model.new_session(static_cast<tfx::Index>(prompt.size()) + n_new, threads, kv_dtype);
        apply_cpu_options(session.ctx, o);
        tfx::Sampler sampler(so);
        tfx::TextStream stream(tok);
        std::fputs(prompt_text.c_str(), stdout);
        std::fflush(stdout);
        const auto st = tfx::generate(model, session, prompt, n_new, sampler, cfg.eos_token_id, [&](std::int32_t id) {
          const std::string piece = stream.push(id);
          std::fwrite(piece.data(), 1, piece.size(), stdout);
          std::fflush(stdout);
          return true;
        });
        std::fputc('\n', stdout);
        std::fflush(stdout);
        std::fprintf(stderr, "\nprefill: %lld tokens, %.1f tokens/s | decode: %lld tokens, %.1f tokens/s%s, threads: %d\n",
                     static_cast<long long>(st.prompt_tokens), st.prefill_tokens_per_second(),
                     static_cast<long long>(st.generated_tokens), st.decode_tokens_per_second(),
                     st.stopped_at_eos ? ", stopped at end of text" : "", threads);
        return 0;
      });
}

/// logits of an encoder-decoder: --tokens is the source, --decoder-tokens the target.
int seq2seq_logits(const Options& o, const fs::path& dir) {
  for (const char* k : {"quantize", "kv-dtype", "device"})
    if (o.has(k)) fail("logits: --", k, " is not supported for encoder-decoders (f32 caches on the CPU)");
  const auto source = parse_tokens(o.str("tokens"));
  if (!o.has("decoder-tokens")) fail("logits: an encoder-decoder needs --decoder-tokens (the target ids, decoder start first)");
  const auto target = parse_tokens(o.str("decoder-tokens"));
  const fs::path out = o.str("out");
  auto any = tfx::load_seq2seq(dir);
  return std::visit([&](const auto& model) {
    const auto vocab = model.dims().vocab;
    check_vocab(source, vocab, "--tokens");
    check_vocab(target, vocab, "--decoder-tokens");
    auto ctx = model.new_context(threads_option(o));
    apply_cpu_options(ctx, o);
    const auto mem = model.encode(ctx, source);
    const auto n = static_cast<tfx::Index>(target.size());
    auto state = model.new_state(n);
    tfx::Matrix<float> logits(n, vocab);
    if (o.has("decode")) {
      for (tfx::Index t = 0; t < n; ++t)
        model.decode(ctx, mem, state, std::span<const std::int32_t>(&target[static_cast<std::size_t>(t)], 1),
                     logits.view().slice_rows(t, 1));
    } else {
      model.decode(ctx, mem, state, target, logits.view());
    }
    tfx::io::write_npy(out, logits.view());
    std::fprintf(stderr, "wrote %s: float32 [%lld, %lld] (decoder logits for a %zu-token source)\n", out.string().c_str(),
                 static_cast<long long>(n), static_cast<long long>(vocab), source.size());
    return 0;
  }, any);
}

int cmd_translate(const Options& o) {
#ifndef TFX_HAS_SENTENCEPIECE
  fail("translate: this tfx was built without SentencePiece (install libsentencepiece-dev and rebuild)");
#else
  const fs::path dir = model_dir(o);
  if (!o.has("text")) fail("translate: give --text (one or more times)");
  if (!is_seq2seq(dir)) fail("translate: ", dir.string(), " is not an encoder-decoder (", tfx::io::HfConfig::from_file(dir).model_type, ")");
  const auto tok = tfx::text::MarianTokenizer::from_folder(dir);
  tfx::SearchOptions so = tfx::io::read_generation_config(dir);
  if (o.has("num-beams")) so.num_beams = o.number<int>("num-beams", 1, -1000000, 1000000);
  if (o.has("max-tokens")) so.max_new_tokens(o.number<tfx::Index>("max-tokens", 20, 1, 1 << 20));
  if (o.has("length-penalty")) so.length_penalty = o.number<float>("length-penalty", 1.f, -1e6f, 1e6f);
  if (o.has("no-repeat-ngram")) so.no_repeat_ngram_size = o.number<int>("no-repeat-ngram", 0, 0, 1 << 16);
  if (o.has("early-stopping")) {
    const std::string e = o.str("early-stopping");
    if (e == "true") so.early = tfx::early_stopping::on;
    else if (e == "false") so.early = tfx::early_stopping::heuristic;
    else if (e == "never") so.early = tfx::early_stopping::never;
    else fail("option --early-stopping: '", e, "' is not one of true, false, never");
  }
  if (so.num_beams < 1) fail("option --num-beams: must be >= 1, got ", so.num_beams);
  auto any = tfx::load_seq2seq(dir);
  return std::visit([&](const auto& model) {
    if (so.max_length > model.max_positions()) {
      std::fprintf(stderr, "tfx: note: max_length lowered from %lld to the model's %lld positions\n",
                   static_cast<long long>(so.max_length), static_cast<long long>(model.max_positions()));
      so.max_length = model.max_positions();
    }
    auto ctx = model.new_context(threads_option(o));
    apply_cpu_options(ctx, o);
    for (const std::string& text : o.all("text")) {
      const auto src = tok.encode(text);
      check_vocab(src, model.dims().vocab, "--text");
      if (static_cast<tfx::Index>(src.size()) > model.max_positions())
        fail("--text: ", src.size(), " source tokens exceed the model's ", model.max_positions(), " positions");
      const auto t0 = std::chrono::steady_clock::now();
      const auto ids = tfx::generate_seq2seq(model, ctx, src, so);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("%s\n", tok.decode(ids).c_str());
      if (o.has("show-ids")) {
        std::string line;
        for (std::size_t i = 0; i < ids.size(); ++i) line += (i ? "," : "") + std::to_string(ids[i]);
        std::printf("%s\n", line.c_str());
      }
      std::fprintf(stderr, "%zu source tokens -> %zu target tokens, %d beam%s, %.1f ms\n", src.size(), ids.size() - 1,
                   so.num_beams, so.num_beams == 1 ? " (greedy)" : "s", secs * 1e3);
    }
    return 0;
  }, any);
#endif
}

int cmd_logits(const Options& o) {
  const fs::path dir = model_dir(o);
  if (is_seq2seq(dir)) return seq2seq_logits(o, dir);
  if (o.has("decoder-tokens")) fail("logits: --decoder-tokens is for encoder-decoders; ", dir.string(), " is a decoder");
  const auto tokens = parse_tokens(o.str("tokens"));
  const fs::path out = o.str("out");
  const bool decode = o.has("decode");
  const int threads = threads_option(o);
  precision_option(o);  // a bad value fails before the model loads
  const auto kv_dtype = kv_dtype_option(o);
  return with_model(o, dir,
      [&](auto& model) {
        const auto vocab = model.dims().vocab;
        check_vocab(tokens, vocab, "--tokens");
        const auto n = static_cast<tfx::Index>(tokens.size());
        if (n > model.info().max_position_embeddings)
          fail("--tokens: ", n, " tokens exceed the model's context of ", model.info().max_position_embeddings);
        auto session = model.new_session(n, threads, kv_dtype);
        apply_cpu_options(session.ctx, o);
        tfx::Matrix<float> logits(n, vocab);
        if (decode) {
          for (tfx::Index t = 0; t < n; ++t)
            model.forward_to_host(session, std::span<const std::int32_t>(&tokens[static_cast<std::size_t>(t)], 1),
                          logits.view().slice_rows(t, 1));
        } else {
          model.forward_to_host(session, tokens, logits.view());
        }
        tfx::io::write_npy(out, logits.view());
        std::fprintf(stderr, "wrote %s: float32 [%lld, %lld] (%s)\n", out.string().c_str(), static_cast<long long>(n),
                     static_cast<long long>(vocab), decode ? "token by token through the KV cache" : "one prefill pass");
        return 0;
      });
}

int cmd_tokenize(const Options& o) {
  const auto tok = load_tokenizer(model_dir(o));
  if (o.has("text") == o.has("file")) fail("tokenize: give exactly one of --text and --file");
  std::string text;
  if (o.has("text")) {
    text = o.str("text");
  } else {
    const std::string path = o.str("file");
    std::error_code ec;
    if (fs::is_directory(path, ec)) fail("--file: ", path, " is a directory");  // opening one succeeds, reading gives nothing
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("--file: cannot open ", path, ": ", std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  const auto ids = tok.encode(text, o.has("add-special-tokens"));
  std::string line;
  for (std::size_t i = 0; i < ids.size(); ++i) line += (i ? "," : "") + std::to_string(ids[i]);
  std::printf("%s\n", line.c_str());
  return 0;
}

/// The lines of `path` (a final newline ends the last line; "\r\n" endings are accepted).
std::vector<std::string> read_lines(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail("--file: ", path, " is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("--file: cannot open ", path, ": ", std::strerror(errno));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  if (in.bad()) fail("--file: error reading ", path);
  return lines;
}

int cmd_embed(const Options& o) {
  const fs::path dir = model_dir(o);
  if (o.has("text") == o.has("file")) fail("embed: give --text (one or more times) or --file, not both");
  std::vector<std::string> texts = o.has("text") ? o.all("text") : read_lines(o.str("file"));
  if (texts.empty()) fail("embed: --file ", o.str("file"), " has no lines");
  const int threads = threads_option(o);
  const auto batch_size = o.number<std::int64_t>("batch-size", 32, 1, 1 << 16);
  tfx::io::EmbeddingConfig ec = tfx::io::read_embedding_config(dir);
  if (o.has("pooling")) {
    const std::string p = o.str("pooling");
    if (p == "mean") ec.mode = tfx::pooling::mean;
    else if (p == "cls") ec.mode = tfx::pooling::cls;
    else if (p == "max") ec.mode = tfx::pooling::max;
    else fail("option --pooling: '", p, "' is not one of mean, cls, max");
    ec.pooling_source = "--pooling";
  }
  if (o.has("normalize")) ec.normalize = true;
  if (ec.lowercase)  // sentence_bert_config.json's do_lower_case: the texts are lowercased before tokenizing
    for (auto& t : texts) t = tfx::text::detail::Normalizer::lowercase(t);
  const auto tok = load_tokenizer(dir);
  const auto pad = tok.pad_id();
  auto any = tfx::load_encoder(dir);
  return std::visit([&](const auto& enc) {
    const std::int64_t positions = enc.max_positions();
    const std::int64_t max_len =
        o.number<std::int64_t>("max-length", std::min<std::int64_t>(ec.max_seq_length.value_or(positions), positions), 2, positions);
    const std::string length_source = o.has("max-length")  ? "--max-length"
                                      : ec.max_seq_length ? "max_seq_length of sentence_bert_config.json"
                                                          : "max_position_embeddings";
    const auto H = enc.hidden();
    tfx::Matrix<float> out(static_cast<tfx::Index>(texts.size()), H);
    auto ctx = enc.new_context(threads);
    apply_cpu_options(ctx, o);
    std::vector<std::size_t> counts(texts.size());
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t first = 0; first < texts.size(); first += static_cast<std::size_t>(batch_size)) {
      const std::size_t n = std::min(texts.size() - first, static_cast<std::size_t>(batch_size));
      std::vector<std::vector<std::int32_t>> ids, types;
      for (std::size_t i = first; i < first + n; ++i) {
        auto e = tok.encode_with_types(texts[i], std::nullopt, static_cast<std::size_t>(max_len));
        if (e.truncated)  // the full length, for the message (only texts that were cut are encoded twice)
          std::fprintf(stderr, "tfx: warning: text %zu has %zu tokens, truncated to %lld (%s)\n", i + 1,
                       tok.encode_with_types(texts[i]).ids.size(), static_cast<long long>(max_len),
                       length_source.c_str());
        check_vocab(e.ids, enc.dims().vocab, "tokenizer.json");
        counts[i] = e.ids.size();
        ids.push_back(std::move(e.ids));
        types.push_back(std::move(e.type_ids));
      }
      const tfx::EncoderBatch batch = tfx::EncoderBatch::pad(ids, types, pad.value_or(0));
      const tfx::Matrix<float> emb = enc.embed(ctx, batch, ec.mode, ec.normalize);
      std::copy(emb.data(), emb.data() + emb.rows() * H, out.data() + static_cast<tfx::Index>(first) * H);
      if (texts.size() > static_cast<std::size_t>(batch_size))
        std::fprintf(stderr, "embedded %zu / %zu texts\n", first + n, texts.size());
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "%zu texts, %s pooling (%s)%s, %lld dimensions, %.1f texts/s\n", texts.size(),
                 std::string(tfx::pooling_name(ec.mode)).c_str(), ec.pooling_source.c_str(),
                 ec.normalize ? ", L2-normalized" : "", static_cast<long long>(H), texts.size() / secs);
    if (o.has("out")) {
      tfx::io::write_npy(o.str("out"), out.view());
      std::fprintf(stderr, "wrote %s: float32 [%zu, %lld]\n", o.str("out").c_str(), texts.size(), static_cast<long long>(H));
      return 0;
    }
    for (std::size_t i = 0; i < texts.size(); ++i) {
      const float* r = out.data() + static_cast<tfx::Index>(i) * H;
      double norm = 0;
      for (tfx::Index e = 0; e < H; ++e) norm += double(r[e]) * r[e];
      std::string shown = texts[i].size() > 60 ? texts[i].substr(0, 57) + "..." : texts[i];
      std::printf("[%zu] %zu tokens, norm %.4f, [%.4f, %.4f, %.4f, ...]  %s\n", i + 1, counts[i], std::sqrt(norm), r[0],
                  H > 1 ? r[1] : 0.f, H > 2 ? r[2] : 0.f, shown.c_str());
    }
    if (texts.size() >= 2 && texts.size() <= 16) {
      std::printf("cosine similarity:\n");
      for (std::size_t i = 0; i < texts.size(); ++i) {
        std::printf("  [%zu]", i + 1);
        for (std::size_t j = 0; j < texts.size(); ++j)
          std::printf(" %7.4f", tfx::cosine_similarity({out.data() + static_cast<tfx::Index>(i) * H, static_cast<std::size_t>(H)},
                                                       {out.data() + static_cast<tfx::Index>(j) * H, static_cast<std::size_t>(H)}));
        std::printf("\n");
      }
    }
    return 0;
  }, any);
}

int cmd_detokenize(const Options& o) {
  const auto tok = load_tokenizer(model_dir(o));
  const auto ids = parse_tokens(o.str("tokens"), /*allow_empty=*/true);
  const std::string text = tok.decode(ids);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

/// What `tfx info` prints. `weight_bytes` is absent for a folder that holds only config.json.
void print_info(const fs::path& dir, const std::string& architecture, const tfx::ModelSpec& d,
                const tfx::ModelInfo& info, const tfx::Counts& counts, std::optional<double> weight_bytes,
                tfx::dtype kv_dtype) {
  const double gib = 1024.0 * 1024.0 * 1024.0;
  const auto ctx = info.max_position_embeddings;
  std::printf("model:        %s%s\n", dir.string().c_str(), weight_bytes ? "" : " (config.json only: no weights)");
  std::printf("architecture: %s\n", architecture.c_str());
  std::printf("shape:        vocab %lld, hidden %lld, layers %lld, heads %lld, kv heads %lld, head_dim %lld, "
              "intermediate %lld\n",
              (long long)d.vocab, (long long)d.hidden, (long long)d.layers, (long long)d.heads, (long long)d.kv_heads,
              (long long)d.head_dim, (long long)d.intermediate);
  if (d.experts > 0) {
    long long sparse = 0;
    for (auto f : d.sparse_layers) sparse += f != 0;
    std::printf("experts:      %lld per sparse layer (%lld of %lld layers), %lld per token, width %lld\n",
                (long long)d.experts, sparse, (long long)d.layers, (long long)d.experts_per_tok,
                (long long)d.moe_intermediate);
  }
  std::string opts;
  for (const auto& [k, v] : info.options) opts += ", " + k + " " + v;
  std::printf("options:      tied embeddings %s, q/k norm %s, qkv bias %s, o bias %s, mlp bias %s%s, context %lld\n",
              d.tied ? "yes" : "no", d.qk_norm ? "yes" : "no", d.qkv_bias ? "yes" : "no", d.o_bias ? "yes" : "no",
              d.mlp_bias ? "yes" : "no", opts.c_str(), (long long)ctx);
  std::printf("parameters:   %lld (%.3f B)", (long long)counts.parameters, counts.parameters / 1e9);
  if (counts.active != counts.parameters)
    std::printf(", %lld active per token (%.3f B)", (long long)counts.active, counts.active / 1e9);
  std::printf("\n");
  if (weight_bytes) std::printf("weights:      %.3f GiB\n", *weight_bytes / gib);
  const std::int64_t kv = counts.kv_bytes(static_cast<std::int64_t>(tfx::dtype_size(kv_dtype)));
  if (kv == 0) {  // an encoder: no cache
    std::printf("flops/token:  %.3f GFLOP at context 0\n", counts.flops_per_token() / 1e9);
    return;
  }
  std::printf("kv cache:     %lld bytes per token (%s), %.3f GiB at the full context of %lld\n", (long long)kv,
              std::string(tfx::dtype_name(kv_dtype)).c_str(), kv * double(ctx) / gib, (long long)ctx);
  if (weight_bytes)
    std::printf("memory:       %.3f GiB for weights + full-context KV cache\n", (*weight_bytes + kv * double(ctx)) / gib);
  std::printf("flops/token:  %.3f GFLOP at context 0\n", counts.flops_per_token() / 1e9);
}

bool has_weights(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".safetensors" || e.path().filename() == "model.safetensors.index.json") return true;
  return false;
}

int cmd_info(const Options& o) {
  const fs::path dir = model_dir(o);
  if (!has_weights(dir)) {  // describe what config.json says, from the layers' accounting
    const auto config = tfx::io::HfConfig::from_file(dir);
    const auto [spec, counts] = tfx::io::describe(config);
    print_info(dir, config.model_type, spec, tfx::io::info_of(config), counts, std::nullopt, kv_dtype_option(o));
    return 0;
  }
  // An encoder or an encoder-decoder: no KV cache options, no quantization.
  const auto describe = [&](const char* kind) {
    return [&, kind](const auto& m) {
      using M = std::decay_t<decltype(m)>;
      const std::string dtype(tfx::dtype_name(tfx::dtype_of<typename M::storage_type>()));
      print_info(dir, m.info().model_type + " " + kind + " (" + dtype + " weights)", m.dims(), m.info(), m.counts(),
                 static_cast<double>(m.weight_bytes()), tfx::dtype::f32);
      return 0;
    };
  };
  if (is_seq2seq(dir)) return std::visit(describe("encoder-decoder"), tfx::load_seq2seq(dir));
  if (tfx::io::hf_encoder_families::visit(tfx::io::HfConfig::from_file(dir).model_type, [](auto) {}))
    return std::visit(describe("encoder"), tfx::load_encoder(dir));
  return with_model(o, dir,
      [&](auto& model) {
        using M = std::decay_t<decltype(model)>;
        const std::string dtype(tfx::dtype_name(tfx::dtype_of<typename M::storage_type>()));
        const std::string_view scheme = M::weight_scheme::name;
        const std::string quant = scheme == "none" ? "" : ", matrices quantized to " + std::string(scheme);
        print_info(dir, model.info().model_type + " (" + dtype + " weights" + quant + ")", model.dims(), model.info(),
                   model.counts(), static_cast<double>(model.weight_bytes()), kv_dtype_option(o));
        return 0;
      });
}

int cmd_quantize(const Options& o) {
  const fs::path dir = model_dir(o);
  const std::string format = o.has("quantize") ? o.str("quantize") : "q8_0";
  if (format != "q8_0" && format != "q4_0")
    fail("option --quantize: '", format, "' cannot be written (tfx quantize writes: q8_0, q4_0)");
  const auto t0 = std::chrono::steady_clock::now();
  const auto say = [](const std::string& line) { std::fprintf(stderr, "tfx: %s\n", line.c_str()); };
  if (format == "q8_0") tfx::save_quantized<tfx::q8_0_weights>(dir, o.str("out"), say);
  else tfx::save_quantized<tfx::q4_0_weights>(dir, o.str("out"), say);
  std::fprintf(stderr, "tfx: done in %.1f s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return 0;
}

/// A comma-separated list of counts for --prompt-tokens / --gen-tokens / --depth.
std::vector<std::int64_t> count_list(const Options& o, const std::string& k, std::int64_t dflt, std::int64_t lo) {
  if (!o.has(k)) return {dflt};
  std::vector<std::int64_t> out;
  for_each_item(o.str(k), [&](std::string_view text, std::size_t) {
    const auto v = parse_integer<std::int64_t>(text);
    if (!v) fail("option --", k, ": '", text, "' is not a number");
    if (*v < lo || *v > (1 << 20)) fail("option --", k, ": ", *v, " is out of range [", lo, ", ", 1 << 20, "]");
    out.push_back(*v);
  });
  return out;
}

/// The instruction set the kernels were compiled for, with the extensions they use (AMX where `ctx` runs its
/// prefill on AMX tiles: the CPU grants them, no --no-amx, --precision fast); the GPU for a CUDA model.
template <class M, class C>
std::string isa_name(const C& ctx) {
#ifdef TFX_HAS_CUDA
  if constexpr (std::is_same_v<tfx::space_t<typename M::policy>, tfx::device_space>) return tfx::cuda::raw::device_description(0);
#endif
  std::string s = tfx::cpu::simd<>::arch::name();
#if defined(__AVX512BF16__)
  s += "+bf16";
#endif
#if defined(__AVX512VNNI__)
  s += "+vnni";
#endif
#if defined(__AVX512F__)
  if constexpr (requires { ctx.amx; })
    if (tfx::cpu::gemm::amx_active(ctx)) s += "+amx";
#else
  (void)ctx;
#endif
  return s;
}

int cmd_bench(const Options& o) {
  const fs::path dir = model_dir(o);
  const auto prompts = count_list(o, "prompt-tokens", 128, 0);
  const auto gens = count_list(o, "gen-tokens", 64, 0);
  const auto depths = count_list(o, "depth", 0, 0);
  const auto reps = o.number<int>("repetitions", 3, 1, 1000);
  const int threads = threads_option(o);
  const auto precision = precision_option(o);
  const auto kv_dtype = kv_dtype_option(o);
  const bool json = o.has("json");
  const std::string quant = quantize_option(o, dir);
  return with_model(o, dir, [&](auto& model) {
    using M = std::decay_t<decltype(model)>;
    using clock = std::chrono::steady_clock;
    const auto vocab = model.dims().vocab;
    const std::int64_t context = model.info().max_position_embeddings;
    // Tests as llama-bench runs them: one prefill test per prompt length, one decode test per (gen, depth).
    struct Test {
      std::int64_t n_prompt, n_gen, depth;
    };
    std::vector<Test> tests;
    for (const auto p : prompts)
      for (const auto d : depths)
        if (p > 0) tests.push_back({p, 0, d});
    for (const auto g : gens)
      for (const auto d : depths)
        if (g > 0) tests.push_back({0, g, d});
    if (tests.empty()) fail("bench: nothing to run (every --prompt-tokens and --gen-tokens is 0)");
    std::int64_t longest = 0;
    for (const auto& t : tests) {
      if (t.depth + t.n_prompt + t.n_gen > context)
        fail("bench: ", t.depth + t.n_prompt, " + ", t.n_gen, " tokens exceed the model's context of ", context);
      longest = std::max(longest, t.depth + t.n_prompt + t.n_gen);
    }
    std::vector<std::int32_t> tokens(static_cast<std::size_t>(longest));
    for (std::size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<std::int32_t>((i * 7919 + 13) % vocab);
    std::vector<float> logits(static_cast<std::size_t>(vocab));
    const tfx::Rows<float> row(logits.data(), 1, vocab);
    auto session = model.new_session(longest, threads, kv_dtype);
    apply_cpu_options(session.ctx, o);
    const auto span_of = [&](std::int64_t first, std::int64_t n) {
      return std::span<const std::int32_t>(tokens.data() + first, static_cast<std::size_t>(n));
    };
    // One timed run: prefill n_prompt tokens, or decode n_gen tokens one at a time after `depth` cached ones.
    const auto run = [&](const Test& t) {
      session.reset();
      if (t.depth > 0) model.forward_to_host(session, span_of(0, t.depth), row);
      const auto t0 = clock::now();
      if (t.n_prompt > 0) model.forward_to_host(session, span_of(t.depth, t.n_prompt), row);
      for (std::int64_t i = 0; i < t.n_gen; ++i) model.forward_to_host(session, span_of(t.depth + i, 1), row);
      return static_cast<double>(t.n_prompt + t.n_gen) / std::chrono::duration<double>(clock::now() - t0).count();
    };
    const std::string dtype(tfx::dtype_name(tfx::dtype_of<typename M::storage_type>()));
    const char* prec = precision == tfx::cpu::Precision::fast ? "fast" : "exact";
    if (json) std::printf("[\n");
    else std::printf("model %s | %s weights, quantize %s, precision %s, kv cache %s | threads %d | %s\n",
                     dir.filename().string().c_str(), dtype.c_str(), quant.c_str(), prec,
                     std::string(tfx::dtype_name(kv_dtype)).c_str(), threads, isa_name<M>(session.ctx).c_str());
    for (std::size_t i = 0; i < tests.size(); ++i) {
      const Test& t = tests[i];
      run(t.n_prompt > 0 ? Test{t.n_prompt, 0, t.depth} : Test{0, 1, t.depth});  // warm-up (scratch, caches)
      std::vector<double> samples;
      for (int r = 0; r < reps; ++r) samples.push_back(run(t));
      double mean = 0, var = 0;
      for (const double v : samples) mean += v / reps;
      for (const double v : samples) var += (v - mean) * (v - mean) / std::max(1, reps - 1);
      const double sd = std::sqrt(var);
      const std::string name = (t.n_prompt > 0 ? "pp" + std::to_string(t.n_prompt) : "tg" + std::to_string(t.n_gen)) +
                               (t.depth > 0 ? " @ d" + std::to_string(t.depth) : "");
      if (json) {
        const nlohmann::ordered_json j = {
            {"model", dir.filename().string()}, {"model_type", model.info().model_type}, {"dtype", dtype},
            {"quantize", quant}, {"precision", prec}, {"kv_dtype", std::string(tfx::dtype_name(kv_dtype))}, {"threads", threads}, {"isa", isa_name<M>(session.ctx)},
            {"n_prompt", t.n_prompt}, {"n_gen", t.n_gen}, {"n_depth", t.depth}, {"avg_ts", mean}, {"stddev_ts", sd},
            {"samples_ts", samples}};
        std::printf("  %s%s\n", j.dump().c_str(), i + 1 < tests.size() ? "," : "");
      } else {
        std::printf("  %-14s %9.1f tokens/s  +- %.1f  (%d runs)\n", name.c_str(), mean, sd, reps);
      }
      std::fflush(stdout);
    }
    if (json) std::printf("]\n");
    return 0;
  });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" || std::string(argv[1]) == "help") {
    std::fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  try {
    const std::map<std::string, std::map<std::string, bool>> known = {
        {"generate", {{"model", true}, {"prompt", true}, {"max-tokens", true}, {"temperature", true}, {"top-k", true},
                      {"top-p", true}, {"min-p", true}, {"repeat-penalty", true}, {"seed", true}, {"threads", true}, {"precision", true}, {"no-amx", false}, {"quantize", true}, {"kv-dtype", true}, {"device", true}}},
        {"logits", {{"model", true}, {"tokens", true}, {"out", true}, {"decode", false}, {"threads", true}, {"precision", true}, {"no-amx", false}, {"quantize", true}, {"kv-dtype", true}, {"device", true}, {"decoder-tokens", true}}},
        {"translate", {{"model", true}, {"text", true}, {"num-beams", true}, {"max-tokens", true}, {"length-penalty", true},
                       {"early-stopping", true}, {"no-repeat-ngram", true}, {"threads", true}, {"precision", true}, {"no-amx", false}, {"show-ids", false}}},
        {"tokenize", {{"model", true}, {"text", true}, {"file", true}, {"add-special-tokens", false}}},
        {"detokenize", {{"model", true}, {"tokens", true}}},
        {"embed", {{"model", true}, {"text", true}, {"file", true}, {"pooling", true}, {"normalize", false},
                   {"max-length", true}, {"batch-size", true}, {"out", true}, {"threads", true}, {"precision", true}, {"no-amx", false}}},
        {"info", {{"model", true}, {"quantize", true}, {"kv-dtype", true}}},
        {"quantize", {{"model", true}, {"out", true}, {"quantize", true}}},
        {"bench", {{"model", true}, {"prompt-tokens", true}, {"gen-tokens", true}, {"depth", true}, {"repetitions", true},
                   {"threads", true}, {"precision", true}, {"no-amx", false}, {"quantize", true}, {"kv-dtype", true}, {"json", false}, {"device", true}}},
    };
    const auto it = known.find(cmd);
    if (it == known.end()) fail("unknown command '", cmd, "' (run tfx --help)");
    const Options o(argc, argv, it->second,
                    cmd == "embed" || cmd == "translate" ? std::set<std::string>{"text"} : std::set<std::string>{});
    if (o.help()) {  // `tfx COMMAND [...] --help`: the usage (it lists every command's options)
      std::fputs(usage, stdout);
      return 0;
    }
    if (cmd == "generate") return cmd_generate(o);
    if (cmd == "logits") return cmd_logits(o);
    if (cmd == "tokenize") return cmd_tokenize(o);
    if (cmd == "detokenize") return cmd_detokenize(o);
    if (cmd == "info") return cmd_info(o);
    if (cmd == "embed") return cmd_embed(o);
    if (cmd == "translate") return cmd_translate(o);
    if (cmd == "quantize") return cmd_quantize(o);
    return cmd_bench(o);
  } catch (const std::exception& e) {
    // One line whatever the message quotes (a --tokens item or a path with a newline): control bytes as \xNN.
    std::string line;
    for (const char ch : std::string_view(e.what())) {
      const auto u = static_cast<unsigned char>(ch);
      if (u < 0x20 || u == 0x7f) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "\\x%02x", u);
        line += hex;
      } else {
        line += ch;
      }
    }
    std::fprintf(stderr, "tfx: error: %s\n", line.c_str());
    return 1;
  }
}
