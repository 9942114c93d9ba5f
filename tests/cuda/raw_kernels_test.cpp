// The CUDA backend's raw kernels against their CPU reference twins (backend/cpu/scalar/), on awkward sizes and
// strides, random inputs in [-1, 1] from fixed seeds. Output buffers start with the same sentinel on both sides
// and are compared whole, so a kernel that writes outside its rows / columns fails too.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "tfx/backend/cpu/scalar/attention.hpp"
#include "tfx/backend/cpu/scalar/elementwise.hpp"
#include "tfx/backend/cpu/scalar/embedding.hpp"
#include "tfx/backend/cpu/scalar/linear.hpp"
#include "tfx/backend/cpu/scalar/memory.hpp"
#include "tfx/backend/cpu/scalar/norm.hpp"
#include "tfx/backend/cpu/scalar/rope.hpp"
#include "tfx/backend/cpu/scalar/softmax.hpp"
#include "tfx/backend/cuda/raw.hpp"
#include "tfx/core/dtype.hpp"
#include "tfx/core/error.hpp"

namespace {

namespace raw = tfx::cuda::raw;
using tfx::Index;
using tfx::Rows;

/// A stream for one test, destroyed at the end.
struct Stream {
  void* s = raw::stream_create();
  Stream() = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() { raw::stream_destroy(s); }
};

/// n elements of T in device memory.
template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t n) : n_(n), p_(static_cast<T*>(raw::malloc(n * sizeof(T)))) {}
  DeviceBuffer(const std::vector<T>& host, void* stream) : DeviceBuffer(host.size()) { upload(host, stream); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { raw::free(p_); }

  void upload(const std::vector<T>& host, void* stream) {
    REQUIRE(host.size() == n_);
    raw::copy_to_device(p_, host.data(), n_ * sizeof(T), stream);
    raw::stream_synchronize(stream);
  }
  std::vector<T> download(void* stream) const {
    std::vector<T> host(n_);
    raw::copy_to_host(host.data(), p_, n_ * sizeof(T), stream);
    raw::stream_synchronize(stream);
    return host;
  }
  T* get() const { return p_; }
  std::size_t size() const { return n_; }

 private:
  std::size_t n_;
  T* p_;
};

std::vector<float> random_floats(std::size_t n, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

template <class T>
std::vector<T> to_storage(const std::vector<float>& v) {
  std::vector<T> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = tfx::from_float<T>(v[i]);
  return out;
}

/// max |got - want| <= tol * (1 + max |want|), and NaN exactly where the reference has NaN.
void require_close(const std::vector<float>& got, const std::vector<float>& want, double tol, const std::string& what) {
  REQUIRE(got.size() == want.size());
  double max_ref = 0, max_diff = 0;
  std::size_t worst = 0, nan_mismatch = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (std::isnan(got[i]) != std::isnan(want[i])) {
      ++nan_mismatch;
      continue;
    }
    if (std::isnan(want[i])) continue;
    max_ref = std::max(max_ref, std::fabs(static_cast<double>(want[i])));
    if (std::isinf(want[i]) || std::isinf(got[i])) {
      if (got[i] != want[i]) ++nan_mismatch;
      continue;
    }
    const double d = std::fabs(static_cast<double>(got[i]) - static_cast<double>(want[i]));
    if (d > max_diff) max_diff = d, worst = i;
  }
  INFO(what << ": max |diff| " << max_diff << " at " << worst << " (got " << (got.empty() ? 0.f : got[worst])
            << ", want " << (want.empty() ? 0.f : want[worst]) << "), max |ref| " << max_ref
            << ", NaN / inf mismatches " << nan_mismatch);
  CHECK(nan_mismatch == 0);
  CHECK(max_diff <= tol * (1 + max_ref));
}

template <class T>
void require_equal_bits(const std::vector<T>& got, const std::vector<T>& want, const std::string& what) {
  REQUIRE(got.size() == want.size());
  std::size_t bad = 0, first = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    bool same;
    if constexpr (std::is_same_v<T, float>) same = std::memcmp(&got[i], &want[i], sizeof(float)) == 0;
    else same = got[i].bits == want[i].bits;
    if (!same && bad++ == 0) first = i;
  }
  INFO(what << ": " << bad << " elements differ, the first at " << first);
  CHECK(bad == 0);
}

template <class F>
void for_each_type(F&& f) {
  f(float{});
  f(tfx::bf16{});
  f(tfx::f16{});
}

constexpr float kSentinel = 7.25f;
constexpr double kTol = 1e-4;

}  // namespace

TEST_CASE("cuda raw: device and runtime", "[cuda]") {
  REQUIRE(raw::device_count() > 0);
  const std::string d = raw::device_description(0);
  INFO(d);
  CHECK(d.find("sm_") != std::string::npos);
  raw::set_device(0);

  Stream st;
  std::mt19937 rng(1);
  const std::vector<float> a = random_floats(1000, rng);
  DeviceBuffer<float> da(a, st.s), db(a.size());
  raw::copy_device(db.get(), da.get(), a.size() * sizeof(float), st.s);
  require_equal_bits(db.download(st.s), a, "copy_device");

  void* pinned = raw::host_malloc_pinned(a.size() * sizeof(float));
  raw::copy_to_host(pinned, da.get(), a.size() * sizeof(float), st.s);
  raw::stream_synchronize(st.s);
  CHECK(std::memcmp(pinned, a.data(), a.size() * sizeof(float)) == 0);
  raw::host_free_pinned(pinned);

  void* e0 = raw::event_create();
  void* e1 = raw::event_create();
  raw::event_record(e0, st.s);
  raw::add(st.s, db.get(), 1000, da.get(), 1000, 1, 1000);
  raw::event_record(e1, st.s);
  CHECK(raw::event_elapsed_ms(e0, e1) >= 0.0f);
  raw::event_destroy(e0);
  raw::event_destroy(e1);
  void* blas = raw::blas_create(st.s);
  raw::blas_destroy(blas);
}

TEST_CASE("cuda raw: errors throw tfx::error", "[cuda]") {
  Stream st;
  CHECK_THROWS_AS(raw::malloc(std::size_t{1} << 50), tfx::error);
  CHECK_THROWS_AS(raw::set_device(100000), tfx::error);
  CHECK_THROWS_AS(raw::device_description(-1), tfx::error);
  // attention: head_dim beyond the kernels', heads not a multiple of kv heads
  CHECK_THROWS_AS(raw::attention(st.s, nullptr, 300, 1, nullptr, nullptr, tfx::dtype::f32, 1, 300, 1, 1, 300, 1.f,
                                 true, 0, 0, nullptr, 300, nullptr),
                  tfx::error);
  CHECK_THROWS_AS(raw::attention(st.s, nullptr, 64, 1, nullptr, nullptr, tfx::dtype::f32, 1, 64, 8, 3, 8, 1.f, true,
                                 0, 0, nullptr, 64, nullptr),
                  tfx::error);
  // the decode path without its workspace
  REQUIRE(raw::attention_workspace(1, 3000, 8, 64) > 0);
  CHECK_THROWS_AS(raw::attention(st.s, nullptr, 512, 1, nullptr, nullptr, tfx::dtype::f32, 3000, 3000 * 64, 8, 2, 64,
                                 1.f, true, 2999, 0, nullptr, 512, nullptr),
                  tfx::error);
  // bf16 linear without its workspace; ldw below the stored row width
  void* blas = raw::blas_create(st.s);
  CHECK_THROWS_AS(raw::linear(blas, st.s, nullptr, 16, 2, nullptr, tfx::dtype::bf16, false, 4, 16, 16, nullptr,
                              nullptr, 4, nullptr),
                  tfx::error);
  CHECK_THROWS_AS(raw::linear(blas, st.s, nullptr, 16, 2, nullptr, tfx::dtype::f32, false, 4, 16, 8, nullptr,
                              nullptr, 4, nullptr),
                  tfx::error);
  raw::blas_destroy(blas);
  // the runtime still works after the failures
  DeviceBuffer<float> b(std::vector<float>(10, 1.f), st.s);
  raw::add(st.s, b.get(), 10, b.get(), 10, 1, 10);
  CHECK(b.download(st.s)[9] == 2.f);
}

TEST_CASE("cuda raw: embedding", "[cuda]") {
  Stream st;
  tfx::cpu::Context ctx;
  std::mt19937 rng(2);
  const Index vocab = 50;
  for_each_type([&]<class T>(T) {
    for (Index dim : {1, 7, 100, 257})
      for (Index n : {1, 3, 17}) {
        const Index ldt = dim + 3, ldo = dim + 5;
        const std::vector<T> table = to_storage<T>(random_floats(static_cast<std::size_t>(vocab * ldt), rng));
        std::vector<std::int32_t> ids(static_cast<std::size_t>(n));
        for (auto& id : ids) id = static_cast<std::int32_t>(rng() % vocab);
        std::vector<float> want(static_cast<std::size_t>(n * ldo), kSentinel);
        tfx::cpu::embedding_impl(tfx::cpu::scalar{}, ctx, std::span<const std::int32_t>(ids),
                                 Rows<const T>(table.data(), vocab, dim, ldt), Rows<float>(want.data(), n, dim, ldo));
        DeviceBuffer<T> dt(table, st.s);
        DeviceBuffer<std::int32_t> di(ids, st.s);
        DeviceBuffer<float> dout(std::vector<float>(want.size(), kSentinel), st.s);
        raw::embedding(st.s, di.get(), n, dt.get(), tfx::dtype_of<T>(), ldt, dim, dout.get(), ldo);
        require_equal_bits(dout.download(st.s), want, "embedding dim " + std::to_string(dim));
      }
  });
}

TEST_CASE("cuda raw: rms_norm and layer_norm", "[cuda]") {
  Stream st;
  tfx::cpu::Context ctx;
  std::mt19937 rng(3);
  for_each_type([&]<class T>(T) {
    for (Index dim : {1, 7, 33, 100, 257, 1000, 4099})
      for (Index rows : {1, 3, 17}) {
        const Index ldx = dim + 3, ldy = dim + 1;
        const std::vector<float> x = random_floats(static_cast<std::size_t>(rows * ldx), rng);
        const std::vector<T> w = to_storage<T>(random_floats(static_cast<std::size_t>(dim), rng));
        const std::vector<T> b = to_storage<T>(random_floats(static_cast<std::size_t>(dim), rng));
        DeviceBuffer<float> dx(x, st.s);
        DeviceBuffer<T> dw(w, st.s), db(b, st.s);
        const tfx::Vector<const T> wv(w.data(), w.size()), bv(b.data(), b.size());
        const std::string tag = std::string(tfx::dtype_name(tfx::dtype_of<T>())) + " dim " + std::to_string(dim) +
                                " rows " + std::to_string(rows);
        for (float offset : {0.0f, 1.0f}) {
          std::vector<float> want(static_cast<std::size_t>(rows * ldy), kSentinel);
          tfx::cpu::rms_norm_impl<T>(tfx::cpu::scalar{}, ctx, Rows<const float>(x.data(), rows, dim, ldx),
                                  wv, 1e-6f, offset, Rows<float>(want.data(), rows, dim, ldy));
          DeviceBuffer<float> dy(std::vector<float>(want.size(), kSentinel), st.s);
          raw::rms_norm(st.s, dx.get(), ldx, rows, dim, dw.get(), tfx::dtype_of<T>(), 1e-6f, offset, dy.get(), ldy);
          require_close(dy.download(st.s), want, kTol, "rms_norm " + tag);
        }
        {  // in place
          std::vector<float> want = x;
          tfx::cpu::rms_norm_impl<T>(tfx::cpu::scalar{}, ctx, Rows<const float>(x.data(), rows, dim, ldx),
                                  wv, 1e-5f, 0.0f, Rows<float>(want.data(), rows, dim, ldx));
          DeviceBuffer<float> dz(x, st.s);
          raw::rms_norm(st.s, dz.get(), ldx, rows, dim, dw.get(), tfx::dtype_of<T>(), 1e-5f, 0.0f, dz.get(), ldx);
          require_close(dz.download(st.s), want, kTol, "rms_norm in place " + tag);
        }
        for (bool with_beta : {false, true}) {
          std::vector<float> want(static_cast<std::size_t>(rows * ldy), kSentinel);
          tfx::cpu::layer_norm_impl<T>(tfx::cpu::scalar{}, ctx, Rows<const float>(x.data(), rows, dim, ldx),
                                    wv, with_beta ? bv : tfx::Vector<const T>(),
                                    1e-5f, Rows<float>(want.data(), rows, dim, ldy));
          DeviceBuffer<float> dy(std::vector<float>(want.size(), kSentinel), st.s);
          raw::layer_norm(st.s, dx.get(), ldx, rows, dim, dw.get(), with_beta ? db.get() : nullptr,
                          tfx::dtype_of<T>(), 1e-5f, dy.get(), ldy);
          require_close(dy.download(st.s), want, kTol, "layer_norm " + tag + (with_beta ? " beta" : ""));
        }
        {  // layer_norm in place
          std::vector<float> want = x;
          tfx::cpu::layer_norm_impl<T>(tfx::cpu::scalar{}, ctx, Rows<const float>(x.data(), rows, dim, ldx),
                                    wv, bv, 1e-5f,
                                    Rows<float>(want.data(), rows, dim, ldx));
          DeviceBuffer<float> dz(x, st.s);
          raw::layer_norm(st.s, dz.get(), ldx, rows, dim, dw.get(), db.get(), tfx::dtype_of<T>(), 1e-5f, dz.get(),
                          ldx);
          require_close(dz.download(st.s), want, kTol, "layer_norm in place " + tag);
        }
      }
  });
}

TEST_CASE("cuda raw: activations and add", "[cuda]") {
  Stream st;
  tfx::cpu::Context ctx;
  std::mt19937 rng(4);
  for (tfx::activation act : {tfx::activation::silu, tfx::activation::gelu_erf, tfx::activation::gelu_tanh,
                              tfx::activation::relu})
    for (Index cols : {1, 33, 1000})
      for (Index rows : {1, 3, 17}) {
        const Index ld = cols + 5, ldu = cols + 2;
        const std::string tag = "act " + std::to_string(static_cast<int>(act)) + " [" + std::to_string(rows) + ", " +
                                std::to_string(cols) + "]";
        const std::vector<float> x = random_floats(static_cast<std::size_t>(rows * ld), rng, -6.0f, 6.0f);
        const std::vector<float> up = random_floats(static_cast<std::size_t>(rows * ldu), rng);
        {
          std::vector<float> want = x;
          tfx::cpu::activation_impl(tfx::cpu::scalar{}, ctx, Rows<float>(want.data(), rows, cols, ld), act);
          DeviceBuffer<float> dx(x, st.s);
          raw::activation(st.s, dx.get(), ld, rows, cols, act);
          require_close(dx.download(st.s), want, kTol, "activation " + tag);
        }
        {
          std::vector<float> want = x;
          tfx::cpu::gated_activation_impl(tfx::cpu::scalar{}, ctx, Rows<float>(want.data(), rows, cols, ld),
                                          Rows<const float>(up.data(), rows, cols, ldu), act);
          DeviceBuffer<float> dg(x, st.s), du(up, st.s);
          raw::gated_activation(st.s, dg.get(), ld, du.get(), ldu, rows, cols, act);
          require_close(dg.download(st.s), want, kTol, "gated_activation " + tag);
        }
        if (act == tfx::activation::silu) {
          std::vector<float> want = x;
          tfx::cpu::add_impl(tfx::cpu::scalar{}, ctx, Rows<float>(want.data(), rows, cols, ld),
                             Rows<const float>(up.data(), rows, cols, ldu));
          DeviceBuffer<float> dy(x, st.s), du(up, st.s);
          raw::add(st.s, dy.get(), ld, du.get(), ldu, rows, cols);
          require_equal_bits(dy.download(st.s), want, "add " + tag);
        }
      }
}

TEST_CASE("cuda raw: softmax", "[cuda]") {
  Stream st;
  tfx::cpu::Context ctx;
  std::mt19937 rng(5);
  const float inf = std::numeric_limits<float>::infinity();
  for (Index cols : {1, 7, 1000, 4099})
    for (Index rows : {1, 3, 17})
      for (float temperature : {1.0f, 0.7f}) {
        const Index ld = cols + 3;
        std::vector<float> x = random_floats(static_cast<std::size_t>(rows * ld), rng, -8.0f, 8.0f);
        for (Index r = 0; r < rows; ++r)  // some masked entries; the last row of several is all masked
          for (Index c = 0; c < cols; ++c)
            if ((rows > 1 && r == rows - 1) || (c % 5 == 3)) x[static_cast<std::size_t>(r * ld + c)] = -inf;
        std::vector<float> want = x;
        tfx::cpu::softmax_impl(tfx::cpu::scalar{}, ctx, Rows<float>(want.data(), rows, cols, ld), temperature);
        DeviceBuffer<float> dx(x, st.s);
        raw::softmax(st.s, dx.get(), ld, rows, cols, temperature);
        require_close(dx.download(st.s), want, kTol,
                      "softmax [" + std::to_string(rows) + ", " + std::to_string(cols) + "]");
      }
}

TEST_CASE("cuda raw: rope_table and rope", "[cuda]") {
  Stream st;
  tfx::cpu::Context ctx;
  std::mt19937 rng(6);
  for (int head_dim : {40, 64, 128})
    for (int rotary : {head_dim, head_dim / 2}) {
      const Index half = rotary / 2;
      std::vector<float> inv_freq(static_cast<std::size_t>(half));
      for (Index j = 0; j < half; ++j)
        inv_freq[static_cast<std::size_t>(j)] =
            static_cast<float>(1.0 / std::pow(1e6, 2.0 * static_cast<double>(j) / static_cast<double>(rotary)));
      DeviceBuffer<float> dfreq(inv_freq, st.s);
      for (Index start : {0, 5, 100000})
        for (Index rows : {1, 3, 17})
          for (float scaling : {1.0f, 1.25f}) {
            const std::string tag = "head_dim " + std::to_string(head_dim) + " half " + std::to_string(half) +
                                    " start " + std::to_string(start) + " rows " + std::to_string(rows);
            std::vector<std::int64_t> positions(static_cast<std::size_t>(rows));
            for (Index t = 0; t < rows; ++t) positions[static_cast<std::size_t>(t)] = start + t;
            std::vector<float> cos_want(static_cast<std::size_t>(rows * half)), sin_want(cos_want.size());
            tfx::cpu::rope_table_impl(tfx::cpu::scalar{}, ctx, positions, inv_freq, scaling,
                                      Rows<float>(cos_want.data(), rows, half),
                                      Rows<float>(sin_want.data(), rows, half));
            DeviceBuffer<float> dcos(cos_want.size()), dsin(sin_want.size());
            raw::rope_table(st.s, dfreq.get(), half, start, rows, scaling, dcos.get(), dsin.get());
            const std::vector<float> cos_got = dcos.download(st.s), sin_got = dsin.download(st.s);
            require_close(cos_got, cos_want, 2e-6, "rope_table cos " + tag);
            require_close(sin_got, sin_want, 2e-6, "rope_table sin " + tag);

            // rope with the reference table on both sides
            const int heads = 3;
            const Index ld = heads * head_dim + 7;
            const std::vector<float> x = random_floats(static_cast<std::size_t>(rows * ld), rng);
            for (tfx::rope_layout layout : {tfx::rope_layout::half_split, tfx::rope_layout::interleaved}) {
              std::vector<float> want = x;
              tfx::cpu::rope_impl(tfx::cpu::scalar{}, ctx, Rows<float>(want.data(), rows, heads * head_dim, ld), heads,
                                  head_dim,
                                  tfx::RopeTable{Rows<const float>(cos_want.data(), rows, half),
                                                 Rows<const float>(sin_want.data(), rows, half)},
                                  layout);
              DeviceBuffer<float> dx(x, st.s);
              dcos.upload(cos_want, st.s);
              dsin.upload(sin_want, st.s);
              raw::rope(st.s, dx.get(), ld, rows, heads, head_dim, dcos.get(), dsin.get(), half, layout);
              require_close(dx.download(st.s), want, kTol,
                            "rope " + tag + (layout == tfx::rope_layout::half_split ? " half_split" : " interleaved"));
            }
          }
    }
}

TEST_CASE("cuda raw: kv_append", "[cuda]") {
  Stream st;
  tfx::cpu::Context ctx;
  std::mt19937 rng(7);
  for_each_type([&]<class T>(T) {
    for (int head_dim : {40, 128})
      for (Index n : {1, 3, 17}) {
        const int kv_heads = 2;
        const Index capacity = 64, pos = 5, head_stride = capacity * head_dim;
        const Index ldk = kv_heads * head_dim + 3, ldv = kv_heads * head_dim + 9;
        const std::vector<float> k = random_floats(static_cast<std::size_t>(n * ldk), rng);
        const std::vector<float> v = random_floats(static_cast<std::size_t>(n * ldv), rng);
        const std::vector<T> init = to_storage<T>(random_floats(static_cast<std::size_t>(kv_heads * head_stride), rng));
        std::vector<T> kw = init, vw = init;
        tfx::cpu::kv_append_impl(tfx::cpu::scalar{}, ctx,
                                 tfx::KvSlots<>{kw.data(), vw.data(), pos, head_stride, kv_heads, head_dim,
                                                tfx::dtype_of<T>()},
                                 Rows<const float>(k.data(), n, kv_heads * head_dim, ldk),
                                 Rows<const float>(v.data(), n, kv_heads * head_dim, ldv));
        DeviceBuffer<T> dkc(init, st.s), dvc(init, st.s);
        DeviceBuffer<float> dk(k, st.s), dv(v, st.s);
        raw::kv_append(st.s, dkc.get(), dvc.get(), tfx::dtype_of<T>(), head_stride, kv_heads, head_dim, pos, dk.get(),
                       ldk, dv.get(), ldv, n);
        const std::string tag = std::string(tfx::dtype_name(tfx::dtype_of<T>())) + " head_dim " +
                                std::to_string(head_dim) + " n " + std::to_string(n);
        require_equal_bits(dkc.download(st.s), kw, "kv_append k " + tag);
        require_equal_bits(dvc.download(st.s), vw, "kv_append v " + tag);
      }
  });
}

namespace {

struct AttnCase {
  Index q_len, kv_len, q_offset, window;
  bool causal;
  int heads, kv_heads;
};

template <class T>
void check_attention(const AttnCase& c, int head_dim, std::mt19937& rng, void* stream) {
  tfx::cpu::Context ctx;
  const Index width = static_cast<Index>(c.heads) * head_dim;
  const Index ldq = width + 3, ldo = width + 5, capacity = c.kv_len + 3, head_stride = capacity * head_dim;
  const std::vector<float> q = random_floats(static_cast<std::size_t>(c.q_len * ldq), rng);
  const std::vector<T> kc =
      to_storage<T>(random_floats(static_cast<std::size_t>(c.kv_heads * head_stride), rng));
  const std::vector<T> vc =
      to_storage<T>(random_floats(static_cast<std::size_t>(c.kv_heads * head_stride), rng));
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));

  std::vector<float> want(static_cast<std::size_t>(c.q_len * ldo), kSentinel);
  tfx::SdpaArgs a{};
  a.q = Rows<const float>(q.data(), c.q_len, width, ldq);
  a.kv.k = kc.data();
  a.kv.v = vc.data();
  a.kv.len = c.kv_len;
  a.kv.head_stride = head_stride;
  a.kv.kv_heads = c.kv_heads;
  a.kv.head_dim = head_dim;
  a.kv.type = tfx::dtype_of<T>();
  a.out = Rows<float>(want.data(), c.q_len, width, ldo);
  a.heads = c.heads;
  a.scale = scale;
  a.causal = c.causal;
  a.q_offset = c.q_offset;
  a.window = c.window;
  tfx::cpu::sdpa_impl(tfx::cpu::scalar{}, ctx, a);

  DeviceBuffer<float> dq(q, stream), dout(std::vector<float>(want.size(), kSentinel), stream);
  DeviceBuffer<T> dk(kc, stream), dv(vc, stream);
  const std::size_t ws = raw::attention_workspace(c.q_len, c.kv_len, c.heads, head_dim);
  DeviceBuffer<float> dws(ws);
  raw::attention(stream, dq.get(), ldq, c.q_len, dk.get(), dv.get(), tfx::dtype_of<T>(), c.kv_len, head_stride,
                 c.heads, c.kv_heads, head_dim, scale, c.causal, c.q_offset, c.window, dout.get(), ldo,
                 ws > 0 ? dws.get() : nullptr);
  std::ostringstream tag;
  tag << "attention " << tfx::dtype_name(tfx::dtype_of<T>()) << " head_dim " << head_dim << " q_len " << c.q_len
      << " kv_len " << c.kv_len << " q_offset " << c.q_offset << " window " << c.window << " causal " << c.causal
      << " heads " << c.heads << "/" << c.kv_heads << " workspace " << ws;
  require_close(dout.download(stream), want, kTol, tag.str());
}

}  // namespace

TEST_CASE("cuda raw: attention decode (split keys)", "[cuda]") {
  Stream st;
  std::mt19937 rng(8);
  const std::vector<AttnCase> cases = {
      {1, 1, 0, 0, true, 8, 2},       {1, 33, 32, 0, true, 8, 2},      {1, 1000, 999, 0, true, 8, 2},
      {1, 3000, 2999, 0, true, 8, 2}, {1, 3000, 2999, 7, true, 8, 2},  {1, 3000, 2999, 1000, true, 8, 2},
      {3, 1000, 997, 0, true, 8, 2},  {4, 3000, 2996, 0, true, 16, 1}, {2, 700, 698, 0, false, 8, 8},
      {1, 10, 20, 5, true, 8, 2},  // no visible key: zeros
      {1, 0, 0, 0, true, 8, 2},    // empty cache: zeros
  };
  for_each_type([&]<class T>(T) {
    for (int head_dim : {40, 64, 80, 128})
      for (const AttnCase& c : cases) check_attention<T>(c, head_dim, rng, st.s);
  });
  check_attention<float>({1, 3000, 2999, 0, true, 8, 2}, 256, rng, st.s);
  check_attention<tfx::bf16>({2, 500, 498, 0, true, 4, 2}, 96, rng, st.s);
}

TEST_CASE("cuda raw: attention prefill", "[cuda]") {
  Stream st;
  std::mt19937 rng(9);
  const std::vector<AttnCase> cases = {
      {37, 42, 5, 0, true, 8, 2},   {37, 42, 5, 7, true, 8, 2},    {37, 42, 5, 0, false, 8, 2},
      {37, 1000, 963, 0, true, 8, 2}, {37, 1000, 963, 100, true, 8, 2}, {70, 70, 0, 0, true, 4, 4},
      {5, 5, 0, 0, true, 8, 1},     {37, 42, 5, 3, false, 8, 2},
  };
  for_each_type([&]<class T>(T) {
    for (int head_dim : {40, 64, 80, 128})
      for (const AttnCase& c : cases) check_attention<T>(c, head_dim, rng, st.s);
  });
  check_attention<float>({37, 42, 5, 0, true, 8, 2}, 256, rng, st.s);
  check_attention<tfx::f16>({33, 40, 7, 0, true, 6, 3}, 96, rng, st.s);
}

TEST_CASE("cuda raw: linear", "[cuda]") {
  Stream st;
  tfx::cpu::Context ctx;
  std::mt19937 rng(10);
  void* blas = raw::blas_create(st.s);
  const std::vector<std::pair<Index, Index>> kShapes = {{33, 17}, {256, 300}, {33, 300}, {256, 17}};  // (in, out)
  for_each_type([&]<class T>(T) {
    const tfx::dtype wt = tfx::dtype_of<T>();
    const double tol = wt == tfx::dtype::f32 ? kTol : 1e-3;
    for (bool in_out : {false, true})
      for (bool with_bias : {false, true})
        for (Index rows : {1, 5, 70})
          for (auto [in, out] : kShapes) {
            const Index ldx = in + 3, ldy = out + 2;
            const Index wr = in_out ? in : out, wc = in_out ? out : in, ldw = wc + 5;
            const std::vector<float> x = random_floats(static_cast<std::size_t>(rows * ldx), rng);
            const std::vector<T> w = to_storage<T>(random_floats(static_cast<std::size_t>(wr * ldw), rng));
            const std::vector<float> bias = random_floats(static_cast<std::size_t>(out), rng);
            // the reference multiplies x rounded to the weights' type
            std::vector<float> xr = x;
            for (float& v : xr) v = tfx::to_float(tfx::from_float<T>(v));
            std::vector<float> want(static_cast<std::size_t>(rows * ldy), kSentinel);
            const Rows<const T> wm(w.data(), wr, wc, ldw);
            const std::span<const float> b = with_bias ? std::span<const float>(bias) : std::span<const float>();
            if (in_out)
              tfx::cpu::linear_impl(tfx::cpu::scalar{}, ctx, Rows<const float>(xr.data(), rows, in, ldx),
                                    tfx::Dense<T, tfx::weight_layout::in_out>(wm), b,
                                    Rows<float>(want.data(), rows, out, ldy));
            else
              tfx::cpu::linear_impl(tfx::cpu::scalar{}, ctx, Rows<const float>(xr.data(), rows, in, ldx),
                                    tfx::Dense<T, tfx::weight_layout::out_in>(wm), b,
                                    Rows<float>(want.data(), rows, out, ldy));
            DeviceBuffer<float> dx(x, st.s), db(bias, st.s);
            DeviceBuffer<float> dy(std::vector<float>(want.size(), kSentinel), st.s);
            DeviceBuffer<T> dw(w, st.s);
            DeviceBuffer<std::uint8_t> dws(raw::linear_workspace(rows, in, wt));
            raw::linear(blas, st.s, dx.get(), ldx, rows, dw.get(), wt, in_out, out, in, ldw,
                        with_bias ? db.get() : nullptr, dy.get(), ldy, dws.size() > 0 ? dws.get() : nullptr);
            std::ostringstream tag;
            tag << "linear " << tfx::dtype_name(wt) << (in_out ? " in_out" : " out_in") << (with_bias ? " bias" : "")
                << " rows " << rows << " in " << in << " out " << out;
            require_close(dy.download(st.s), want, tol, tag.str());
          }
  });
  raw::blas_destroy(blas);
}
