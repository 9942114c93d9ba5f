// Writing a Hugging Face model folder with its matrices quantized, so that loading it maps them in place instead
// of quantizing at every start.
//
// Layout (Q8_0): every [out, in] matrix the model reads by name (attention and MLP projections, per-expert
// matrices, an untied lm_head) is stored as two tensors:
//   NAME          I8  [out, padded(in)]       int8 values, rows padded with zeros to a multiple of 64
//   NAME_scale    F32 [out, padded(in) / 32]  one scale per block of 32 values (value = q * scale)
// Everything else (embedding, norms, biases, routers, stacked expert tensors, a tied head) is copied as stored;
// tensors whose matrices are not stored quantized are quantized at load as before. The other files of the
// folder (config.json, tokenizer files, ...) are copied unchanged. The safetensors metadata says
// "tfx.quantization": "q8_0".
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

/// Whether folder `dir` stores Q8_0 matrices (as written by save_quantized): load it with q8_0_weights.
inline bool stores_q8_0(const Checkpoint& ckpt) {
  for (const auto& name : ckpt.names())
    if (ckpt.at(name).dtype_str == "I8" && ckpt.contains(name + std::string(hf::q8_0_scale_suffix))) return true;
  return false;
}

/// Writes model folder `src` to the new folder `dst` (absent or empty) with its matrices in Q8_0, laid out as
/// above; `progress` (may be empty) receives one line per step. The values are exactly those loading `src` with
/// load_model<P, q8_0_weights> produces, so both load to the same model.
inline void save_quantized(const std::filesystem::path& src, const std::filesystem::path& dst,
                           const std::function<void(const std::string&)>& progress = {}) {
  namespace fs = std::filesystem;
  const auto say = [&](const std::string& s) {
    if (progress) progress(s);
  };
  TFX_CHECK(fs::is_directory(src), "model folder ", src.string(), " does not exist or is not a directory");
  TFX_CHECK(!fs::exists(dst) || (fs::is_directory(dst) && fs::is_empty(dst)), "output folder ", dst.string(),
            " already exists and is not an empty folder");
  const HfConfig config = HfConfig::from_file(src);
  Checkpoint ckpt = Checkpoint::open(src);
  TFX_CHECK(!stores_q8_0(ckpt), "model folder ", src.string(), " is already quantized");
  bool known = false;
  hf_families::visit(config.model_type, [&]<class F>(F) {
    known = true;
    using A = hf::Adapter<F>;
    const dtype t = hf::matrix_dtype(ckpt, [](const std::string& n) { return A::ignored(n); });
    with_storage_type(t, [&]<class T>(T) {
      using M = Model<F, DynamicShape, cpu::simd<>, T, q8_0_weights>;
      say("quantizing the matrices of " + src.string() + " to q8_0");
      hf::Loader<T> ld(std::move(ckpt));
      const ModelSpec spec = A::spec(config);
      const auto layers = A::template build<M>(ld, config, spec);
      ld.finish(F::model_type, [](const std::string& n) { return A::ignored(n); });
      std::unordered_map<std::string, Q8_0> q(ld.quantized().begin(), ld.quantized().end());
      std::vector<TensorRef> out;
      for (const auto& name : ld.checkpoint().names()) {
        const TensorInfo& info = ld.checkpoint().at(name);
        const auto it = q.find(name);
        if (it == q.end()) {
          out.push_back({name, info.dtype_str, info.shape, info.bytes});
          continue;
        }
        const Q8_0& w = it->second;
        const std::string scale = name + std::string(hf::q8_0_scale_suffix);
        TFX_CHECK(!ld.checkpoint().contains(scale), "tensor '", scale, "' in ", info.file,
                  " would collide with the scales of the quantized '", name, "'");
        const auto values = std::as_bytes(std::span(w.q, static_cast<std::size_t>(w.out * w.row_stride)));
        const auto scales = std::as_bytes(std::span(w.d, static_cast<std::size_t>(w.out * w.blocks_per_row())));
        out.push_back({name, "I8", {w.out, w.row_stride}, values});
        out.push_back({scale, "F32", {w.out, w.blocks_per_row()}, scales});
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
      say("writing " + (dst / "model.safetensors").string() + " (" + std::to_string(q.size()) + " matrices in q8_0)");
      write_safetensors(dst / "model.safetensors", out, {{"format", "pt"}, {"tfx.quantization", "q8_0"}});
    });
  });
  TFX_CHECK(known, config.where, ": unknown model_type '", config.model_type, "'");
}

}  // namespace tfx::io

namespace tfx {
using io::save_quantized;
}  // namespace tfx
