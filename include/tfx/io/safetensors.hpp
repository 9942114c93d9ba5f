// Safetensors reading (zero-copy, memory-mapped) and writing, and a model folder of one or more shards.
//
// Format (https://github.com/huggingface/safetensors): 8 bytes little-endian u64 N, then N bytes of UTF-8 JSON
// {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ..., "__metadata__": {"k": "v"}},
// then the data section; offsets are relative to the data section, which begins at byte 8 + N.
// Every defect of a file is reported as tfx::error naming the file, the tensor and what was expected vs found.
#pragma once
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tfx/core/dtype.hpp"
#include "tfx/core/error.hpp"
#include "tfx/core/view.hpp"
#include "tfx/io/json_util.hpp"

namespace tfx::io {

static_assert(std::endian::native == std::endian::little, "tfx::io: safetensors data is little-endian; big-endian hosts are not supported");

// ------------------------------------------------------------------------------------------------------------
// MappedFile

/// A whole file mapped read-only (POSIX mmap). RAII, movable, not copyable. The mapping address does not change
/// when the object is moved, so spans into bytes() stay valid as long as some MappedFile owns the mapping.
/// An empty file maps to an empty span.
class MappedFile {
 public:
  MappedFile() = default;

  /// Maps `path`. Errors (tfx::error): missing, unreadable, not a regular file, mmap failure.
  static MappedFile open(const std::filesystem::path& path) {
    MappedFile m;
    m.path_ = path;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("cannot open ", path.string(), ": ", std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int e = errno;
      ::close(fd);
      fail("cannot stat ", path.string(), ": ", std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      fail("cannot map ", path.string(), ": not a regular file");
    }
    m.size_ = static_cast<std::size_t>(st.st_size);
    if (m.size_ > 0) {
      void* p = ::mmap(nullptr, m.size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        const int e = errno;
        ::close(fd);
        fail("cannot mmap ", path.string(), " (", m.size_, " bytes): ", std::strerror(e));
      }
      m.data_ = static_cast<const std::byte*>(p);
    }
    ::close(fd);
    return m;
  }

  MappedFile(MappedFile&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)), path_(std::move(o.path_)) {}
  MappedFile& operator=(MappedFile&& o) noexcept {
    if (this != &o) {
      reset();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      path_ = std::move(o.path_);
    }
    return *this;
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() { reset(); }

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  const std::byte* data() const { return data_; }
  std::size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }
  bool is_mapped() const { return data_ != nullptr; }

 private:
  void reset() noexcept {
    if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
    data_ = nullptr;
    size_ = 0;
  }
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  std::filesystem::path path_;
};

// ------------------------------------------------------------------------------------------------------------
// dtypes

/// Bytes per element of a safetensors dtype string ("F32" -> 4), or 0 if the dtype is unknown.
/// Known: F64 F32 F16 BF16 I64 I32 I16 I8 U64 U32 U16 U8 BOOL F8_E4M3 F8_E5M2.
inline std::size_t safetensors_itemsize(std::string_view d) {
  struct Entry {
    std::string_view name;
    std::size_t size;
  };
  static constexpr Entry table[] = {{"F64", 8},  {"F32", 4}, {"F16", 2},  {"BF16", 2}, {"I64", 8},
                                    {"I32", 4},  {"I16", 2}, {"I8", 1},   {"U64", 8},  {"U32", 4},
                                    {"U16", 2},  {"U8", 1},  {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  for (const Entry& e : table)
    if (e.name == d) return e.size;
  return 0;
}

/// The float storage dtype of a safetensors dtype string: F32, F16, BF16; nullopt for anything else.
inline std::optional<tfx::dtype> safetensors_float_dtype(std::string_view d) {
  if (d == "F32") return tfx::dtype::f32;
  if (d == "F16") return tfx::dtype::f16;
  if (d == "BF16") return tfx::dtype::bf16;
  return std::nullopt;
}

namespace detail {
/// The keys of a name-ordered map, in order.
template <class Map>
std::vector<std::string> keys(const Map& m) {
  std::vector<std::string> out;
  out.reserve(m.size());
  for (const auto& kv : m) out.push_back(std::string(kv.first));
  return out;
}
inline std::string shape_str(std::span<const std::int64_t> shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}
}  // namespace detail

// ------------------------------------------------------------------------------------------------------------
// TensorInfo and typed views

/// One tensor of a safetensors file. `bytes` points into the file's data (mapped memory or the caller's buffer
/// for from_bytes) and is valid as long as the SafetensorsFile / Checkpoint that produced it (or one it was moved
/// into) lives.
struct TensorInfo {
  std::string name;
  std::string dtype_str;             // as in the file: "F32", "BF16", "I64", ...
  std::optional<tfx::dtype> dtype;   // set for F32 / F16 / BF16: the dtypes matrix<T>() can view
  std::vector<std::int64_t> shape;   // [] is a scalar (one element)
  std::span<const std::byte> bytes;  // exactly numel() * itemsize bytes
  std::string file;                  // the file it came from, for messages

  std::int64_t numel() const {
    std::int64_t n = 1;
    for (std::int64_t d : shape) n *= d;  // cannot overflow: every prefix product was checked when read
    return n;
  }
};

/// Throws unless `t.shape == expected`: "tensor 'x' in f: expected shape [a, b], found [c, d]".
inline void check_shape(const TensorInfo& t, std::initializer_list<std::int64_t> expected) {
  const std::span<const std::int64_t> e(expected.begin(), expected.size());
  if (!std::equal(t.shape.begin(), t.shape.end(), e.begin(), e.end()))
    fail("tensor '", t.name, "' in ", t.file, ": expected shape ", detail::shape_str(e), ", found ",
         detail::shape_str(t.shape));
}

/// A zero-copy row-major view of a float tensor, T in {float, tfx::bf16, tfx::f16}. Shape [r, c] gives r x c;
/// [n] gives 1 x n; a scalar 1 x 1; higher ranks [a, b, ..., c] give (a*b*...) x c. Errors: the file's dtype is
/// not T (message names both), or the data is not aligned for T (possible when a writer did not pad the header
/// to a multiple of 8; reading it in place would be undefined behaviour). A tensor with no elements gives a view
/// with data == nullptr and its shape's rows/cols.
template <class T>
  requires StorageType<T>
Rows<const T> matrix(const TensorInfo& t) {
  constexpr tfx::dtype want = dtype_of<T>();
  if (t.dtype != want)
    fail("tensor '", t.name, "' in ", t.file, ": cannot view dtype ", t.dtype_str, " as ", dtype_name(want),
         " (expected dtype ", dtype_name(want), ", found ", t.dtype_str, ")");
  if (!t.bytes.empty() && reinterpret_cast<std::uintptr_t>(t.bytes.data()) % alignof(T) != 0)
    fail("tensor '", t.name, "' in ", t.file, ": data is not ", alignof(T), "-byte aligned for ", dtype_name(want),
         " (address ends in ", reinterpret_cast<std::uintptr_t>(t.bytes.data()) % 64,
         " mod 64); the file's header is probably not padded to a multiple of 8 bytes");
  Index cols = t.shape.empty() ? 1 : t.shape.back();
  Index rows = 1;
  for (std::size_t i = 0; i + 1 < t.shape.size(); ++i) rows *= t.shape[i];
  // A tensor without elements has nothing to align and nothing to point at.
  const T* data = t.bytes.empty() ? nullptr : reinterpret_cast<const T*>(t.bytes.data());
  return Rows<const T>(data, rows, cols);
}

/// matrix<T>(t) after check_shape(t, {rows, cols}).
template <class T>
  requires StorageType<T>
Rows<const T> matrix(const TensorInfo& t, std::int64_t rows, std::int64_t cols) {
  check_shape(t, {rows, cols});
  return matrix<T>(t);
}

// ------------------------------------------------------------------------------------------------------------
// SafetensorsFile

/// A parsed safetensors file. Opening validates the whole header (see docs/io.md); afterwards every TensorInfo
/// is known to lie inside the data section with a byte size matching its shape and dtype, and no two tensors
/// overlap. Movable; moving keeps every TensorInfo (and pointers to it) valid.
class SafetensorsFile {
 public:
  /// The largest accepted JSON header (the reference implementation's limit).
  static constexpr std::uint64_t max_header_size = 100'000'000;

  SafetensorsFile() = default;

  /// Maps and parses `path`.
  static SafetensorsFile open(const std::filesystem::path& path) {
    SafetensorsFile f;
    f.map_ = MappedFile::open(path);
    f.parse(f.map_.bytes(), path.string());
    return f;
  }

  /// Parses a safetensors image in memory. Does not copy: `bytes` must outlive the result. `where` names the
  /// source in messages.
  static SafetensorsFile from_bytes(std::span<const std::byte> bytes, std::string where) {
    SafetensorsFile f;
    f.parse(bytes, std::move(where));
    return f;
  }

  /// The tensor called `name`, or nullptr.
  const TensorInfo* find(std::string_view name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
  }
  /// The tensor called `name`; tfx::error naming the file and the tensor if absent.
  const TensorInfo& at(std::string_view name) const {
    const TensorInfo* t = find(name);
    if (t == nullptr) fail("tensor '", name, "' not found in ", where_, " (", tensors_.size(), " tensors)");
    return *t;
  }
  bool contains(std::string_view name) const { return find(name) != nullptr; }
  /// All tensor names, sorted.
  std::vector<std::string> names() const { return detail::keys(index_); }
  /// All tensors, in data-offset order.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  std::size_t size() const { return tensors_.size(); }
  /// `__metadata__` (empty if absent).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  /// The file path, or the `where` given to from_bytes.
  const std::string& where() const { return where_; }
  /// N: the length of the JSON header. The data section starts at byte 8 + N.
  std::uint64_t header_size() const { return header_size_; }
  /// The data section (everything after the header).
  std::span<const std::byte> data() const { return data_; }

 private:
  void parse(std::span<const std::byte> all, std::string where) {
    where_ = std::move(where);
    const std::string& w = where_;
    if (all.size() < 8)
      fail(w, ": truncated safetensors file: ", all.size(), " bytes, fewer than the 8-byte header length");
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<std::uint64_t>(all[static_cast<std::size_t>(i)]);
    const std::uint64_t after = all.size() - 8;
    if (n > after)
      fail(w, ": header length ", n, " runs past the end of the file (", after,
           " bytes follow the 8-byte length): truncated or not a safetensors file");
    if (n > max_header_size)
      fail(w, ": header length ", n, " exceeds the limit of ", max_header_size, " bytes: not a safetensors file");
    if (n < 2) fail(w, ": header length ", n, " is too small for a JSON object");
    header_size_ = n;
    const std::string_view text(reinterpret_cast<const char*>(all.data() + 8), static_cast<std::size_t>(n));
    data_ = all.subspan(8 + static_cast<std::size_t>(n));

    const nlohmann::json header = io::detail::parse_json(text, w, "safetensors header", 16, true);
    if (!header.is_object()) fail(w, ": safetensors header must be a JSON object, found ", io::detail::json_found(header));

    for (const auto& [name, entry] : header.items()) {
      if (name == "__metadata__") {
        read_metadata(entry);
        continue;
      }
      tensors_.push_back(read_entry(name, entry));
    }
    check_overlaps();
    for (std::size_t i = 0; i < tensors_.size(); ++i) {
      if (!index_.emplace(tensors_[i].name, i).second)
        fail(w, ": tensor '", tensors_[i].name, "' appears twice in the header");
    }
  }

  void read_metadata(const nlohmann::json& m) {
    if (!m.is_object()) fail(where_, ": __metadata__ must be an object of strings, found ", io::detail::json_found(m));
    for (const auto& [k, v] : m.items()) {
      if (!v.is_string())
        fail(where_, ": __metadata__ entry '", k, "' must be a string, found ", io::detail::json_found(v));
      metadata_.emplace(k, v.get<std::string>());
    }
  }

  TensorInfo read_entry(const std::string& name, const nlohmann::json& e) {
    const std::string& w = where_;
    const std::string pre = w + ": tensor '" + name + "'";
    if (!e.is_object()) fail(pre, ": entry must be an object {dtype, shape, data_offsets}, found ", io::detail::json_found(e));
    TensorInfo t;
    t.name = name;
    t.file = w;

    auto dt = e.find("dtype");
    if (dt == e.end()) fail(pre, ": missing 'dtype'");
    if (!dt->is_string()) fail(pre, ": 'dtype' must be a string, found ", io::detail::json_found(*dt));
    t.dtype_str = dt->get<std::string>();
    const std::size_t item = safetensors_itemsize(t.dtype_str);
    if (item == 0)
      fail(pre, ": unknown dtype '", t.dtype_str,
           "' (known: F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL, F8_E4M3, F8_E5M2)");
    t.dtype = safetensors_float_dtype(t.dtype_str);

    auto sh = e.find("shape");
    if (sh == e.end()) fail(pre, ": missing 'shape'");
    if (!sh->is_array()) fail(pre, ": 'shape' must be an array of non-negative integers, found ", io::detail::json_found(*sh));
    // Every prefix product of the shape must fit in int64 (as in the reference implementation, which
    // multiplies in order with overflow checks), so numel() and the row count of matrix() never overflow.
    std::uint64_t numel = 1;
    bool overflow = false;
    for (const auto& d : *sh) {
      const std::int64_t v = io::detail::json_int(d, pre, "shape", 0, std::numeric_limits<std::int64_t>::max(),
                                                  "a non-negative integer dimension");
      t.shape.push_back(v);
      const auto u = static_cast<std::uint64_t>(v);
      constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
      if (u != 0 && numel > max / u) overflow = true;
      else numel *= u;
    }

    auto off = e.find("data_offsets");
    if (off == e.end()) fail(pre, ": missing 'data_offsets'");
    if (!off->is_array() || off->size() != 2)
      fail(pre, ": 'data_offsets' must be [begin, end], found ", io::detail::json_found(*off));
    const auto begin = static_cast<std::uint64_t>(io::detail::json_int(
        (*off)[0], pre, "data_offsets[0]", 0, std::numeric_limits<std::int64_t>::max(), "a non-negative integer"));
    const auto end = static_cast<std::uint64_t>(io::detail::json_int(
        (*off)[1], pre, "data_offsets[1]", 0, std::numeric_limits<std::int64_t>::max(), "a non-negative integer"));
    if (begin > end) fail(pre, ": data_offsets [", begin, ", ", end, "] has begin > end");
    if (end > data_.size())
      fail(pre, ": data_offsets [", begin, ", ", end, "] run past the end of the data section (", data_.size(),
           " bytes): file truncated?");
    const std::uint64_t have = end - begin;
    if (overflow || numel > std::numeric_limits<std::uint64_t>::max() / item)
      fail(pre, ": shape ", detail::shape_str(t.shape), " of ", t.dtype_str,
           " overflows 64 bits (elements or bytes); data_offsets give ", have, " bytes");
    const std::uint64_t want = numel * item;
    if (want != have)
      fail(pre, ": shape ", detail::shape_str(t.shape), " of ", t.dtype_str, " needs ", want,
           " bytes, but data_offsets [", begin, ", ", end, "] hold ", have, " bytes");
    t.bytes = data_.subspan(static_cast<std::size_t>(begin), static_cast<std::size_t>(have));
    return t;
  }

  // Sorts tensors by offset and rejects any two non-empty byte ranges that intersect.
  void check_overlaps() {
    auto off = [&](const TensorInfo& t) { return static_cast<std::size_t>(t.bytes.data() - data_.data()); };
    std::stable_sort(tensors_.begin(), tensors_.end(), [&](const TensorInfo& a, const TensorInfo& b) {
      return std::pair(off(a), a.bytes.size()) < std::pair(off(b), b.bytes.size());
    });
    const TensorInfo* reach = nullptr;  // the non-empty tensor ending furthest so far
    for (const TensorInfo& t : tensors_) {
      if (t.bytes.empty()) continue;
      if (reach != nullptr && off(t) < off(*reach) + reach->bytes.size())
        fail(where_, ": tensors '", reach->name, "' (bytes ", off(*reach), "..", off(*reach) + reach->bytes.size(),
             ") and '", t.name, "' (bytes ", off(t), "..", off(t) + t.bytes.size(), ") overlap");
      if (reach == nullptr || off(t) + t.bytes.size() > off(*reach) + reach->bytes.size()) reach = &t;
    }
  }

  MappedFile map_;
  std::string where_;
  std::uint64_t header_size_ = 0;
  std::span<const std::byte> data_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::size_t, std::less<>> index_;
  std::map<std::string, std::string> metadata_;
};

// ------------------------------------------------------------------------------------------------------------
// Checkpoint: a model folder

/// A Hugging Face model folder: `model.safetensors`, or shards listed by `model.safetensors.index.json`
/// (`{"weight_map": {"tensor": "model-00001-of-00002.safetensors", ...}}`). One lookup over all files; keeps
/// them mapped. If both exist, model.safetensors is used (as transformers does). A path to a single
/// .safetensors file is accepted too.
class Checkpoint {
 public:
  Checkpoint() = default;

  static Checkpoint open(const std::filesystem::path& dir) {
    namespace fs = std::filesystem;
    Checkpoint c;
    c.dir_ = dir;
    std::error_code ec;
    const auto st = fs::status(dir, ec);
    if (!fs::exists(st)) fail("model folder ", dir.string(), " does not exist");
    if (fs::is_regular_file(st)) {
      c.files_.push_back(SafetensorsFile::open(dir));
      c.index_all_of(0, nullptr);
      return c;
    }
    if (!fs::is_directory(st)) fail("model folder ", dir.string(), " is not a directory");
    const fs::path single = dir / "model.safetensors";
    const fs::path index = dir / "model.safetensors.index.json";
    if (fs::exists(single, ec)) {
      c.files_.push_back(SafetensorsFile::open(single));
      c.index_all_of(0, nullptr);
      return c;
    }
    if (fs::exists(index, ec)) {
      c.open_sharded(index);
      return c;
    }
    std::string others;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      if (e.path().extension() == ".safetensors") others += (others.empty() ? "" : ", ") + e.path().filename().string();
    }
    fail("no safetensors checkpoint in ", dir.string(), ": looked for model.safetensors and model.safetensors.index.json",
         others.empty() ? std::string() : " (found other .safetensors files: " + others + ")");
  }

  const TensorInfo* find(std::string_view name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : it->second;
  }
  const TensorInfo& at(std::string_view name) const {
    const TensorInfo* t = find(name);
    if (t == nullptr)
      fail("tensor '", name, "' not found in checkpoint ", dir_.string(), " (", index_.size(), " tensors in ",
           files_.size(), files_.size() == 1 ? " file)" : " files)");
    return *t;
  }
  bool contains(std::string_view name) const { return find(name) != nullptr; }
  /// All tensor names, sorted.
  std::vector<std::string> names() const { return detail::keys(index_); }
  std::size_t size() const { return index_.size(); }
  const std::vector<SafetensorsFile>& files() const { return files_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  // Adds every tensor of files_[f]; `listed` (sharded case): names already taken from the weight map.
  void index_all_of(std::size_t f, const std::map<std::string, std::string, std::less<>>* listed) {
    for (const TensorInfo& t : files_[f].tensors()) {
      if (listed != nullptr && listed->count(t.name)) continue;  // the weight map decides where it lives
      auto [it, fresh] = index_.emplace(t.name, &t);
      if (!fresh)
        fail("tensor '", t.name, "' is in both ", it->second->file, " and ", t.file,
             " and the index does not say which to use");
    }
  }

  void open_sharded(const std::filesystem::path& index_path) {
    namespace fs = std::filesystem;
    const std::string w = index_path.string();
    const MappedFile m = MappedFile::open(index_path);
    const std::string_view text(reinterpret_cast<const char*>(m.data()), m.size());
    const nlohmann::json j = io::detail::parse_json(text, w, "safetensors index", 16, true);
    if (!j.is_object()) fail(w, ": must be a JSON object, found ", io::detail::json_found(j));
    auto wm = j.find("weight_map");
    if (wm == j.end()) fail(w, ": missing 'weight_map'");
    if (!wm->is_object()) fail(w, ": 'weight_map' must be an object {tensor: shard file}, found ", io::detail::json_found(*wm));
    std::map<std::string, std::string, std::less<>> listed;  // tensor -> shard
    std::map<std::string, std::size_t> shard_ids;            // shard -> files_ Index
    for (const auto& [name, shard] : wm->items()) {
      if (!shard.is_string())
        fail(w, ": weight_map entry '", name, "' must be a shard file name, found ", io::detail::json_found(shard));
      const std::string s = shard.get<std::string>();
      const fs::path p(s);
      bool bad = s.empty() || p.is_absolute();
      for (const auto& part : p) bad = bad || part == "..";
      if (bad) fail(w, ": weight_map entry '", name, "': shard '", s, "' must be a relative path inside the folder");
      listed.emplace(name, s);
      shard_ids.emplace(s, 0);
    }
    if (shard_ids.empty()) fail(w, ": weight_map is empty");
    files_.reserve(shard_ids.size());
    for (auto& [s, id] : shard_ids) {
      const fs::path p = index_path.parent_path() / s;
      std::error_code ec;
      if (!fs::is_regular_file(p, ec)) fail(w, ": shard '", s, "' (", p.string(), ") is missing");
      id = files_.size();
      files_.push_back(SafetensorsFile::open(p));
    }
    for (const auto& [name, s] : listed) {
      const SafetensorsFile& f = files_[shard_ids.at(s)];
      const TensorInfo* t = f.find(name);
      if (t == nullptr) fail(w, ": weight_map puts tensor '", name, "' in ", s, ", but ", f.where(), " has no such tensor");
      index_.emplace(name, t);
    }
    for (std::size_t f = 0; f < files_.size(); ++f) index_all_of(f, &listed);
  }

  std::filesystem::path dir_;
  std::vector<SafetensorsFile> files_;
  std::map<std::string, const TensorInfo*, std::less<>> index_;
};

// ------------------------------------------------------------------------------------------------------------
// Writing

/// One tensor to write, by reference: raw little-endian bytes of `dtype` (a safetensors dtype string) in
/// row-major `shape`, owned by the caller (a mapped checkpoint, a quantized buffer) until the write returns.
struct TensorRef {
  std::string name;
  std::string dtype;
  std::vector<std::int64_t> shape;
  std::span<const std::byte> bytes;
};

/// One tensor to write, owning its bytes.
struct TensorToWrite {
  std::string name;
  std::string dtype;
  std::vector<std::int64_t> shape;
  std::vector<std::byte> bytes;

  /// Typed convenience: T in {float, bf16, f16} sets dtype; values.size() must equal product(shape).
  template <class T>
    requires StorageType<T>
  static TensorToWrite from(std::string name, std::vector<std::int64_t> shape, std::span<const T> values) {
    TensorToWrite t{std::move(name), std::string(dtype_name(dtype_of<T>())), std::move(shape), {}};
    t.bytes.resize(values.size_bytes());
    if (!values.empty()) std::memcpy(t.bytes.data(), values.data(), values.size_bytes());
    return t;
  }
  TensorRef ref() const { return {name, dtype, shape, bytes}; }
};

namespace detail {
/// The header of a safetensors file holding `tensors` in the given order, padded with spaces to a multiple of 8
/// (so that the data section is 8-byte aligned), and the size of the data section. Validates names, dtypes and
/// byte sizes.
inline std::pair<std::string, std::uint64_t> safetensors_header(const std::vector<TensorRef>& tensors,
                                                                const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const TensorRef& t : tensors) {
    TFX_CHECK(t.name != "__metadata__", "write_safetensors: '__metadata__' is reserved and cannot name a tensor");
    TFX_CHECK(!header.contains(t.name), "write_safetensors: tensor '", t.name, "' given twice");
    const std::size_t item = safetensors_itemsize(t.dtype);
    TFX_CHECK(item != 0, "write_safetensors: tensor '", t.name, "': unknown dtype '", t.dtype, "'");
    std::uint64_t numel = 1;
    for (std::int64_t d : t.shape) {
      TFX_CHECK(d >= 0, "write_safetensors: tensor '", t.name, "': negative dimension in shape ", shape_str(t.shape));
      const auto u = static_cast<std::uint64_t>(d);
      TFX_CHECK(u == 0 || numel <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / u,
                "write_safetensors: tensor '", t.name, "': shape ", shape_str(t.shape), " overflows");
      numel *= u;
    }
    TFX_CHECK(numel <= std::numeric_limits<std::uint64_t>::max() / item, "write_safetensors: tensor '", t.name,
              "': shape ", shape_str(t.shape), " overflows");
    TFX_CHECK(numel * item == t.bytes.size(), "write_safetensors: tensor '", t.name, "': shape ", shape_str(t.shape),
              " of ", t.dtype, " needs ", numel * item, " bytes, given ", t.bytes.size());
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  const std::uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return {out + text, offset};
}
inline std::vector<TensorRef> refs(const std::vector<TensorToWrite>& tensors) {
  std::vector<TensorRef> r;
  r.reserve(tensors.size());
  for (const TensorToWrite& t : tensors) r.push_back(t.ref());
  return r;
}
}  // namespace detail

/// The bytes of a safetensors file holding `tensors` in the given order (header padded with spaces to a
/// multiple of 8, so that the data section is 8-byte aligned). Validates names, dtypes and byte sizes.
inline std::vector<std::byte> serialize_safetensors(const std::vector<TensorToWrite>& tensors,
                                                    const std::map<std::string, std::string>& metadata = {}) {
  const auto [header, data] = detail::safetensors_header(detail::refs(tensors), metadata);
  std::vector<std::byte> out(header.size() + data);
  std::memcpy(out.data(), header.data(), header.size());
  std::size_t at = header.size();
  for (const TensorToWrite& t : tensors) {
    if (!t.bytes.empty()) std::memcpy(out.data() + at, t.bytes.data(), t.bytes.size());
    at += t.bytes.size();
  }
  return out;
}

/// Writes `tensors` to `path` in the safetensors format, streaming each tensor's bytes (nothing is copied).
inline void write_safetensors(const std::filesystem::path& path, const std::vector<TensorRef>& tensors,
                              const std::map<std::string, std::string>& metadata = {}) {
  const auto header = detail::safetensors_header(tensors, metadata).first;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail("write_safetensors: cannot create ", path.string(), ": ", std::strerror(errno));
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  for (const TensorRef& t : tensors)
    out.write(reinterpret_cast<const char*>(t.bytes.data()), static_cast<std::streamsize>(t.bytes.size()));
  out.close();
  if (!out) fail("write_safetensors: error writing ", path.string());
}
inline void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                              const std::map<std::string, std::string>& metadata = {}) {
  write_safetensors(path, detail::refs(tensors), metadata);
}

}  // namespace tfx::io
