// Loading a model folder whose family and dtype are known only at run time: one Model instantiation per
// supported (architecture, storage dtype) pair, chosen from config.json's model_type and the embedding's dtype.
#pragma once
#include <variant>

#include "tfx/model/model.hpp"

namespace tfx {

template <ExecutionPolicy P = cpu::simd<>>
using AnyModel = std::variant<Model<arch::Llama, DynamicShape, P, float>, Model<arch::Llama, DynamicShape, P, bf16>,
                              Model<arch::Llama, DynamicShape, P, f16>, Model<arch::Qwen2, DynamicShape, P, float>,
                              Model<arch::Qwen2, DynamicShape, P, bf16>, Model<arch::Qwen2, DynamicShape, P, f16>,
                              Model<arch::Qwen3, DynamicShape, P, float>, Model<arch::Qwen3, DynamicShape, P, bf16>,
                              Model<arch::Qwen3, DynamicShape, P, f16>, Model<arch::Mistral, DynamicShape, P, float>,
                              Model<arch::Mistral, DynamicShape, P, bf16>, Model<arch::Mistral, DynamicShape, P, f16>>;

namespace detail {
template <class Arch, ExecutionPolicy P>
AnyModel<P> load_as(io::HfConfig config, io::Checkpoint ckpt) {
  const io::TensorInfo& embed = ckpt.at("model.embed_tokens.weight");
  TFX_CHECK(embed.dtype.has_value(), "tensor 'model.embed_tokens.weight' in ", embed.file, ": dtype ", embed.dtype_str,
            " is not a float dtype (F32, F16, BF16)");
  switch (*embed.dtype) {
    case dtype::bf16: return Model<Arch, DynamicShape, P, bf16>(std::move(config), std::move(ckpt));
    case dtype::f16: return Model<Arch, DynamicShape, P, f16>(std::move(config), std::move(ckpt));
    case dtype::f32: break;
  }
  return Model<Arch, DynamicShape, P, float>(std::move(config), std::move(ckpt));
}
}  // namespace detail

/// Loads any supported Hugging Face model folder; weights stay in the file's dtype.
template <ExecutionPolicy P = cpu::simd<>>
AnyModel<P> load_model(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  TFX_CHECK(fs::is_directory(dir), "model folder ", dir.string(), " does not exist or is not a directory");
  auto config = io::HfConfig::from_file(dir);  // the folder: "no config.json in model folder DIR" if absent
  auto ckpt = io::Checkpoint::open(dir);
  if (config.model_type == arch::Llama::model_type) return detail::load_as<arch::Llama, P>(std::move(config), std::move(ckpt));
  if (config.model_type == arch::Qwen2::model_type) return detail::load_as<arch::Qwen2, P>(std::move(config), std::move(ckpt));
  if (config.model_type == arch::Qwen3::model_type) return detail::load_as<arch::Qwen3, P>(std::move(config), std::move(ckpt));
  if (config.model_type == arch::Mistral::model_type)
    return detail::load_as<arch::Mistral, P>(std::move(config), std::move(ckpt));
  fail(config.where, ": unknown model_type '", config.model_type, "' (supported: llama, qwen2, qwen3, mistral)");
}

}  // namespace tfx
