// Maps a checkpoint's tensors onto layer weights: the part of loading every family adapter shares.
//  - matrices are used in place when the file's dtype is the model's storage type T; a narrower float dtype is
//    widened once (T is the widest matrix dtype in the checkpoint, so nothing is ever narrowed);
//  - 1-D parameters (norm weights, biases) become f32 views: in place for F32, widened otherwise;
//  - every tensor read is recorded, so finish() can reject tensors the model did not use.
#pragma once
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tfx/core/weights.hpp"
#include "tfx/io/safetensors.hpp"

namespace tfx::io::hf {

/// What the layers' views point into: the mapped checkpoint and any widened copies. Kept alive by the model.
struct Storage {
  Checkpoint checkpoint;
  std::vector<std::shared_ptr<void>> owned;
};

/// The widest float dtype among the checkpoint's tensors of rank >= 2 (matrices and stacked experts), ignoring
/// names for which `ignore(name)` holds: F32 if any is F32 or if both F16 and BF16 occur.
template <class Ignore>
tfx::dtype matrix_dtype(const Checkpoint& ckpt, Ignore&& ignore) {
  bool f32 = false, bf = false, h = false;
  for (const auto& name : ckpt.names()) {
    const TensorInfo& t = ckpt.at(name);
    if (t.shape.size() < 2 || !t.dtype || ignore(name)) continue;
    f32 |= *t.dtype == tfx::dtype::f32, bf |= *t.dtype == tfx::dtype::bf16, h |= *t.dtype == tfx::dtype::f16;
  }
  if (f32 || (bf && h)) return tfx::dtype::f32;
  if (bf) return tfx::dtype::bf16;
  if (h) return tfx::dtype::f16;
  return tfx::dtype::f32;
}

template <StorageType T>
class Loader {
 public:
  explicit Loader(Checkpoint ckpt) : storage_(std::make_shared<Storage>(Storage{std::move(ckpt), {}})) {}

  const Checkpoint& checkpoint() const { return storage_->checkpoint; }
  bool has(const std::string& name) const { return checkpoint().contains(name); }
  std::size_t weight_bytes() const { return weight_bytes_; }
  std::shared_ptr<const void> storage() const { return storage_; }

  /// A tensor of exactly `shape` as a [rows, cols] matrix of T (rows = product of all but the last dim).
  Rows<const T> matrix(const std::string& name, std::initializer_list<std::int64_t> shape) {
    const TensorInfo& t = take(name, shape);
    if (*t.dtype == dtype_of<T>()) return io::matrix<T>(t);
    TFX_CHECK(dtype_of<T>() == tfx::dtype::f32, "tensor '", name, "' in ", t.file, ": dtype ", t.dtype_str,
              " would have to be narrowed to the model's ", dtype_name(dtype_of<T>()),
              " weights (load the checkpoint with load_model, which picks the widest dtype)");
    return *t.dtype == tfx::dtype::bf16 ? widen<bf16>(t) : widen<f16>(t);
  }
  Rows<const T> matrix(const std::string& name, std::int64_t rows, std::int64_t cols) {
    return matrix(name, {rows, cols});
  }
  /// A tensor of exactly [rows, cols] as f32, whatever the model's storage type (widened if stored narrower).
  Rows<const float> matrix_f32(const std::string& name, std::int64_t rows, std::int64_t cols) {
    const TensorInfo& t = take(name, {rows, cols});
    const float* p = *t.dtype == tfx::dtype::f32    ? io::matrix<float>(t).data
                     : *t.dtype == tfx::dtype::bf16 ? widened<bf16, float>(t)
                                                    : widened<f16, float>(t);
    return {p, rows, cols};
  }
  /// A 1-D tensor of n elements as f32.
  std::span<const float> vector(const std::string& name, std::int64_t n) {
    const TensorInfo& t = take(name, {n});
    const float* p = *t.dtype == tfx::dtype::f32    ? io::matrix<float>(t).data
                     : *t.dtype == tfx::dtype::bf16 ? widened<bf16, float>(t)
                                                    : widened<f16, float>(t);
    return {p, static_cast<std::size_t>(n)};
  }

  /// The weight of format `Format` for a matrix `src` read from the checkpoint: the view itself when Format is a
  /// Dense format, else quantized into memory owned by the storage (progress on stderr is the caller's business).
  /// `replaces` says the quantized copy is all the model reads of src (false for a tied head: the embedding
  /// table is still read), which keeps weight_bytes() the bytes the model actually reads.
  template <class Format, StorageType S, weight_layout L>
  Format weight(Dense<S, L> src, bool replaces = true) {
    if constexpr (std::is_same_v<Format, Dense<S, L>>) {
      return src;
    } else {
      static_assert(std::is_same_v<Format, Q8_0>, "Loader::weight: no conversion to this weight format");
      const Index out = src.out_features(), in = src.in_features();
      const std::size_t n = static_cast<std::size_t>(out * Q8_0::padded(in));
      auto q = std::make_shared<std::vector<std::int8_t>>(n);
      auto d = std::make_shared<std::vector<float>>(n / Q8_0::block);
      storage_->owned.push_back(q);
      storage_->owned.push_back(d);
      weight_bytes_ += Q8_0::bytes(out, in);
      if (replaces) weight_bytes_ -= std::min(weight_bytes_, static_cast<std::size_t>(out * in) * sizeof(S));
      return quantize_q8_0(src, q->data(), d->data());
    }
  }

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
};

/// The LM head [vocab, hidden]: the embedding matrix when tied (some tied checkpoints still carry a copy as
/// `lm_head.weight`; the embedding is what is used), else `lm_head.weight`.
template <class Head, StorageType T>
Head lm_head(Loader<T>& ld, Rows<const T> embedding, bool tied) {
  using Format = typename Head::format;
  if (tied) {
    ld.mark_used("lm_head.weight");
    return Head(ld.template weight<Format>(Dense<T>(embedding), /*replaces=*/false));
  }
  return Head(ld.template weight<Format>(Dense<T>(ld.matrix("lm_head.weight", embedding.rows, embedding.cols))));
}

}  // namespace tfx::io::hf
