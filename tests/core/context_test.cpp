#include <catch2/catch.hpp>

#include "tfx/core/context.hpp"
#include "tfx/core/error.hpp"

using namespace tfx;

TEST_CASE("Arena keeps earlier spans valid while it grows, then merges", "[arena]") {
  cpu::Arena arena;
  const auto m0 = arena.mark();
  auto a = arena.floats(100);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i);
  auto b = arena.floats(1 << 20);  // larger than the first block: a new block, `a` does not move
  b[0] = 7;
  for (std::size_t i = 0; i < a.size(); ++i) REQUIRE(a[i] == static_cast<float>(i));
  CHECK(reinterpret_cast<std::uintptr_t>(b.data()) % cpu::Arena::alignment == 0);
  arena.release(m0);
  const auto cap = arena.capacity();
  CHECK(cap >= (1u << 20) * sizeof(float));
  {
    cpu::ScratchScope s(arena);  // after the merge the same demand fits in one block: no growth
    s.floats(100);
    s.floats(1 << 20);
  }
  CHECK(arena.capacity() == cap);
}

TEST_CASE("tfx::error carries the message", "[error]") {
  CHECK_THROWS_WITH(tfx::fail("tensor ", "x", ": expected ", 3, ", found ", 4), "tensor x: expected 3, found 4");
  auto check = [](bool ok) { TFX_CHECK(ok, "condition failed at ", 42); };
  CHECK_THROWS_WITH(check(false), "condition failed at 42");
  CHECK_NOTHROW(check(true));
}
