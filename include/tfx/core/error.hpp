// tfx::error: the one exception type. Its message says what was wrong and where.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace tfx {

class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... A>
std::string concat(const A&... parts) {
  std::ostringstream s;
  (s << ... << parts);
  return s.str();
}
}  // namespace detail

/// Throws tfx::error with the parts streamed together: fail("tensor ", name, ": expected ", n).
template <class... A>
[[noreturn]] void fail(const A&... parts) {
  throw error(detail::concat(parts...));
}

}  // namespace tfx

/// Validates input from outside; throws tfx::error with the message parts when `cond` is false.
#define TFX_CHECK(cond, ...)                \
  do {                                      \
    if (!(cond)) ::tfx::fail(__VA_ARGS__);  \
  } while (0)
