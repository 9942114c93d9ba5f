// Loading a Hugging Face model folder (config.json + safetensors + ...): the family comes from config.json's
// model_type, the storage type from the widest matrix dtype in the checkpoint. One Model instantiation per
// (family, storage type), generated from the family list in tfx/io/hf_config.hpp.
#pragma once
#include <filesystem>
#include <optional>
#include <sstream>
#include <utility>
#include <variant>

#include "tfx/io/hf_config.hpp"
#include "tfx/io/safetensors.hpp"
#include "tfx/model/encoder.hpp"
#include "tfx/model/model.hpp"
#include "tfx/model/seq2seq.hpp"

namespace tfx::io {

namespace detail {
template <ExecutionPolicy P, WeightScheme Q, class List>
struct any_model;
template <ExecutionPolicy P, WeightScheme Q, class... F>
struct any_model<P, Q, family_list<F...>> {
  template <class Fam>
  using three = std::conditional_t<runs_on<Fam, P>(),
                                   std::variant<Model<Fam, DynamicShape, P, float, Q>, Model<Fam, DynamicShape, P, bf16, Q>,
                                                Model<Fam, DynamicShape, P, f16, Q>>,
                                   std::variant<>>;
  template <class... V>
  struct cat;
  template <class... A>
  struct cat<std::variant<A...>> {
    using type = std::variant<A...>;
  };
  template <class... A, class... B, class... Rest>
  struct cat<std::variant<A...>, std::variant<B...>, Rest...> {
    using type = typename cat<std::variant<A..., B...>, Rest...>::type;
  };
  using type = typename cat<three<F>...>::type;
};
}  // namespace detail

/// What a model of this config says about itself (type, context, special tokens, the options `tfx info` shows).
inline ModelInfo info_of(const HfConfig& c) {
  ModelInfo i;
  i.model_type = c.model_type;
  i.max_position_embeddings = c.max_position_embeddings;
  i.bos_token_id = c.bos_token_id;
  i.eos_token_id = c.eos_token_id;
  visit_any_family(c.model_type, [&]<class F>(F) { i.options = hf::Adapter<F>::describe(c); });
  return i;
}

/// Any model load_model can return under policy P and weight scheme Q: one alternative per (family, storage type).
template <ExecutionPolicy P = cpu::simd<>, WeightScheme Q = dense_weights>
using AnyModel = typename detail::any_model<P, Q, hf_families>::type;

/// Builds model type M (a decoder, an encoder or an encoder-decoder; its family must match config.json) from a
/// parsed config and an opened checkpoint: the adapter maps the tensors onto the layers, and every tensor must be
/// used or ignored by the adapter.
template <class M>
M load_as(const HfConfig& config, Checkpoint ckpt) {
  using F = typename M::family;
  using T = typename M::storage_type;
  using A = hf::Adapter<F>;
  TFX_CHECK(config.model_type == F::model_type, config.where, ": model_type is '", config.model_type,
            "' but the model type is ", F::model_type);
  const ModelSpec spec = A::spec(config);
  hf::Loader<T, space_t<typename M::policy>> ld(std::move(ckpt));
  auto layers = A::template build<M>(ld, config, spec);
  ld.finish(F::model_type, [](const std::string& n) { return A::ignored(n); });
  if constexpr (requires { A::seq2seq_info(config); })
    return M(spec, info_of(config), A::seq2seq_info(config), std::move(layers), ld.storage(), ld.weight_bytes());
  else
    return M(spec, info_of(config), std::move(layers), ld.storage(), ld.weight_bytes());
}

/// The config of model folder `dir`, which must hold a family of list L (`kind` names them in the message).
template <class L>
HfConfig config_of_kind(const std::filesystem::path& dir, const char* kind, const char* otherwise) {
  TFX_CHECK(std::filesystem::is_directory(dir), "model folder ", dir.string(), " does not exist or is not a directory");
  HfConfig config = HfConfig::from_file(dir);
  TFX_CHECK(L::visit(config.model_type, [](auto) {}), config.where, ": model_type '", config.model_type,
            "' is not an ", kind, " (", kind, "s: ", L::names(), ")", otherwise);
  return config;
}

/// Loads the alternative of V (a variant of one family's model types at F32, BF16 and F16 storage, in that order)
/// that the checkpoint's widest matrix dtype names.
template <class V>
V load_widest(const HfConfig& config, Checkpoint ckpt) {
  static_assert(std::variant_size_v<V> == 3, "load_widest: expected the F32, BF16 and F16 model types");
  using F = typename std::variant_alternative_t<0, V>::family;
  const dtype t = hf::matrix_dtype(ckpt, [](const std::string& n) { return hf::Adapter<F>::ignored(n); });
  if (t == dtype::bf16) return load_as<std::variant_alternative_t<1, V>>(config, std::move(ckpt));
  if (t == dtype::f16) return load_as<std::variant_alternative_t<2, V>>(config, std::move(ckpt));
  return load_as<std::variant_alternative_t<0, V>>(config, std::move(ckpt));
}

/// Loads model folder `dir` as model type M: config.json must name M's family, and a static shape must agree.
template <class M>
M load_as(const std::filesystem::path& dir) {
  return load_as<M>(HfConfig::from_file(dir), Checkpoint::open(dir));
}

/// The spec and the counts (parameters, active parameters, FLOPs and KV bytes per token) of the model a config
/// describes, from the family's layers: no weights needed.
inline std::pair<ModelSpec, Counts> describe(const HfConfig& c) {
  std::pair<ModelSpec, Counts> out;
  const bool known = visit_any_family(c.model_type, [&]<class F>(F) {
    out.first = hf::Adapter<F>::spec(c);
    // Seq2Seq families name everything an encoder family does, and more: ask for them first.
    if constexpr (Family<F>) out.second = Model<F, DynamicShape, cpu::scalar, float>::counts(out.first);
    else if constexpr (Seq2SeqFamily<F>) out.second = Seq2Seq<F, DynamicShape, cpu::scalar, float>::counts(out.first);
    else out.second = Encoder<F, DynamicShape, cpu::scalar, float>::counts(out.first);
  });
  TFX_CHECK(known, c.where, ": unknown model_type '", c.model_type, "'");
  return out;
}

/// Loads any supported Hugging Face model folder; matrices stay in the file's dtype (the widest, if they differ),
/// or with Q = q8_0_weights / q4_0_weights the matrices of the blocks and the head are quantized to Q8_0 / Q4_0 at
/// load, or mapped as stored by save_quantized (the embedding table, norms and biases stay as stored).
template <ExecutionPolicy P = cpu::simd<>, WeightScheme Q = dense_weights>
AnyModel<P, Q> load_model(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  TFX_CHECK(fs::is_directory(dir), "model folder ", dir.string(), " does not exist or is not a directory");
  auto config = HfConfig::from_file(dir);  // the folder: "no config.json in model folder DIR" if absent
  auto ckpt = Checkpoint::open(dir);
  std::optional<AnyModel<P, Q>> out;
  hf_families::visit(config.model_type, [&]<class F>(F) {
    if constexpr (!runs_on<F, P>()) {
      fail(config.where, ": model_type '", config.model_type, "' runs on host-memory policies only, not ", P::name);
    } else {
      const dtype t = hf::matrix_dtype(ckpt, [](const std::string& n) { return hf::Adapter<F>::ignored(n); });
      if (t == dtype::bf16) out.emplace(load_as<Model<F, DynamicShape, P, bf16, Q>>(config, std::move(ckpt)));
      else if (t == dtype::f16) out.emplace(load_as<Model<F, DynamicShape, P, f16, Q>>(config, std::move(ckpt)));
      else out.emplace(load_as<Model<F, DynamicShape, P, float, Q>>(config, std::move(ckpt)));
    }
  });
  TFX_CHECK(!hf_encoder_families::visit(config.model_type, [](auto) {}), config.where, ": model_type '",
            config.model_type, "' is an encoder (no text generation): load it with load_encoder, or run `tfx embed`");
  TFX_CHECK(!hf_seq2seq_families::visit(config.model_type, [](auto) {}), config.where, ": model_type '",
            config.model_type, "' is an encoder-decoder: load it with load_seq2seq, or run `tfx translate`");
  TFX_CHECK(out.has_value(), config.where, ": unknown model_type '", config.model_type, "'");  // parse checked it
  return std::move(*out);
}

/// Any encoder load_encoder can return under policy P: one alternative per (encoder family, storage type).
template <ExecutionPolicy P = cpu::simd<>>
using AnyEncoder = std::variant<Encoder<family::Bert, DynamicShape, P, float>, Encoder<family::Bert, DynamicShape, P, bf16>,
                                Encoder<family::Bert, DynamicShape, P, f16>>;

/// Loads a Hugging Face encoder folder (BERT; config.json + safetensors); matrices stay in the file's dtype.
template <ExecutionPolicy P = cpu::simd<>>
AnyEncoder<P> load_encoder(const std::filesystem::path& dir) {
  const HfConfig config = config_of_kind<hf_encoder_families>(dir, "encoder", "; decoders are loaded with load_model");
  return load_widest<AnyEncoder<P>>(config, Checkpoint::open(dir));
}

/// Any encoder-decoder load_seq2seq can return under policy P (host-memory policies).
template <ExecutionPolicy P = cpu::simd<>>
using AnySeq2Seq = std::variant<Seq2Seq<family::Marian, DynamicShape, P, float>, Seq2Seq<family::Marian, DynamicShape, P, bf16>,
                                Seq2Seq<family::Marian, DynamicShape, P, f16>>;

/// Loads a Hugging Face encoder-decoder folder (marian; config.json + safetensors); matrices stay in the file's dtype.
template <ExecutionPolicy P = cpu::simd<>>
AnySeq2Seq<P> load_seq2seq(const std::filesystem::path& dir) {
  const HfConfig config = config_of_kind<hf_seq2seq_families>(dir, "encoder-decoder", "");
  return load_widest<AnySeq2Seq<P>>(config, Checkpoint::open(dir));
}

}  // namespace tfx::io

namespace tfx {
using io::AnySeq2Seq;
using io::load_seq2seq;
using io::AnyEncoder;
using io::AnyModel;
using io::load_encoder;
using io::load_model;
}  // namespace tfx
