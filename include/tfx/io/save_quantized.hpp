// Writing a Hugging Face model folder with its matrices quantized, so that loading it maps them in place instead
// of quantizing at every start.
//
// Layout: every [out, in] matrix the model reads by name (attention and MLP projections, per-expert matrices, an
// untied lm_head) is stored as two tensors:
//   q8_0:  NAME        I8  [out, padded(in)]       int8 values, rows padded with zeros to a multiple of 64
//          NAME_scale  F32 [out, padded(in) / 32]  one scale per block of 32 values (value = q * scale)
//   q4_0:  NAME        U8  [out, padded(in) / 2]   two 4-bit values a byte (q4_0_code's layout), rows padded to
//                                                  a multiple of 128 values
//          NAME_scale  F16 [out, padded(in) / 32]  one scale per block of 32 values (value = (q - 8) * scale)
// Everything else (embedding, norms, biases, routers, stacked expert tensors, a tied head) is copied as stored;
// tensors whose matrices are not stored quantized are quantized at load as before. The other files of the
// folder (config.json, tokenizer files, ...) are copied unchanged. The safetensors metadata says
// "tfx.quantization": "q8_0" or "q4_0".
#pragma once
#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "tfx/io/load_model.hpp"

namespace tfx::io {

/// The format of the quantized matrices a checkpoint stores (as written by save_quantized): "q8_0" (load it with
/// q8_0_weights), "q4_0" (q4_0_weights), or "none".
inline std::string_view stored_quantization(const Checkpoint& ckpt) {
  for (const auto& name : ckpt.names())
    if (const std::string_view f = hf::stored_format(ckpt, name); !f.empty()) return f;
  return "none";
}

/// Writes model folder `src` to the new folder `dst` (absent or empty) with its matrices quantized by scheme Q
/// (q8_0_weights or q4_0_weights), laid out as above; `progress` (may be empty) receives one line per step. The
/// values are exactly those loading `src` with load_model<P, Q> produces, so both load to the same model.
template <WeightScheme Q = q8_0_weights>
void save_quantized(const std::filesystem::path& src, const std::filesystem::path& dst,
                    const std::function<void(const std::string&)>& progress = {}) {
  static_assert(BlockQuantized<typename Q::template format<Dense<float>>>, "save_quantized: Q must quantize");
  namespace fs = std::filesystem;
  const auto say = [&](const std::string& s) {
    if (progress) progress(s);
  };
  TFX_CHECK(fs::is_directory(src), "model folder ", src.string(), " does not exist or is not a directory");
  TFX_CHECK(!fs::exists(dst) || (fs::is_directory(dst) && fs::is_empty(dst)), "output folder ", dst.string(),
            " already exists and is not an empty folder");
  const HfConfig config = HfConfig::from_file(src);
  Checkpoint ckpt = Checkpoint::open(src);
  TFX_CHECK(stored_quantization(ckpt) == "none", "model folder ", src.string(), " is already quantized (",
            stored_quantization(ckpt), ")");
  bool known = false;
  hf_families::visit(config.model_type, [&]<class F>(F) {
    known = true;
    using A = hf::Adapter<F>;
    const dtype t = hf::matrix_dtype(ckpt, [](const std::string& n) { return A::ignored(n); });
    with_storage_type(t, [&]<class T>(T) {
      using M = Model<F, DynamicShape, cpu::simd<>, T, Q>;
      const std::string scheme(Q::name);
      say("quantizing the matrices of " + src.string() + " to " + scheme);
      hf::Loader<T> ld(std::move(ckpt));
      const ModelSpec spec = A::spec(config);
      const auto layers = A::template build<M>(ld, config, spec);
      ld.finish(F::model_type, [](const std::string& n) { return A::ignored(n); });
      std::unordered_map<std::string, const typename hf::Loader<T>::Quantized*> q;
      for (const auto& m : ld.quantized()) q.emplace(m.name, &m);
      std::vector<TensorRef> out;
      for (const auto& name : ld.checkpoint().names()) {
        const TensorInfo& info = ld.checkpoint().at(name);
        const auto it = q.find(name);
        if (it == q.end()) {
          out.push_back({name, info.dtype_str, info.shape, info.bytes});
          continue;
        }
        const auto& w = *it->second;
        const std::string scale = name + std::string(hf::q8_0_scale_suffix);
        TFX_CHECK(!ld.checkpoint().contains(scale), "tensor '", scale, "' in ", info.file,
                  " would collide with the scales of the quantized '", name, "'");
        out.push_back({name, std::string(w.values_dtype), w.values_shape, w.values});
        out.push_back({scale, std::string(w.scales_dtype), w.scales_shape, w.scales});
      }
      // Widest element first: every tensor then starts aligned for its dtype in the 8-byte-aligned data section.
      std::stable_sort(out.begin(), out.end(), [](const TensorRef& a, const TensorRef& b) {
        return safetensors_itemsize(a.dtype) > safetensors_itemsize(b.dtype);
      });
      fs::create_directories(dst);
      for (const auto& e : fs::directory_iterator(src)) {
        const auto ext = e.path().extension(), file = e.path().filename();
        if (!e.is_regular_file() || ext == ".safetensors" || file == "model.safetensors.index.json") continue;
        fs::copy_file(e.path(), dst / file);
      }
      say("writing " + (dst / "model.safetensors").string() + " (" + std::to_string(q.size()) + " matrices in " + scheme + ")");
      write_safetensors(dst / "model.safetensors", out, {{"format", "pt"}, {"tfx.quantization", scheme}});
    });
  });
  TFX_CHECK(known, config.where, ": unknown model_type '", config.model_type, "'");
}

}  // namespace tfx::io

namespace tfx {
using io::save_quantized;
}  // namespace tfx
