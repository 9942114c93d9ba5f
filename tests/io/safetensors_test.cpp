// Tests of tfx/io/safetensors.hpp: round trips, sharded folders, and one test per kind of bad input.
#include "tfx/io/safetensors.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "io_test_util.hpp"

using Catch::Contains;
using tfx::io::Checkpoint;
using tfx::io::MappedFile;
using tfx::io::SafetensorsFile;
using tfx::io::TensorInfo;
using tfx::io::TensorToWrite;
using tfx_io_test::raw_safetensors;
using tfx_io_test::TempDir;

namespace {

template <class T>
std::vector<T> convert(const std::vector<float>& v) {
  std::vector<T> out;
  for (float f : v) out.push_back(tfx::from_float<T>(f));
  return out;
}

// Three float tensors, a non-float one, a scalar and an empty one; values exact in bf16 and f16.
std::vector<TensorToWrite> sample_tensors() {
  const std::vector<float> a = {1.0f, -2.5f, 3.25f, 0.0f, 0.0078125f, -1024.0f};
  const std::vector<float> b = {0.5f, -0.75f, 8.0f, 1.5f};
  const std::vector<float> c = {2.0f, -3.0f, 0.125f, 100.0f};
  std::vector<TensorToWrite> t;
  t.push_back(TensorToWrite::from<float>("model.a", {2, 3}, a));
  t.push_back(TensorToWrite::from<tfx::f16>("model.b", {4}, convert<tfx::f16>(b)));
  t.push_back(TensorToWrite::from<tfx::bf16>("model.c", {2, 2}, convert<tfx::bf16>(c)));
  std::vector<std::byte> ids(3 * 8);
  for (int i = 0; i < 3; ++i) {
    const std::int64_t v = 1000 + i;
    std::memcpy(ids.data() + 8 * i, &v, 8);
  }
  t.push_back(TensorToWrite{"ids", "I64", {3}, ids});
  t.push_back(TensorToWrite::from<float>("scalar", {}, std::vector<float>{42.0f}));
  t.push_back(TensorToWrite::from<float>("empty", {0, 5}, std::vector<float>{}));
  return t;
}

SafetensorsFile parse(const std::vector<std::byte>& bytes) { return SafetensorsFile::from_bytes(bytes, "mem.safetensors"); }

SafetensorsFile parse_header(const std::string& header, std::size_t data_size) {
  static std::vector<std::byte> keep;  // from_bytes does not copy
  keep = raw_safetensors(header, data_size);
  return SafetensorsFile::from_bytes(keep, "raw.safetensors");
}

void check_sample(const SafetensorsFile& f) {
  REQUIRE(f.size() == 6);
  REQUIRE(f.names() == std::vector<std::string>{"empty", "ids", "model.a", "model.b", "model.c", "scalar"});

  const TensorInfo& a = f.at("model.a");
  CHECK(a.dtype_str == "F32");
  CHECK(a.dtype == tfx::dtype::f32);
  CHECK(a.shape == std::vector<std::int64_t>{2, 3});
  CHECK(a.numel() == 6);
  CHECK(a.bytes.size() == 24);
  const tfx::Rows<const float> ma = tfx::io::matrix<float>(a);
  REQUIRE(ma.rows == 2);
  REQUIRE(ma.cols == 3);
  CHECK(ma(0, 0) == 1.0f);
  CHECK(ma(0, 1) == -2.5f);
  CHECK(ma(0, 2) == 3.25f);
  CHECK(ma(1, 1) == 0.0078125f);
  CHECK(ma(1, 2) == -1024.0f);

  const TensorInfo& b = f.at("model.b");
  CHECK(b.dtype == tfx::dtype::f16);
  const auto mb = tfx::io::matrix<tfx::f16>(b);
  REQUIRE(mb.rows == 1);
  REQUIRE(mb.cols == 4);
  CHECK(tfx::to_float(mb(0, 0)) == 0.5f);
  CHECK(tfx::to_float(mb(0, 1)) == -0.75f);
  CHECK(tfx::to_float(mb(0, 2)) == 8.0f);
  CHECK(tfx::to_float(mb(0, 3)) == 1.5f);

  const TensorInfo& c = f.at("model.c");
  CHECK(c.dtype == tfx::dtype::bf16);
  const auto mc = tfx::io::matrix<tfx::bf16>(c, 2, 2);
  CHECK(tfx::to_float(mc(0, 0)) == 2.0f);
  CHECK(tfx::to_float(mc(0, 1)) == -3.0f);
  CHECK(tfx::to_float(mc(1, 0)) == 0.125f);
  CHECK(tfx::to_float(mc(1, 1)) == 100.0f);

  const TensorInfo& ids = f.at("ids");
  CHECK(ids.dtype_str == "I64");
  CHECK_FALSE(ids.dtype.has_value());
  std::int64_t v = 0;
  std::memcpy(&v, ids.bytes.data() + 16, 8);
  CHECK(v == 1002);

  const TensorInfo& s = f.at("scalar");
  CHECK(s.shape.empty());
  CHECK(s.numel() == 1);
  const auto ms = tfx::io::matrix<float>(s);
  CHECK(ms.rows == 1);
  CHECK(ms.cols == 1);
  CHECK(ms(0, 0) == 42.0f);

  const TensorInfo& e = f.at("empty");
  CHECK(e.numel() == 0);
  CHECK(e.bytes.empty());
  const auto me = tfx::io::matrix<float>(e);
  CHECK(me.rows == 0);
  CHECK(me.cols == 5);
  CHECK(me.data == nullptr);

  CHECK(f.find("nope") == nullptr);
  CHECK(f.find("model.a") == &a);
  CHECK(f.contains("model.c"));
  CHECK(f.header_size() % 8 == 0);
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Round trips

TEST_CASE("safetensors: writer -> reader round trip through a file (F32, F16, BF16, I64, scalar, empty)", "[io][safetensors]") {
  TempDir dir;
  const auto path = dir / "model.safetensors";
  tfx::io::write_safetensors(path, sample_tensors(), {{"format", "pt"}, {"note", "tfx test"}});
  const SafetensorsFile f = SafetensorsFile::open(path);
  check_sample(f);
  CHECK(f.where() == path.string());
  CHECK(f.at("model.a").file == path.string());
  REQUIRE(f.metadata().size() == 2);
  CHECK(f.metadata().at("format") == "pt");
  CHECK(f.metadata().at("note") == "tfx test");
}

TEST_CASE("safetensors: from_bytes parses the same image as open", "[io][safetensors]") {
  const std::vector<std::byte> bytes = tfx::io::serialize_safetensors(sample_tensors());
  const SafetensorsFile f = parse(bytes);
  check_sample(f);
  CHECK(f.metadata().empty());
  CHECK(f.where() == "mem.safetensors");
  // Zero copy: the views point into the caller's buffer.
  CHECK(f.at("model.a").bytes.data() >= bytes.data());
  CHECK(f.at("model.a").bytes.data() < bytes.data() + bytes.size());
  CHECK(f.data().size() == bytes.size() - 8 - f.header_size());
}

TEST_CASE("safetensors: the writer's exact layout", "[io][safetensors]") {
  const std::vector<float> one = {1.0f};
  const auto bytes = tfx::io::serialize_safetensors({TensorToWrite::from<float>("w", {1}, one)});
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  REQUIRE(n % 8 == 0);
  const std::string header(reinterpret_cast<const char*>(bytes.data()) + 8, n);
  CHECK(header.rfind(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 0) == 0);
  CHECK(header.find_first_not_of(' ', 54) == std::string::npos);  // padded with spaces
  REQUIRE(bytes.size() == 8 + n + 4);
  float v = 0;
  std::memcpy(&v, bytes.data() + 8 + n, 4);
  CHECK(v == 1.0f);
}

TEST_CASE("safetensors: moving files and mappings keeps views valid", "[io][safetensors]") {
  TempDir dir;
  const auto path = dir / "m.safetensors";
  tfx::io::write_safetensors(path, sample_tensors());
  SafetensorsFile f = SafetensorsFile::open(path);
  const TensorInfo* a = f.find("model.a");
  const float* p = tfx::io::matrix<float>(*a).data;
  SafetensorsFile g = std::move(f);
  CHECK(g.find("model.a") == a);
  CHECK(tfx::io::matrix<float>(g.at("model.a")).data == p);
  std::vector<SafetensorsFile> v;
  v.push_back(std::move(g));
  v.emplace_back();
  v.emplace_back();
  check_sample(v[0]);

  MappedFile m = MappedFile::open(path);
  const std::byte* d = m.data();
  MappedFile m2 = std::move(m);
  CHECK(m2.data() == d);
  CHECK_FALSE(m.is_mapped());  // NOLINT(bugprone-use-after-move): moved-from is empty
  CHECK(m2.size() == std::filesystem::file_size(path));
  m = std::move(m2);
  CHECK(m.data() == d);
}

TEST_CASE("safetensors: a header with gaps, trailing data and extra entry keys is accepted", "[io][safetensors]") {
  const auto f = parse_header(
      R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[4,6],"extra":1},"b":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}})",
      16);
  CHECK(f.size() == 2);
  CHECK(f.tensors()[0].name == "b");  // data-offset order
  CHECK(f.at("a").bytes.size() == 2);
  CHECK(static_cast<int>(f.at("a").bytes[0]) == 4);
}

TEST_CASE("safetensors: every known dtype has its size", "[io][safetensors]") {
  const std::pair<const char*, int> known[] = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
                                               {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U8", 1},   {"BOOL", 1},
                                               {"F8_E4M3", 1}, {"F8_E5M2", 1}, {"U16", 2}, {"U32", 4}, {"U64", 8}};
  for (const auto& [name, size] : known) {
    CAPTURE(name);
    CHECK(tfx::io::safetensors_itemsize(name) == static_cast<std::size_t>(size));
    const std::string header = std::string(R"({"t":{"dtype":")") + name + R"(","shape":[3],"data_offsets":[0,)" +
                               std::to_string(3 * size) + "]}}";
    CHECK(parse_header(header, 3 * static_cast<std::size_t>(size)).at("t").bytes.size() == 3u * static_cast<unsigned>(size));
  }
  CHECK(tfx::io::safetensors_itemsize("F4") == 0);
  CHECK(tfx::io::safetensors_float_dtype("F32") == tfx::dtype::f32);
  CHECK_FALSE(tfx::io::safetensors_float_dtype("F64").has_value());
}

TEST_CASE("safetensors: higher-rank tensors view as (leading dims) x last dim", "[io][safetensors]") {
  std::vector<float> v(24);
  for (int i = 0; i < 24; ++i) v[static_cast<std::size_t>(i)] = static_cast<float>(i);
  const auto bytes = tfx::io::serialize_safetensors({TensorToWrite::from<float>("x", {2, 3, 4}, v)});
  const auto f = parse(bytes);
  const auto m = tfx::io::matrix<float>(f.at("x"));
  CHECK(m.rows == 6);
  CHECK(m.cols == 4);
  CHECK(m(5, 3) == 23.0f);
  REQUIRE_THROWS_WITH(tfx::io::matrix<float>(f.at("x"), 6, 4),
                      Contains("tensor 'x'") && Contains("expected shape [6, 4], found [2, 3, 4]"));
  REQUIRE_THROWS_WITH(tfx::io::check_shape(f.at("x"), {2, 3}), Contains("expected shape [2, 3]"));
  REQUIRE_NOTHROW(tfx::io::check_shape(f.at("x"), {2, 3, 4}));
}

// ---------------------------------------------------------------------------------------------------------------
// Bad files

TEST_CASE("safetensors: truncated files are errors at every cut", "[io][safetensors][errors]") {
  const std::vector<std::byte> good = tfx::io::serialize_safetensors(sample_tensors());
  std::uint64_t n = 0;
  std::memcpy(&n, good.data(), 8);
  const std::size_t header_end = 8 + static_cast<std::size_t>(n);
  REQUIRE_NOTHROW(parse(good));

  for (std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
    CAPTURE(cut);
    const std::vector<std::byte> t(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut));
    REQUIRE_THROWS_WITH(parse(t), Contains("mem.safetensors") && Contains("truncated") &&
                                      Contains("fewer than the 8-byte header length"));
  }
  for (std::size_t cut : {std::size_t{8}, std::size_t{9}, header_end / 2, header_end - 1}) {
    CAPTURE(cut);
    const std::vector<std::byte> t(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut));
    REQUIRE_THROWS_WITH(parse(t), Contains("mem.safetensors") && Contains("header length " + std::to_string(n)) &&
                                      Contains("runs past the end of the file"));
  }
  for (std::size_t cut = header_end; cut < good.size(); cut += 3) {
    CAPTURE(cut);
    const std::vector<std::byte> t(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut));
    REQUIRE_THROWS_WITH(parse(t), Contains("run past the end of the data section") && Contains("truncated"));
  }
  // Truncated on disk, too.
  TempDir dir;
  tfx_io_test::write_file(dir / "cut.safetensors", std::span(good).first(header_end + 5));
  REQUIRE_THROWS_WITH(SafetensorsFile::open(dir / "cut.safetensors"),
                      Contains((dir / "cut.safetensors").string()) && Contains("run past the end of the data section"));
  tfx_io_test::write_file(dir / "empty.safetensors", {});
  REQUIRE_THROWS_WITH(SafetensorsFile::open(dir / "empty.safetensors"), Contains("truncated") && Contains("0 bytes"));
}

TEST_CASE("safetensors: header length past the end of the file", "[io][safetensors][errors]") {
  const std::string header = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})";
  REQUIRE_NOTHROW(SafetensorsFile::from_bytes(raw_safetensors(header, 1), "x"));
  const auto huge = raw_safetensors(header, 1, 0xffffffffffffffffull);
  REQUIRE_THROWS_WITH(SafetensorsFile::from_bytes(huge, "x"),
                      Contains("header length 18446744073709551615 runs past the end of the file"));
  const auto little_over = raw_safetensors(header, 1, header.size() + 2);
  REQUIRE_THROWS_WITH(SafetensorsFile::from_bytes(little_over, "x"), Contains("runs past the end"));
}

TEST_CASE("safetensors: header length over 100 MB is refused before parsing", "[io][safetensors][errors]") {
  TempDir dir;
  const auto path = dir / "big.safetensors";
  const std::uint64_t n = 200'000'000;
  {
    std::vector<std::byte> prefix(8);
    for (int i = 0; i < 8; ++i) prefix[static_cast<std::size_t>(i)] = static_cast<std::byte>((n >> (8 * i)) & 0xff);
    tfx_io_test::write_file(path, prefix);
  }
  std::filesystem::resize_file(path, 8 + n + 16);  // sparse: costs no disk
  REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                      Contains(path.string()) && Contains("header length 200000000 exceeds the limit"));
}

TEST_CASE("safetensors: malformed JSON headers", "[io][safetensors][errors]") {
  REQUIRE_THROWS_WITH(parse_header(R"({"a":{"dtype":"U8",)", 0),
                      Contains("raw.safetensors") && Contains("malformed JSON in safetensors header at byte"));
  REQUIRE_THROWS_WITH(parse_header(R"({"a" "b"})", 0), Contains("malformed JSON"));
  REQUIRE_THROWS_WITH(parse_header("{\"a\xff\":{}}", 0), Contains("malformed JSON"));  // invalid UTF-8
  REQUIRE_THROWS_WITH(parse_header("  ", 0), Contains("malformed JSON"));
  REQUIRE_THROWS_WITH(parse_header("{}{}", 0), Contains("malformed JSON"));
  REQUIRE_THROWS_WITH(parse_header(" ", 0), Contains("header length 1 is too small"));
  REQUIRE_THROWS_WITH(parse_header(R"([1, 2, 3])", 0), Contains("must be a JSON object") && Contains("array"));
  REQUIRE_THROWS_WITH(parse_header(R"("text")", 0), Contains("must be a JSON object"));
  REQUIRE_THROWS_WITH(parse_header(std::string(40, '[') + std::string(40, ']'), 0), Contains("nests deeper than"));
  REQUIRE_THROWS_WITH(parse_header(R"({"__metadata__":{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":{"k":{"l":{"m":{"n":{"o":{"p":1}}}}}}}}}}}}}}}}})", 0),
                      Contains("nests deeper than"));
  REQUIRE_NOTHROW(parse_header("{}", 0));
  REQUIRE_NOTHROW(parse_header("{}      ", 0));  // padding
}

TEST_CASE("safetensors: entries with missing or mistyped fields", "[io][safetensors][errors]") {
  auto hdr = [](const std::string& entry) { return R"({"w":)" + entry + "}"; };
  REQUIRE_THROWS_WITH(parse_header(hdr("[1]"), 8), Contains("tensor 'w'") && Contains("entry must be an object"));
  REQUIRE_THROWS_WITH(parse_header(hdr(R"({"shape":[2],"data_offsets":[0,8]})"), 8),
                      Contains("tensor 'w'") && Contains("missing 'dtype'"));
  REQUIRE_THROWS_WITH(parse_header(hdr(R"({"dtype":4,"shape":[2],"data_offsets":[0,8]})"), 8),
                      Contains("'dtype' must be a string, found number 4"));
  REQUIRE_THROWS_WITH(parse_header(hdr(R"({"dtype":"F32","data_offsets":[0,8]})"), 8), Contains("missing 'shape'"));
  REQUIRE_THROWS_WITH(parse_header(hdr(R"({"dtype":"F32","shape":2,"data_offsets":[0,8]})"), 8),
                      Contains("'shape' must be an array"));
  REQUIRE_THROWS_WITH(parse_header(hdr(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})"), 8),
                      Contains("tensor 'w'") && Contains("field shape") && Contains("non-negative integer") &&
                          Contains("-2"));
  REQUIRE_THROWS_WITH(parse_header(hdr(R"({"dtype":"F32","shape":[2.0],"data_offsets":[0,8]})"), 8),
                      Contains("field shape") && Contains("found number 2.0"));
  REQUIRE_THROWS_WITH(parse_header(hdr(R"({"dtype":"F32","shape":["2"],"data_offsets":[0,8]})"), 8),
                      Contains("field shape") && Contains("found string"));
  REQUIRE_THROWS_WITH(parse_header(hdr(R"({"dtype":"F32","shape":[2]})"), 8), Contains("missing 'data_offsets'"));
  REQUIRE_THROWS_WITH(parse_header(hdr(R"({"dtype":"F32","shape":[2],"data_offsets":[0,4,8]})"), 8),
                      Contains("'data_offsets' must be [begin, end]"));
  REQUIRE_THROWS_WITH(parse_header(hdr(R"({"dtype":"F32","shape":[2],"data_offsets":{"a":1}})"), 8),
                      Contains("'data_offsets' must be [begin, end]"));
  REQUIRE_THROWS_WITH(parse_header(hdr(R"({"dtype":"F32","shape":[2],"data_offsets":[-1,8]})"), 8),
                      Contains("data_offsets[0]") && Contains("non-negative"));
  REQUIRE_THROWS_WITH(parse_header(hdr(R"({"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]})"), 8),
                      Contains("data_offsets[1]"));
  REQUIRE_THROWS_WITH(parse_header(hdr(R"({"dtype":"F32","shape":[0],"data_offsets":[8,0]})"), 8),
                      Contains("data_offsets [8, 0] has begin > end"));
}

TEST_CASE("safetensors: offsets past the end of the data", "[io][safetensors][errors]") {
  REQUIRE_THROWS_WITH(parse_header(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 12),
                      Contains("raw.safetensors") && Contains("tensor 'w'") &&
                          Contains("data_offsets [0, 16] run past the end of the data section (12 bytes)"));
  REQUIRE_THROWS_WITH(parse_header(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[13,13]}})", 12),
                      Contains("run past the end"));
}

TEST_CASE("safetensors: byte size must match shape and dtype", "[io][safetensors][errors]") {
  REQUIRE_THROWS_WITH(parse_header(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", 32),
                      Contains("tensor 'w'") && Contains("shape [2, 3] of F32 needs 24 bytes") &&
                          Contains("hold 20 bytes"));
  REQUIRE_THROWS_WITH(parse_header(R"({"w":{"dtype":"BF16","shape":[3],"data_offsets":[0,8]}})", 32),
                      Contains("needs 6 bytes"));
  REQUIRE_THROWS_WITH(parse_header(R"({"w":{"dtype":"F32","shape":[],"data_offsets":[0,0]}})", 32),
                      Contains("shape [] of F32 needs 4 bytes"));
  // Overflow of the element count or the byte count.
  REQUIRE_THROWS_WITH(
      parse_header(R"({"w":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904],"data_offsets":[0,0]}})", 32),
      Contains("overflows 64 bits"));
  REQUIRE_THROWS_WITH(parse_header(R"({"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}})", 32),
                      Contains("overflows 64 bits"));
  // 2^64 / 4 elements of F32 would wrap to 0 bytes if not checked.
  REQUIRE_THROWS_WITH(parse_header(R"({"w":{"dtype":"F32","shape":[4294967296,1073741824],"data_offsets":[0,0]}})", 32),
                      Contains("overflows 64 bits"));
  // Products are checked in order, as the reference implementation does: a leading zero makes the rest harmless,
  // a trailing one does not.
  const auto z = parse_header(R"({"w":{"dtype":"F32","shape":[0,9223372036854775807,9223372036854775807],"data_offsets":[0,0]}})", 32);
  CHECK(z.at("w").numel() == 0);
  CHECK(tfx::io::matrix<float>(z.at("w")).rows == 0);  // header not padded: empty tensors need no alignment
  REQUIRE_THROWS_WITH(
      parse_header(R"({"w":{"dtype":"F32","shape":[9223372036854775807,9223372036854775807,0],"data_offsets":[0,0]}})", 32),
      Contains("overflows 64 bits"));
  REQUIRE_THROWS_WITH(parse_header(R"({"w":{"dtype":"U8","shape":[2,9223372036854775807,0],"data_offsets":[0,0]}})", 32),
                      Contains("overflows 64 bits"));
}

TEST_CASE("safetensors: overlapping tensors name both", "[io][safetensors][errors]") {
  REQUIRE_THROWS_WITH(
      parse_header(R"({"first":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"second":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})", 32),
      Contains("raw.safetensors") && Contains("'first'") && Contains("'second'") && Contains("overlap"));
  // Contained inside a bigger one, not adjacent in offset order.
  REQUIRE_THROWS_WITH(
      parse_header(R"({"big":{"dtype":"U8","shape":[32],"data_offsets":[0,32]},"mid":{"dtype":"U8","shape":[2],"data_offsets":[4,6]},"late":{"dtype":"U8","shape":[2],"data_offsets":[20,22]}})", 32),
      Contains("'big'") && Contains("'mid'") && Contains("overlap"));
  REQUIRE_THROWS_WITH(
      parse_header(R"({"big":{"dtype":"U8","shape":[32],"data_offsets":[0,32]},"x":{"dtype":"U8","shape":[2],"data_offsets":[30,32]}})", 32),
      Contains("'big'") && Contains("'x'"));
  // Identical ranges overlap too.
  REQUIRE_THROWS_WITH(
      parse_header(R"({"p":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"q":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 32),
      Contains("'p'") && Contains("'q'") && Contains("overlap"));
  // Adjacent and empty tensors do not.
  REQUIRE_NOTHROW(parse_header(
      R"({"p":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"q":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},"z":{"dtype":"U8","shape":[0],"data_offsets":[1,1]}})", 32));
}

TEST_CASE("safetensors: unknown dtype names the tensor and the dtype", "[io][safetensors][errors]") {
  REQUIRE_THROWS_WITH(parse_header(R"({"layer.w":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}})", 8),
                      Contains("raw.safetensors") && Contains("tensor 'layer.w'") && Contains("unknown dtype 'F4'"));
  REQUIRE_THROWS_WITH(parse_header(R"({"w":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}})", 8),
                      Contains("unknown dtype 'f32'"));
}

TEST_CASE("safetensors: duplicate keys are refused", "[io][safetensors][errors]") {
  REQUIRE_THROWS_WITH(
      parse_header(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", 8),
      Contains("key 'w' twice") && Contains("duplicate tensor name"));
  REQUIRE_THROWS_WITH(parse_header(R"({"w":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]}})", 8),
                      Contains("key 'dtype' twice"));
}

TEST_CASE("safetensors: __metadata__ must be a string map", "[io][safetensors][errors]") {
  REQUIRE_THROWS_WITH(parse_header(R"({"__metadata__":{"format":1}})", 0),
                      Contains("__metadata__ entry 'format' must be a string"));
  REQUIRE_THROWS_WITH(parse_header(R"({"__metadata__":[1]})", 0), Contains("__metadata__ must be an object"));
  CHECK(parse_header(R"({"__metadata__":{}})", 0).size() == 0);
}

TEST_CASE("safetensors: a missing tensor names the file and the tensor", "[io][safetensors][errors]") {
  const auto bytes = tfx::io::serialize_safetensors(sample_tensors());
  const auto f = parse(bytes);
  REQUIRE_THROWS_WITH(f.at("lm_head.weight"), Contains("tensor 'lm_head.weight' not found in mem.safetensors"));
}

TEST_CASE("safetensors: typed views check the dtype", "[io][safetensors][errors]") {
  const auto bytes = tfx::io::serialize_safetensors(sample_tensors());
  const auto f = parse(bytes);
  REQUIRE_THROWS_WITH(tfx::io::matrix<tfx::bf16>(f.at("model.a")),
                      Contains("tensor 'model.a' in mem.safetensors") && Contains("expected dtype BF16, found F32"));
  REQUIRE_THROWS_WITH(tfx::io::matrix<float>(f.at("model.b")), Contains("expected dtype F32, found F16"));
  REQUIRE_THROWS_WITH(tfx::io::matrix<tfx::f16>(f.at("model.c")), Contains("expected dtype F16, found BF16"));
  REQUIRE_THROWS_WITH(tfx::io::matrix<float>(f.at("ids")), Contains("cannot view dtype I64 as F32"));
}

TEST_CASE("safetensors: misaligned data is an error, not undefined behaviour", "[io][safetensors][errors]") {
  // An unpadded header of odd length puts the data section at an odd offset.
  std::string header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"h":{"dtype":"BF16","shape":[1],"data_offsets":[8,10]}})";
  while ((8 + header.size()) % 4 != 1) header += ' ';
  std::vector<std::byte> bytes = raw_safetensors(header, 10);  // vector storage is at least 8-aligned
  REQUIRE(reinterpret_cast<std::uintptr_t>(bytes.data()) % 8 == 0);
  const auto f = SafetensorsFile::from_bytes(bytes, "odd.safetensors");
  REQUIRE_THROWS_WITH(tfx::io::matrix<float>(f.at("w")),
                      Contains("tensor 'w' in odd.safetensors") && Contains("not 4-byte aligned for F32"));
  REQUIRE_THROWS_WITH(tfx::io::matrix<tfx::bf16>(f.at("h")), Contains("not 2-byte aligned for BF16"));
  // Byte access still works.
  CHECK(f.at("w").bytes.size() == 8);

  // Same through a real file on disk.
  TempDir dir;
  tfx_io_test::write_file(dir / "odd.safetensors", bytes);
  const auto g = SafetensorsFile::open(dir / "odd.safetensors");
  REQUIRE_THROWS_WITH(tfx::io::matrix<float>(g.at("w")), Contains("not 4-byte aligned"));
}

TEST_CASE("safetensors: the writer validates its input", "[io][safetensors][errors]") {
  const std::vector<float> two = {1.0f, 2.0f};
  REQUIRE_THROWS_WITH(tfx::io::serialize_safetensors({TensorToWrite::from<float>("w", {3}, two)}),
                      Contains("tensor 'w'") && Contains("needs 12 bytes, given 8"));
  REQUIRE_THROWS_WITH(
      tfx::io::serialize_safetensors({TensorToWrite::from<float>("w", {2}, two), TensorToWrite::from<float>("w", {2}, two)}),
      Contains("tensor 'w' given twice"));
  REQUIRE_THROWS_WITH(tfx::io::serialize_safetensors({TensorToWrite{"w", "Q4", {1}, {}}}), Contains("unknown dtype 'Q4'"));
  REQUIRE_THROWS_WITH(tfx::io::serialize_safetensors({TensorToWrite::from<float>("__metadata__", {2}, two)}),
                      Contains("reserved"));
  REQUIRE_THROWS_WITH(tfx::io::serialize_safetensors({TensorToWrite{"w", "F32", {-1}, {}}}), Contains("negative dimension"));
  REQUIRE_THROWS_WITH(tfx::io::serialize_safetensors({TensorToWrite{"w", "F32", {4294967296, 4294967296}, {}}}),
                      Contains("overflows"));
  REQUIRE_THROWS_WITH(tfx::io::serialize_safetensors({TensorToWrite{"w", "F32", {4294967296, 1073741824}, {}}}),
                      Contains("overflows"));
  TempDir dir;
  REQUIRE_THROWS_WITH(tfx::io::write_safetensors(dir / "no" / "such" / "dir.safetensors", std::vector<TensorToWrite>{}), Contains("cannot create"));
}

TEST_CASE("mapped file: missing files and folders", "[io][safetensors][errors]") {
  TempDir dir;
  REQUIRE_THROWS_WITH(MappedFile::open(dir / "absent.safetensors"),
                      Contains("cannot open") && Contains("absent.safetensors") && Contains("No such file"));
  REQUIRE_THROWS_WITH(MappedFile::open(dir.path()), Contains("not a regular file"));
  REQUIRE_THROWS_WITH(SafetensorsFile::open(dir / "absent.safetensors"), Contains("absent.safetensors"));
  tfx_io_test::write_file(dir / "empty", {});
  const MappedFile m = MappedFile::open(dir / "empty");
  CHECK(m.size() == 0);
  CHECK(m.bytes().empty());
}

// ---------------------------------------------------------------------------------------------------------------
// Checkpoint folders

namespace {
std::vector<float> iota(std::size_t n, float start) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = start + static_cast<float>(i);
  return v;
}

// Two shards and an index: embed + layer 0 in shard 1, layer 1 + norm in shard 2.
void write_sharded(const TempDir& dir) {
  tfx::io::write_safetensors(dir / "model-00001-of-00002.safetensors",
                             {TensorToWrite::from<float>("embed", {4, 2}, iota(8, 0)),
                              TensorToWrite::from<float>("layers.0.w", {2, 2}, iota(4, 100))});
  tfx::io::write_safetensors(dir / "model-00002-of-00002.safetensors",
                             {TensorToWrite::from<float>("layers.1.w", {2, 2}, iota(4, 200)),
                              TensorToWrite::from<tfx::bf16>("norm", {2}, convert<tfx::bf16>({1.0f, 2.0f}))});
  tfx_io_test::write_text(dir / "model.safetensors.index.json", R"({
  "metadata": {"total_size": 72},
  "weight_map": {
    "embed": "model-00001-of-00002.safetensors",
    "layers.0.w": "model-00001-of-00002.safetensors",
    "layers.1.w": "model-00002-of-00002.safetensors",
    "norm": "model-00002-of-00002.safetensors"
  }
})");
}
}  // namespace

TEST_CASE("checkpoint: a single model.safetensors", "[io][checkpoint]") {
  TempDir dir;
  tfx::io::write_safetensors(dir / "model.safetensors", sample_tensors());
  const Checkpoint c = Checkpoint::open(dir.path());
  CHECK(c.size() == 6);
  CHECK(c.files().size() == 1);
  CHECK(c.names() == std::vector<std::string>{"empty", "ids", "model.a", "model.b", "model.c", "scalar"});
  CHECK(tfx::io::matrix<float>(c.at("model.a"))(1, 2) == -1024.0f);
  CHECK(c.find("absent") == nullptr);
  REQUIRE_THROWS_WITH(c.at("absent"), Contains("tensor 'absent' not found in checkpoint") && Contains(dir.path().string()));
  // A path to the file itself works too.
  const Checkpoint d = Checkpoint::open(dir / "model.safetensors");
  CHECK(d.size() == 6);
}

TEST_CASE("checkpoint: sharded via model.safetensors.index.json", "[io][checkpoint]") {
  TempDir dir;
  write_sharded(dir);
  Checkpoint c = Checkpoint::open(dir.path());
  CHECK(c.files().size() == 2);
  CHECK(c.names() == std::vector<std::string>{"embed", "layers.0.w", "layers.1.w", "norm"});
  CHECK(tfx::io::matrix<float>(c.at("embed"))(3, 1) == 7.0f);
  CHECK(tfx::io::matrix<float>(c.at("layers.0.w"))(1, 0) == 102.0f);
  CHECK(tfx::io::matrix<float>(c.at("layers.1.w"))(0, 1) == 201.0f);
  CHECK(tfx::to_float(tfx::io::matrix<tfx::bf16>(c.at("norm"))(0, 1)) == 2.0f);
  CHECK(c.at("norm").file == (dir / "model-00002-of-00002.safetensors").string());
  // Moving the checkpoint keeps the lookups valid.
  const TensorInfo* e = c.find("embed");
  Checkpoint moved = std::move(c);
  CHECK(moved.find("embed") == e);
  CHECK(tfx::io::matrix<float>(moved.at("embed"))(0, 1) == 1.0f);
}

TEST_CASE("checkpoint: model.safetensors wins over an index", "[io][checkpoint]") {
  TempDir dir;
  write_sharded(dir);
  tfx::io::write_safetensors(dir / "model.safetensors", {TensorToWrite::from<float>("only", {1}, iota(1, 5))});
  const Checkpoint c = Checkpoint::open(dir.path());
  CHECK(c.names() == std::vector<std::string>{"only"});
}

TEST_CASE("checkpoint: tensors a shard holds but the index omits", "[io][checkpoint]") {
  TempDir dir;
  write_sharded(dir);
  tfx::io::write_safetensors(dir / "model-00002-of-00002.safetensors",
                             {TensorToWrite::from<float>("layers.1.w", {2, 2}, iota(4, 200)),
                              TensorToWrite::from<tfx::bf16>("norm", {2}, convert<tfx::bf16>({1.0f, 2.0f})),
                              TensorToWrite::from<float>("extra", {1}, iota(1, 9))});
  const Checkpoint c = Checkpoint::open(dir.path());
  CHECK(c.contains("extra"));
  // Listed in shard 1 by the index but also present (unlisted) in shard 2: the index decides.
  tfx::io::write_safetensors(dir / "model-00002-of-00002.safetensors",
                             {TensorToWrite::from<float>("layers.1.w", {2, 2}, iota(4, 200)),
                              TensorToWrite::from<tfx::bf16>("norm", {2}, convert<tfx::bf16>({1.0f, 2.0f})),
                              TensorToWrite::from<float>("embed", {1}, iota(1, 9))});
  const Checkpoint d = Checkpoint::open(dir.path());
  CHECK(d.at("embed").shape == std::vector<std::int64_t>{4, 2});
  // Unlisted and in two shards: ambiguous.
  tfx::io::write_safetensors(dir / "model-00001-of-00002.safetensors",
                             {TensorToWrite::from<float>("embed", {4, 2}, iota(8, 0)),
                              TensorToWrite::from<float>("layers.0.w", {2, 2}, iota(4, 100)),
                              TensorToWrite::from<float>("dup", {1}, iota(1, 1))});
  tfx::io::write_safetensors(dir / "model-00002-of-00002.safetensors",
                             {TensorToWrite::from<float>("layers.1.w", {2, 2}, iota(4, 200)),
                              TensorToWrite::from<tfx::bf16>("norm", {2}, convert<tfx::bf16>({1.0f, 2.0f})),
                              TensorToWrite::from<float>("dup", {1}, iota(1, 2))});
  REQUIRE_THROWS_WITH(Checkpoint::open(dir.path()), Contains("tensor 'dup' is in both") &&
                                                        Contains("model-00001-of-00002.safetensors") &&
                                                        Contains("model-00002-of-00002.safetensors"));
}

TEST_CASE("checkpoint: folder errors", "[io][checkpoint][errors]") {
  TempDir dir;
  REQUIRE_THROWS_WITH(Checkpoint::open(dir / "nowhere"), Contains("model folder") && Contains("nowhere") &&
                                                              Contains("does not exist"));
  REQUIRE_THROWS_WITH(Checkpoint::open(dir.path()), Contains("no safetensors checkpoint in " + dir.path().string()) &&
                                                        Contains("model.safetensors") &&
                                                        Contains("model.safetensors.index.json"));
  tfx::io::write_safetensors(dir / "consolidated.safetensors", sample_tensors());
  REQUIRE_THROWS_WITH(Checkpoint::open(dir.path()), Contains("found other .safetensors files: consolidated.safetensors"));
}

TEST_CASE("checkpoint: bad index files", "[io][checkpoint][errors]") {
  TempDir dir;
  write_sharded(dir);
  const auto index = dir / "model.safetensors.index.json";
  const std::string w = index.string();

  std::filesystem::remove(dir / "model-00002-of-00002.safetensors");
  REQUIRE_THROWS_WITH(Checkpoint::open(dir.path()), Contains(w) && Contains("shard 'model-00002-of-00002.safetensors'") &&
                                                        Contains("is missing"));
  write_sharded(dir);

  tfx_io_test::write_text(index, R"({"weight_map": {"embed": "model-00001-of-00002.safetensors", "ghost": "model-00002-of-00002.safetensors"}})");
  REQUIRE_THROWS_WITH(Checkpoint::open(dir.path()), Contains("weight_map puts tensor 'ghost' in model-00002-of-00002.safetensors") &&
                                                        Contains("has no such tensor"));

  tfx_io_test::write_text(index, R"({"weight_map": {"embed": "model-00001-of-00002.safetensors")");
  REQUIRE_THROWS_WITH(Checkpoint::open(dir.path()), Contains(w) && Contains("malformed JSON in safetensors index at byte"));

  tfx_io_test::write_text(index, R"({"metadata": {}})");
  REQUIRE_THROWS_WITH(Checkpoint::open(dir.path()), Contains("missing 'weight_map'"));

  tfx_io_test::write_text(index, R"({"weight_map": []})");
  REQUIRE_THROWS_WITH(Checkpoint::open(dir.path()), Contains("'weight_map' must be an object"));

  tfx_io_test::write_text(index, R"({"weight_map": {}})");
  REQUIRE_THROWS_WITH(Checkpoint::open(dir.path()), Contains("weight_map is empty"));

  tfx_io_test::write_text(index, R"({"weight_map": {"embed": 1}})");
  REQUIRE_THROWS_WITH(Checkpoint::open(dir.path()), Contains("weight_map entry 'embed' must be a shard file name"));

  tfx_io_test::write_text(index, R"({"weight_map": {"embed": "../model-00001-of-00002.safetensors"}})");
  REQUIRE_THROWS_WITH(Checkpoint::open(dir.path()), Contains("must be a relative path inside the folder"));

  tfx_io_test::write_text(index, R"({"weight_map": {"embed": "/etc/passwd"}})");
  REQUIRE_THROWS_WITH(Checkpoint::open(dir.path()), Contains("must be a relative path inside the folder"));

  tfx_io_test::write_text(index, R"([])");
  REQUIRE_THROWS_WITH(Checkpoint::open(dir.path()), Contains("must be a JSON object"));

  // A broken shard is reported with the shard's own path.
  write_sharded(dir);
  tfx_io_test::write_text(dir / "model-00002-of-00002.safetensors", "garbage");
  REQUIRE_THROWS_WITH(Checkpoint::open(dir.path()), Contains("model-00002-of-00002.safetensors") && Contains("truncated"));
}

// ---------------------------------------------------------------------------------------------------------------
// Fuzz-style smoke test

TEST_CASE("safetensors: 2000 deterministic mutations parse or throw tfx::error", "[io][safetensors][fuzz]") {
  const std::vector<std::byte> good = tfx::io::serialize_safetensors(sample_tensors(), {{"format", "pt"}});
  std::uint64_t n = 0;
  std::memcpy(&n, good.data(), 8);
  tfx_io_test::Mutator mut(12345);
  int parsed = 0, rejected = 0;
  for (int iter = 0; iter < 2000; ++iter) {
    std::vector<std::byte> bytes;
    if (iter % 2 == 0) {
      bytes = mut.mutate(good, 8 + static_cast<std::size_t>(n));
    } else {  // mutate the header text only and keep the length prefix right, to get deeper into the parser
      const auto header_begin = good.begin() + 8, header_end = header_begin + static_cast<std::ptrdiff_t>(n);
      std::vector<std::byte> h = mut.mutate(std::vector<std::byte>(header_begin, header_end), 0);
      bytes = tfx_io_test::raw_safetensors(std::string(reinterpret_cast<const char*>(h.data()), h.size()), 0);
      bytes.insert(bytes.end(), header_end, good.end());
    }
    try {
      const SafetensorsFile f = SafetensorsFile::from_bytes(bytes, "fuzz");
      double sum = 0;
      for (const TensorInfo& t : f.tensors()) {
        for (std::byte b : t.bytes) sum += static_cast<double>(b);
        try {
          if (t.dtype == tfx::dtype::f32) {
            const auto m = tfx::io::matrix<float>(t);
            for (tfx::Index i = 0; i < m.rows; ++i)
              for (tfx::Index j = 0; j < m.cols; ++j) sum += static_cast<double>(m(i, j) == m(i, j));
          } else if (t.dtype == tfx::dtype::bf16) {
            const auto m = tfx::io::matrix<tfx::bf16>(t);
            for (tfx::Index i = 0; i < m.rows; ++i)
              for (tfx::Index j = 0; j < m.cols; ++j) sum += m(i, j).bits;
          } else if (t.dtype == tfx::dtype::f16) {
            const auto m = tfx::io::matrix<tfx::f16>(t);
            for (tfx::Index i = 0; i < m.rows; ++i)
              for (tfx::Index j = 0; j < m.cols; ++j) sum += m(i, j).bits;
          }
        } catch (const tfx::error&) {
          // misaligned after an insertion: fine
        }
      }
      (void)f.names();
      (void)f.metadata();
      CHECK(sum >= 0);
      ++parsed;
    } catch (const tfx::error& e) {
      REQUIRE(std::string(e.what()).find("fuzz") != std::string::npos);  // every message names its source
      ++rejected;
    }
  }
  INFO("parsed " << parsed << ", rejected " << rejected);
  CHECK(parsed > 0);
  CHECK(rejected > 0);
  CHECK(parsed + rejected == 2000);
}
