// Non-owning row-major matrix views and a small owning matrix.
#pragma once
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "tfx/core/error.hpp"
#include "tfx/core/memory.hpp"

namespace tfx {

using Index = std::int64_t;

/// A row-major matrix view [rows, cols] with a row stride `ld` (>= cols), in memory space Space. Non-owning.
/// Element access (operator(), row_span) exists for host views only; row() and the slices are address arithmetic.
template <class T, class Space = host_space>
struct Rows {
  using space = Space;
  T* data = nullptr;
  Index rows = 0;
  Index cols = 0;
  Index ld = 0;

  constexpr Rows() = default;
  constexpr Rows(T* d, Index r, Index c) : data(d), rows(r), cols(c), ld(c) {}
  constexpr Rows(T* d, Index r, Index c, Index stride) : data(d), rows(r), cols(c), ld(stride) {}
  /// A view of T is a view of const T.
  template <class U>
    requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>)
  constexpr Rows(Rows<U, Space> o) : data(o.data), rows(o.rows), cols(o.cols), ld(o.ld) {}

  T* row(Index i) const {
    assert(i >= 0 && i < rows);
    return data + i * ld;
  }
  T& operator()(Index i, Index j) const
    requires std::is_same_v<Space, host_space>
  {
    return data[i * ld + j];
  }
  std::span<T> row_span(Index i) const
    requires std::is_same_v<Space, host_space>
  {
    return {row(i), static_cast<std::size_t>(cols)};
  }
  /// Rows [first, first + count).
  Rows slice_rows(Index first, Index count) const { return {data + first * ld, count, cols, ld}; }
  /// Columns [first, first + count) of every row.
  Rows slice_cols(Index first, Index count) const { return {data + first, rows, count, ld}; }
  bool empty() const { return data == nullptr; }
  Index size() const { return rows * cols; }
};

template <class T, class Space = host_space>
using ConstRows = Rows<const T, Space>;

/// An owning row-major matrix, for tests, examples and model buffers.
template <class T>
class Matrix {
 public:
  Matrix() = default;
  Matrix(Index rows, Index cols, T fill = T{}) : rows_(rows), cols_(cols), data_(static_cast<std::size_t>(rows * cols), fill) {}
  Matrix(Index rows, Index cols, std::vector<T> data) : rows_(rows), cols_(cols), data_(std::move(data)) {
    TFX_CHECK(rows >= 0 && cols >= 0 && static_cast<Index>(data_.size()) == rows * cols, "Matrix: ", data_.size(),
              " values for a [", rows, ", ", cols, "] matrix");
  }
  Rows<T> view() { return {data_.data(), rows_, cols_}; }
  Rows<const T> view() const { return {data_.data(), rows_, cols_}; }
  Rows<const T> cview() const { return view(); }
  T& operator()(Index i, Index j) { return data_[static_cast<std::size_t>(i * cols_ + j)]; }
  const T& operator()(Index i, Index j) const { return data_[static_cast<std::size_t>(i * cols_ + j)]; }
  Index rows() const { return rows_; }
  Index cols() const { return cols_; }
  T* data() { return data_.data(); }
  const T* data() const { return data_.data(); }
  std::vector<T>& storage() { return data_; }
  const std::vector<T>& storage() const { return data_; }

 private:
  Index rows_ = 0, cols_ = 0;
  std::vector<T> data_;
};

}  // namespace tfx
