// The tokenizer of Marian checkpoints (transformers' MarianTokenizer): SentencePiece models for the source and the
// target language (source.spm, target.spm, read with the SentencePiece library) and vocab.json, which maps pieces
// to the model's ids (a piece it lacks is <unk>). Encoding: an optional leading language code (">>fr<<") is kept
// as one token, the rest is split into pieces by the source model, and </s> is appended. Decoding: ids become
// pieces through vocab.json and the target model joins them (special tokens skipped or kept as words).
//
// Needs the SentencePiece library (Debian libsentencepiece-dev): link -lsentencepiece (CMake: tfx::sentencepiece).
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <sentencepiece_processor.h>

#include "tfx/io/json_util.hpp"

namespace tfx::text {

class MarianTokenizer {
 public:
  /// Reads source.spm, target.spm and vocab.json (target_vocab.json too when the folder has one) from `dir`.
  static MarianTokenizer from_folder(const std::filesystem::path& dir) {
    namespace fs = std::filesystem;
    MarianTokenizer t;
    t.source_ = load_spm(dir / "source.spm");
    t.target_ = load_spm(dir / "target.spm");
    t.vocab_ = load_vocab(dir / "vocab.json");
    t.target_vocab_ = fs::exists(dir / "target_vocab.json") ? load_vocab(dir / "target_vocab.json") : t.vocab_;
    for (const auto& [piece, id] : t.target_vocab_)  // ids index a table: refuse files whose ids are mostly holes
      if (static_cast<std::size_t>(id) >= 2 * t.target_vocab_.size() + 1024)
        fail((dir / "vocab.json").string(), ": ids are too sparse: id ", id, " for ", t.target_vocab_.size(), " pieces");
    for (const auto& [piece, id] : t.target_vocab_) {
      if (static_cast<std::size_t>(id) >= t.pieces_.size()) t.pieces_.resize(static_cast<std::size_t>(id) + 1);
      t.pieces_[static_cast<std::size_t>(id)] = piece;
    }
    const std::string where = (dir / "vocab.json").string();
    auto need = [&](const char* token) {
      auto it = t.vocab_.find(token);
      if (it == t.vocab_.end()) fail(where, ": the vocabulary has no '", token, "'");
      return it->second;
    };
    t.eos_ = need("</s>");
    t.unk_ = need("<unk>");
    auto pad = t.vocab_.find("<pad>");
    t.pad_ = pad == t.vocab_.end() ? -1 : pad->second;
    return t;
  }

  /// The source ids of `text`, </s> last.
  std::vector<std::int32_t> encode(std::string_view text) const {
    std::vector<std::int32_t> ids;
    if (text.starts_with(">>")) {  // a language code, as the first token
      if (const auto end = text.find("<<"); end != std::string_view::npos) {
        ids.push_back(id_of(std::string(text.substr(0, end + 2))));
        text = text.substr(end + 2);
      }
    }
    std::vector<std::string> pieces;
    const auto st = source_->Encode(std::string(text), &pieces);
    if (!st.ok()) fail("MarianTokenizer: SentencePiece cannot encode the text: ", st.ToString());
    for (const auto& p : pieces) ids.push_back(id_of(p));
    ids.push_back(eos_);
    return ids;
  }

  /// The text of target ids; with skip_special_tokens, </s>, <unk> and <pad> are left out.
  std::string decode(std::span<const std::int32_t> ids, bool skip_special_tokens = true) const {
    std::string out;
    std::vector<std::string> run;
    auto flush = [&]() {
      std::string s;
      if (!run.empty()) {
        const auto st = target_->Decode(run, &s);
        if (!st.ok()) fail("MarianTokenizer: SentencePiece cannot decode: ", st.ToString());
      }
      out += s;
      run.clear();
    };
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const std::int32_t id = ids[i];
      if (id < 0 || static_cast<std::size_t>(id) >= pieces_.size() || pieces_[static_cast<std::size_t>(id)].empty())
        fail("MarianTokenizer decode: ids[", i, "] = ", id, " is not in the target vocabulary");
      const bool special = id == eos_ || id == unk_ || id == pad_;
      if (special) {
        if (skip_special_tokens) continue;
        flush();
        out += pieces_[static_cast<std::size_t>(id)] + " ";
      } else {
        run.push_back(pieces_[static_cast<std::size_t>(id)]);
      }
    }
    flush();
    const auto b = out.find_first_not_of(' '), e = out.find_last_not_of(' ');
    return b == std::string::npos ? std::string() : out.substr(b, e - b + 1);
  }

  std::int32_t eos_id() const { return eos_; }
  std::int32_t unk_id() const { return unk_; }
  std::int32_t pad_id() const { return pad_; }
  std::size_t vocab_size() const { return vocab_.size(); }

 private:
  MarianTokenizer() = default;

  static std::shared_ptr<sentencepiece::SentencePieceProcessor> load_spm(const std::filesystem::path& p) {
    if (!std::filesystem::exists(p)) fail("MarianTokenizer: missing SentencePiece model ", p.string());
    auto sp = std::make_shared<sentencepiece::SentencePieceProcessor>();
    const auto st = sp->Load(p.string());
    if (!st.ok()) fail("MarianTokenizer: cannot load SentencePiece model ", p.string(), ": ", st.ToString());
    return sp;
  }
  static std::unordered_map<std::string, std::int32_t> load_vocab(const std::filesystem::path& p) {
    if (!std::filesystem::exists(p)) fail("MarianTokenizer: missing vocabulary ", p.string());
    const auto j = io::detail::read_json_file(p, "vocabulary", 4, true);
    if (!j.is_object()) fail(p.string(), ": expected an object of piece -> id");
    std::unordered_map<std::string, std::int32_t> v;
    for (const auto& [piece, id] : j.items())
      v[piece] = static_cast<std::int32_t>(io::detail::json_int(id, p.string(), piece, 0, (1 << 24) - 1, "a token id"));
    return v;
  }
  std::int32_t id_of(const std::string& piece) const {
    auto it = vocab_.find(piece);
    return it == vocab_.end() ? unk_ : it->second;
  }

  std::shared_ptr<sentencepiece::SentencePieceProcessor> source_, target_;
  std::unordered_map<std::string, std::int32_t> vocab_, target_vocab_;
  std::vector<std::string> pieces_;
  std::int32_t eos_ = 0, unk_ = 1, pad_ = -1;
};

}  // namespace tfx::text
