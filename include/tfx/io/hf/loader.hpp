// Maps a checkpoint's tensors onto layer weights: the part of loading every family adapter shares.
//  - matrices are used in place when the file's dtype is the model's storage type T; a narrower float dtype is
//    widened once (T is the widest matrix dtype in the checkpoint, so nothing is ever narrowed);
//  - 1-D parameters (norm weights, biases) become f32 views: in place for F32, widened otherwise;
//  - every tensor read is recorded, so finish() can reject tensors the model did not use;
//  - for a model whose memory space is not the host (a GPU policy), each tensor is copied into that space once,
//    through memory<Space>, and the copies are owned by the storage (the mapping is then only read at load).
#pragma once
#include <memory>
#include <set>
#include <string_view>
#include <utility>
#include <string>
#include <vector>

#include "tfx/core/weights.hpp"
#include "tfx/io/safetensors.hpp"

namespace tfx::io::hf {

/// A block-quantized matrix `name` (Q8_0, Q4_0) is stored as its values `name` beside its scales `name` + this
/// suffix: Q8_0 as I8 [out, padded(in)] with F32 scales, Q4_0 as U8 [out, padded(in) / 2] with F16 scales.
inline constexpr std::string_view q8_0_scale_suffix = "_scale";
/// The name of the block-quantized format tensor `name` is stored in ("q8_0", "q4_0"), or "" if it is not the
/// values of one (a tensor of a format's values dtype with a `name`_scale beside it).
inline std::string_view stored_format(const Checkpoint& ckpt, std::string_view name) {
  const auto* t = ckpt.find(name);
  if (t == nullptr || !ckpt.contains(std::string(name) + std::string(q8_0_scale_suffix))) return "";
  for (const auto& [format, values] : {std::pair{Q8_0::name, q8_0_code::values_dtype}, std::pair{Q4_0::name, q4_0_code::values_dtype}})
    if (t->dtype_str == values) return format;
  return "";
}
/// Whether `name` holds the scales of a stored block-quantized matrix.
inline bool is_q8_0_scale(const Checkpoint& ckpt, std::string_view name) {
  return name.ends_with(q8_0_scale_suffix) &&
         !stored_format(ckpt, name.substr(0, name.size() - q8_0_scale_suffix.size())).empty();
}

/// What the layers' views point into: the mapped checkpoint and any widened copies. Kept alive by the model.
struct Storage {
  Checkpoint checkpoint;
  std::vector<std::shared_ptr<void>> owned;
};

/// The widest float dtype among the checkpoint's tensors of rank >= 2 (matrices and stacked experts), ignoring
/// stored Q8_0 scales and names for which `ignore(name)` holds: F32 if any is F32 or if both F16 and BF16 occur.
template <class Ignore>
tfx::dtype matrix_dtype(const Checkpoint& ckpt, Ignore&& ignore) {
  bool f32 = false, bf = false, h = false;
  for (const auto& name : ckpt.names()) {
    const TensorInfo& t = ckpt.at(name);
    if (t.shape.size() < 2 || !t.dtype || ignore(name) || is_q8_0_scale(ckpt, name)) continue;
    f32 |= *t.dtype == tfx::dtype::f32, bf |= *t.dtype == tfx::dtype::bf16, h |= *t.dtype == tfx::dtype::f16;
  }
  if (f32 || (bf && h)) return tfx::dtype::f32;
  if (bf) return tfx::dtype::bf16;
  if (h) return tfx::dtype::f16;
  return tfx::dtype::f32;
}

template <StorageType T, class Space = host_space>
class Loader {
 public:
  using space = Space;
  explicit Loader(Checkpoint ckpt) : storage_(std::make_shared<Storage>(Storage{std::move(ckpt), {}})) {}

  const Checkpoint& checkpoint() const { return storage_->checkpoint; }
  bool has(const std::string& name) const { return checkpoint().contains(name); }
  std::size_t weight_bytes() const { return weight_bytes_; }
  std::shared_ptr<const void> storage() const { return storage_; }

  /// A tensor of exactly `shape` as a [rows, cols] matrix of T (rows = product of all but the last dim).
  Rows<const T, Space> matrix(const std::string& name, std::initializer_list<std::int64_t> shape) {
    const TensorInfo& t = take(name, shape);
    if (*t.dtype == dtype_of<T>()) return place(io::matrix<T>(t));
    TFX_CHECK(dtype_of<T>() == tfx::dtype::f32, "tensor '", name, "' in ", t.file, ": dtype ", t.dtype_str,
              " would have to be narrowed to the model's ", dtype_name(dtype_of<T>()),
              " weights (load the checkpoint with load_model, which picks the widest dtype)");
    return place(*t.dtype == tfx::dtype::bf16 ? widen<bf16>(t) : widen<f16>(t));
  }
  Rows<const T, Space> matrix(const std::string& name, std::int64_t rows, std::int64_t cols) {
    return matrix(name, {rows, cols});
  }
  /// A tensor of exactly [rows, cols] as f32, whatever the model's storage type (widened if stored narrower).
  Rows<const float, Space> matrix_f32(const std::string& name, std::int64_t rows, std::int64_t cols) {
    const TensorInfo& t = take(name, {rows, cols});
    const float* p = *t.dtype == tfx::dtype::f32    ? io::matrix<float>(t).data
                     : *t.dtype == tfx::dtype::bf16 ? widened<bf16, float>(t)
                                                    : widened<f16, float>(t);
    return place(Rows<const float>(p, rows, cols));
  }
  /// A 1-D tensor of n elements as f32.
  Vector<const float, Space> vector(const std::string& name, std::int64_t n) {
    const TensorInfo& t = take(name, {n});
    const float* p = *t.dtype == tfx::dtype::f32    ? io::matrix<float>(t).data
                     : *t.dtype == tfx::dtype::bf16 ? widened<bf16, float>(t)
                                                    : widened<f16, float>(t);
    const Rows<const float, Space> r = place(Rows<const float>(p, 1, n));
    return {r.data, static_cast<std::size_t>(n)};
  }

  /// The weight of format `Format` for a matrix `src` read from the checkpoint: the view itself when Format is a
  /// Dense format, else quantized into memory owned by the storage (progress on stderr is the caller's business).
  /// `replaces` says the quantized copy is all the model reads of src (false for a tied head: the embedding
  /// table is still read), which keeps weight_bytes() the bytes the model actually reads.
  template <class Format, StorageType S, weight_layout L>
  Format weight(Dense<S, L, Space> src, bool replaces = true) {
    if constexpr (std::is_same_v<Format, Dense<S, L, Space>>) {
      return src;
    } else {
      static_assert(BlockQuantized<Format>, "Loader::weight: no conversion to this weight format");
      static_assert(std::is_same_v<Space, host_space>, "Loader::weight: quantized weights live in host memory");
      const Index out = src.out_features(), in = src.in_features();
      const auto n = static_cast<std::size_t>(out * Format::padded(in));
      auto q = std::make_shared<std::vector<typename Format::value_type>>(n / Format::code::per_unit);
      auto d = std::make_shared<std::vector<typename Format::scale_type>>(n / Format::block);
      storage_->owned.push_back(q);
      storage_->owned.push_back(d);
      weight_bytes_ += Format::bytes(out, in);
      if (replaces) weight_bytes_ -= std::min(weight_bytes_, static_cast<std::size_t>(out * in) * sizeof(S));
      return quantize_to<Format>(src, q->data(), d->data());
    }
  }

  /// The [out, in] matrix `name` in format `Format`. A checkpoint written by save_quantized() stores quantized
  /// matrices as `name` (values) beside `name`_scale (scales), laid out as values_dtype / scales_dtype say: those
  /// are used in place. Anything else is read as a matrix of T and converted by weight() above. Every quantized
  /// matrix read by name is recorded in quantized(), which is what save_quantized() writes.
  template <class Format>
  Format weight(const std::string& name, std::int64_t out, std::int64_t in) {
    const TensorInfo& t = checkpoint().at(name);
    const std::string scale = name + std::string(q8_0_scale_suffix);
    if (const std::string_view stored = stored_format(checkpoint(), name); !stored.empty()) {
      std::string_view wanted = "none";
      if constexpr (BlockQuantized<Format>) wanted = Format::name;
      TFX_CHECK(stored == wanted, "tensor '", name, "' in ", t.file, " is stored as ", stored, " (", t.dtype_str,
                " with ", scale, "): load the model with the ", stored, " weight scheme (tfx --quantize ", stored,
                ", or load_model<Policy, tfx::", stored, "_weights>)");
      if constexpr (BlockQuantized<Format>) {
        static_assert(std::is_same_v<Space, host_space>, "Loader::weight: quantized weights live in host memory");
        const Index stride = Format::padded(in);
        used_.insert(name);
        check_shape(t, {out, stride / Format::code::per_unit});
        const TensorInfo& d = checkpoint().at(scale);
        used_.insert(scale);
        check_shape(d, {out, stride / Format::block});
        TFX_CHECK(d.dtype_str == Format::code::scales_dtype, "tensor '", scale, "' in ", d.file, ": ", stored,
                  " scales must be ", Format::code::scales_dtype, ", found ", d.dtype_str);
        weight_bytes_ += t.bytes.size() + d.bytes.size();
        Format w;
        w.q = reinterpret_cast<const typename Format::value_type*>(t.bytes.data());
        w.d = io::matrix<typename Format::scale_type>(d).data;  // checks the alignment
        w.out = out, w.in = in, w.row_stride = stride;
        quantized_.push_back(record(name, w));
        return w;
      }
    }
    Format w = weight<Format>(Dense<T, weight_layout::out_in, Space>(matrix(name, out, in)));
    if constexpr (BlockQuantized<Format>) quantized_.push_back(record(name, w));
    return w;
  }
  /// A quantized matrix as its two stored tensors.
  struct Quantized {
    std::string name;
    std::string_view values_dtype, scales_dtype;
    std::vector<std::int64_t> values_shape, scales_shape;
    std::span<const std::byte> values, scales;
  };
  /// The quantized matrices read by name, in reading order.
  const std::vector<Quantized>& quantized() const { return quantized_; }

  /// Throws on the first tensor not read, unless `ignore(name)` holds.
  template <class Ignore>
  void finish(std::string_view model_type, Ignore&& ignore) const {
    for (const auto& name : checkpoint().names()) {
      if (used_.count(name) || ignore(name)) continue;
      fail("checkpoint ", checkpoint().dir().string(), ": unexpected tensor '", name, "' for a ", model_type,
           " model with this config.json (wrong model_type, or bias / q-k-norm / expert settings that disagree with the "
           "weights?)");
    }
  }
  /// Marks `name` as accounted for (a tied head's copy of the embedding).
  void mark_used(const std::string& name) { used_.insert(name); }

 private:
  /// A host matrix (contiguous) in the loader's memory space: itself, or a copy owned by the storage.
  template <class U>
  Rows<const U, Space> place(Rows<const U> h) {
    if constexpr (std::is_same_v<Space, host_space>) {
      return h;
    } else {
      TFX_CHECK(h.ld == h.cols, "Loader: a strided matrix cannot be copied to ", Space::name, " memory");
      const std::size_t bytes = static_cast<std::size_t>(h.rows * h.cols) * sizeof(U);
      Buffer b = memory<Space>::allocate(bytes);
      memory<Space>::upload(b.data(), h.data, bytes);
      auto deleter = b.ptr.get_deleter();
      std::shared_ptr<void> owned(b.ptr.release(), deleter);
      storage_->owned.push_back(owned);
      return {static_cast<const U*>(owned.get()), h.rows, h.cols};
    }
  }
  const TensorInfo& take(const std::string& name, std::initializer_list<std::int64_t> shape) {
    const TensorInfo& t = checkpoint().at(name);
    used_.insert(name);
    check_shape(t, shape);
    TFX_CHECK(t.dtype.has_value(), "tensor '", name, "' in ", t.file, ": dtype ", t.dtype_str,
              " is not a float dtype (F32, F16, BF16)");
    weight_bytes_ += t.bytes.size();
    return t;
  }
  /// The elements of t (stored as From) converted to To, owned by the storage.
  template <class From, class To>
  const To* widened(const TensorInfo& t) {
    const Index n = t.numel();
    auto buf = std::make_shared<std::vector<To>>(static_cast<std::size_t>(n));
    const From* src = io::matrix<From>(t).data;
    for (Index i = 0; i < n; ++i) (*buf)[static_cast<std::size_t>(i)] = from_float<To>(to_float(src[i]));
    storage_->owned.push_back(buf);
    return buf->data();
  }
  /// t (stored as From) as a matrix of T, widened into memory owned by the storage.
  template <class From>
  Rows<const T> widen(const TensorInfo& t) {
    const Rows<const From> stored = io::matrix<From>(t);
    return {widened<From, T>(t), stored.rows, stored.cols};
  }

  std::shared_ptr<Storage> storage_;
  std::set<std::string, std::less<>> used_;
  std::size_t weight_bytes_ = 0;
  std::vector<Quantized> quantized_;
  template <BlockQuantized Q>
  static Quantized record(const std::string& name, const Q& w) {
    const auto units = static_cast<std::size_t>(w.out * w.units_per_row()), scales = static_cast<std::size_t>(w.out * w.blocks_per_row());
    return {name, Q::code::values_dtype, Q::code::scales_dtype, {w.out, w.units_per_row()}, {w.out, w.blocks_per_row()},
            std::as_bytes(std::span(w.q, units)), std::as_bytes(std::span(w.d, scales))};
  }
};

/// The LM head [vocab, hidden]: the embedding matrix when tied (some tied checkpoints still carry a copy as
/// `lm_head.weight`; the embedding is what is used), else `lm_head.weight`.
template <class Head, StorageType T, class Sp>
Head lm_head(Loader<T, Sp>& ld, Rows<const T, Sp> embedding, bool tied) {
  using Format = typename Head::format;
  if (tied) {
    ld.mark_used("lm_head.weight");
    return Head(ld.template weight<Format>(Dense<T, weight_layout::out_in, Sp>(embedding), /*replaces=*/false));
  }
  return Head(ld.template weight<Format>("lm_head.weight", embedding.rows, embedding.cols));
}

}  // namespace tfx::io::hf
