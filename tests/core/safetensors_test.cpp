// The safetensors container: writer/reader round trip, a Python (numpy) reader as an independent
// check of the writer, and every malformed-header case the reader must reject with a FormatError.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/src/mapped_file.h"
#include "core/src/safetensors.h"
#include "maum/error.h"

namespace maum::core {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "maum-core-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// n bytes that differ from their neighbours and from zero (so an unread or misplaced byte shows).
std::string patterned_bytes(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 13 + 1);
  return s;
}

// A file with the given header text and `data_bytes` zero bytes of data.
std::string raw_file(const std::string& header, size_t data_bytes, uint64_t declared_len = ~0ull) {
  uint64_t n = declared_len == ~0ull ? header.size() : declared_len;
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(n >> (8 * i));
  return s + header + std::string(data_bytes, '\0');
}

void expect_format_error(const std::string& path, const std::string& must_mention) {
  try {
    SafetensorsFile::open(path);
    ADD_FAILURE() << "opened " << path << " (expected an error mentioning '" << must_mention << "')";
  } catch (const FormatError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << "message should name the file: " << msg;
    EXPECT_NE(msg.find(must_mention), std::string::npos) << "message '" << msg << "' should mention '"
                                                         << must_mention << "'";
  }
}

TEST(MappedFile, MapsContentAndEmptyFile) {
  TempDir dir;
  write_bytes(dir.file("a"), "hello");
  MappedFile a(dir.file("a"));
  ASSERT_EQ(a.size(), 5u);
  EXPECT_EQ(std::memcmp(a.data(), "hello", 5), 0);
  write_bytes(dir.file("empty"), "");
  MappedFile e(dir.file("empty"));
  EXPECT_EQ(e.size(), 0u);
  EXPECT_THROW(MappedFile(dir.file("missing")), IoError);
  EXPECT_THROW(MappedFile(dir.file("")), IoError);  // a directory
}

TEST(Safetensors, RoundTripKeepsValuesMetadataAndAlignment) {
  TempDir dir;
  SafetensorsWriter w;
  std::vector<float> a = {1.5f, -2.0f, 3.25f, 0.0f, 1e-30f, -7.0f};
  std::vector<int8_t> q = {-127, 0, 5};  // odd size: must not misalign the F32 tensors
  std::vector<int64_t> ids = {1, -2};
  w.add("q", DType::I8, {3}, q.data(), q.size());
  w.add("a", DType::F32, {2, 3}, a.data(), a.size() * 4);
  w.add("ids", DType::I64, {2}, ids.data(), 16);
  w.add("empty", DType::F32, {0, 4}, nullptr, 0);
  w.add("scalar", DType::F32, {}, a.data(), 4);
  w.set_metadata("k", "v \"quoted\" 한국어");
  const std::string path = dir.file("m.safetensors");
  w.write(path);

  auto f = SafetensorsFile::open(path);
  EXPECT_EQ(f->meta("k"), "v \"quoted\" 한국어");
  EXPECT_THROW(f->meta("absent"), FormatError);
  ASSERT_EQ(f->tensors().size(), 5u);
  const TensorView& ta = f->get("a", DType::F32, {2, 3});
  EXPECT_EQ(std::memcmp(ta.data, a.data(), 24), 0);
  EXPECT_EQ(ta.numel(), 6);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(ta.data) % 4, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(f->get("ids").data) % 8, 0u);
  EXPECT_EQ(std::memcmp(f->get("q", DType::I8, {3}).data, q.data(), 3), 0);
  EXPECT_EQ(f->get("empty").nbytes, 0u);
  EXPECT_EQ(f->get("scalar").numel(), 1);
  EXPECT_THROW(f->get("a", DType::F32, {3, 2}), FormatError);
  EXPECT_THROW(f->get("a", DType::F16, {2, 3}), FormatError);
  EXPECT_THROW(f->get("nope"), FormatError);

  // Data area 8-aligned: (8 + header length) % 8 == 0.
  std::string bytes = read_bytes(path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[i]);
  EXPECT_EQ((8 + n) % 8, 0u);
  // Contiguous data area: the reference reader rejects gaps and trailing bytes.
  EXPECT_EQ(bytes.size() - 8 - n, 3u + 24u + 16u + 4u);
}

TEST(Safetensors, WriterRejectsBadInputAndLeavesNoTempFiles) {
  TempDir dir;
  SafetensorsWriter w;
  float x[2] = {0, 0};
  EXPECT_THROW(w.add("x", DType::F32, {3}, x, 8), InvalidArgument);
  EXPECT_THROW(w.add("x", DType::F32, {-1}, x, 8), InvalidArgument);
  w.add("x", DType::F32, {2}, x, 8);
  EXPECT_THROW(w.add("x", DType::F32, {2}, x, 8), InvalidArgument);
  EXPECT_THROW(w.write(dir.file("no/such/dir/m.safetensors")), IoError);
  w.write(dir.file("m.safetensors"));
  w.write(dir.file("m.safetensors"));  // overwrite in place
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.file(""))) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1u);
}

// The writer's output as read by an independent reader: numpy, following the published layout.
TEST(Safetensors, PythonNumpyReaderReadsWriterOutput) {
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "/usr/bin/python3 with numpy not available";
  TempDir dir;
  SafetensorsWriter w;
  std::vector<float> a = {1.5f, -2.0f, 3.25f, 0.0f, 1e-30f, -7.0f};
  std::vector<int8_t> q = {-127, 0, 5};
  w.add("layer.0.w", DType::I8, {3}, q.data(), 3);
  w.add("emb.word", DType::F32, {2, 3}, a.data(), 24);
  w.set_metadata("maum.format_version", "1");
  const std::string path = dir.file("m.safetensors");
  w.write(path);
  const std::string script = dir.file("read.py");
  write_bytes(script, R"PY(
import json, struct, sys
import numpy as np
path = sys.argv[1]
raw = open(path, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n])
base = 8 + n
DT = {"F32": np.float32, "I8": np.int8}
ends = []
out = {}
for k, v in hdr.items():
    if k == "__metadata__":
        continue
    a, b = v["data_offsets"]
    ends.append((a, b))
    out[k] = np.frombuffer(raw[base + a: base + b], dtype=DT[v["dtype"]]).reshape(v["shape"])
ends.sort()
pos = 0
for a, b in ends:
    assert a == pos, "gap or overlap"
    pos = b
assert base + pos == len(raw), "trailing bytes"
assert hdr["__metadata__"] == {"maum.format_version": "1"}
assert out["emb.word"].shape == (2, 3)
assert out["emb.word"].tolist() == [[1.5, -2.0, 3.25], [0.0, np.float32(1e-30), -7.0]]
assert out["layer.0.w"].tolist() == [-127, 0, 5]
print("ok")
)PY");
  EXPECT_EQ(std::system(("/usr/bin/python3 " + script + " " + path).c_str()), 0);
}

TEST(Safetensors, RejectsMalformedFiles) {
  TempDir dir;
  auto check = [&](const std::string& name, const std::string& bytes, const std::string& mention) {
    SCOPED_TRACE(name);
    const std::string path = dir.file(name);
    write_bytes(path, bytes);
    expect_format_error(path, mention);
  };
  const std::string good = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  check("short", "abc", "shorter than");
  check("empty", "", "shorter than");
  check("header_longer_than_file", raw_file(good, 8, 1000), "longer than the file");
  check("header_len_huge", raw_file(good, 8, ~0ull - 1), "longer than the file");
  check("not_json", raw_file("{not json!", 0), "not valid JSON");
  check("not_object", raw_file("[1,2,3]", 0), "not a JSON object");
  check("truncated_data", raw_file(good, 4), "outside the data area");
  check("offsets_out_of_range", raw_file(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", 8),
        "outside the data area");
  check("offsets_reversed", raw_file(R"({"t":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", 8),
        "reversed");
  check("bad_dtype", raw_file(R"({"t":{"dtype":"F128","shape":[2],"data_offsets":[0,8]}})", 8),
        "unknown dtype \"F128\"");
  check("size_mismatch", raw_file(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
        "needs 12 bytes");
  check("negative_dim", raw_file(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8),
        "non-negative");
  check("huge_shape",
        raw_file(R"({"t":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904],"data_offsets":[0,8]}})",
                 8),
        "too large");
  check("missing_offsets", raw_file(R"({"t":{"dtype":"F32","shape":[2]}})", 8), "data_offsets");
  check("string_offsets", raw_file(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":["0","8"]}})", 8),
        "data_offsets");
  check("overlap",
        raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                 12),
        "overlap");
  check("meta_not_string", raw_file(R"({"__metadata__":{"k":1}})", 0), "__metadata__");
  check("entry_not_object", raw_file(R"({"t":5})", 0), "not an object");
  // Deeply nested JSON must not overflow the parser's (or the destructor's) stack.
  check("deep_array", raw_file(std::string(200000, '[') + std::string(200000, ']'), 0), "not a JSON object");
  std::string deep_object;
  for (int i = 0; i < 100000; ++i) deep_object += "{\"a\":";
  deep_object += "1" + std::string(100000, '}');
  check("deep_object", raw_file(deep_object, 0), "missing or non-string \"dtype\"");
}

TEST(Safetensors, MissingFileIsIoError) {
  EXPECT_THROW(SafetensorsFile::open("/nonexistent/maum.safetensors"), IoError);
}

// Truncating a valid file at every length must give an error, never a crash.
TEST(Safetensors, EveryTruncationIsAnError) {
  TempDir dir;
  SafetensorsWriter w;
  std::vector<float> a(16, 1.0f);
  w.add("a", DType::F32, {16}, a.data(), 64);
  w.set_metadata("x", "y");
  const std::string path = dir.file("full.safetensors");
  w.write(path);
  const std::string bytes = read_bytes(path);
  for (size_t len = 0; len < bytes.size(); ++len) {
    const std::string cut = dir.file("cut.safetensors");
    write_bytes(cut, bytes.substr(0, len));
    EXPECT_THROW(SafetensorsFile::open(cut), FormatError) << "length " << len;
  }
}

// Issue 9.8: the data area holds the tensors and nothing else (docs/FORMAT.md, and the reference
// reader): trailing bytes after the last tensor and gaps between tensors are errors.
TEST(Safetensors, TrailingBytesAndGapsAreRejected) {
  TempDir dir;
  auto check = [&](const std::string& name, const std::string& bytes, const std::string& mention) {
    SCOPED_TRACE(name);
    write_bytes(dir.file(name), bytes);
    expect_format_error(dir.file(name), mention);
    try {
      SafetensorsFile::from_bytes(bytes.data(), bytes.size(), name);
      ADD_FAILURE() << "from_bytes accepted " << name;
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find(mention), std::string::npos) << e.what();
    }
  };
  const std::string good = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  check("trailing", raw_file(good, 12), "4 bytes after the last tensor");
  check("only_trailing", raw_file(R"({"__metadata__":{"k":"v"}})", 3), "3 bytes after the last tensor");
  check("gap", raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})", 20),
        "gap of 4 unused bytes");
  check("leading_gap", raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12), "gap of 4");
  // Exactly tiled: accepted, from a file and from memory alike.
  const std::string exact = raw_file(good, 8);
  write_bytes(dir.file("exact"), exact);
  EXPECT_EQ(SafetensorsFile::open(dir.file("exact"))->get("t").nbytes, 8u);
  EXPECT_EQ(SafetensorsFile::from_bytes(exact.data(), exact.size(), "mem")->get("t").nbytes, 8u);
}

// Issue 9.4: a model file truncated or overwritten in place while loaded gave SIGBUS (truncation
// of a mapping) or changed the weights mid-run. The bytes are now the process's own copy.
TEST(MappedFile, FileChangedInPlaceAfterOpenDoesNotAffectTheBytes) {
  TempDir dir;
  const std::string path = dir.file("m.bin");
  const std::string original = patterned_bytes(3 * 4096 + 17);
  write_bytes(path, original);
  MappedFile m(path);
  ASSERT_EQ(m.size(), original.size());
  ASSERT_EQ(::truncate(path.c_str(), 0), 0);  // reading a truncated mapping would be SIGBUS
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m.data()), m.size()), original);
  write_bytes(path, std::string(original.size(), 'x'));  // `cp other.safetensors m.bin`
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m.data()), m.size()), original);
}

// On demand (how the engine opens a model): only what is asked for is read; the rest of the
// buffer is never touched (reads as zeros) and read_into copies without touching it.
TEST(MappedFile, OnDemandReadsOnlyWhatIsAskedFor) {
  TempDir dir;
  const std::string path = dir.file("m.bin");
  const std::string original = patterned_bytes(3 * 4096 + 17);
  write_bytes(path, original);
  MappedFile m(path, Reading::kOnDemand);
  ASSERT_EQ(m.size(), original.size());
  EXPECT_EQ(m.data()[5000], 0);  // not loaded yet
  const uint8_t* at = m.load(4096, 100);
  EXPECT_EQ(at, m.data() + 4096);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(at), 100), original.substr(4096, 100));
  std::string copy(200, '\0');
  m.read_into(9000, 200, copy.data());
  EXPECT_EQ(copy, original.substr(9000, 200));
  EXPECT_EQ(m.data()[9000], 0);  // read_into left the buffer alone
  EXPECT_THROW(m.load(original.size() - 10, 11), IoError);
  EXPECT_THROW(m.read_into(original.size() + 1, 0, copy.data()), IoError);
  EXPECT_NO_THROW(m.check_unchanged());
  // A whole-file MappedFile serves the same calls from its copy.
  MappedFile whole(path);
  whole.read_into(9000, 200, copy.data());
  EXPECT_EQ(copy, original.substr(9000, 200));
  EXPECT_NO_THROW(whole.check_unchanged());
}

// Issue 9.4 for on-demand files: bytes read at different moments must come from one file. Written
// in place (`cp other m.bin`) → check_unchanged fails; truncated → the next read fails; a new file
// renamed over the path (the documented safe update) leaves the opened one intact and consistent.
TEST(MappedFile, OnDemandDetectsAFileChangedInPlace) {
  TempDir dir;
  const std::string path = dir.file("m.bin");
  const std::string original(8192, 'a');
  {
    write_bytes(path, original);
    MappedFile m(path, Reading::kOnDemand);
    write_bytes(dir.file("new.bin"), std::string(8192, 'b'));
    ASSERT_EQ(std::rename(dir.file("new.bin").c_str(), path.c_str()), 0);
    EXPECT_EQ(m.load(0, 8192)[100], 'a');
    EXPECT_NO_THROW(m.check_unchanged());
  }
  {
    write_bytes(path, original);
    MappedFile m(path, Reading::kOnDemand);
    write_bytes(path, std::string(8192, 'c'));  // same size, in place
    const struct timespec times[2] = {{1, 0}, {1, 0}};  // a modification time surely not the old one
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
    try {
      m.check_unchanged();
      ADD_FAILURE() << "a file written in place went unnoticed";
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find("renaming"), std::string::npos) << e.what();
    }
  }
  {
    write_bytes(path, original);
    MappedFile m(path, Reading::kOnDemand);
    ASSERT_EQ(::truncate(path.c_str(), 100), 0);
    EXPECT_THROW(m.load(4096, 10), IoError);
    EXPECT_THROW(m.check_unchanged(), IoError);
  }
}

// Opened on demand, a safetensors file is validated the same way (the header is read at open) and
// its tensors read as they are in the file.
TEST(Safetensors, OnDemandOpenValidatesAndLoadsTensors) {
  TempDir dir;
  SafetensorsWriter w;
  std::vector<float> a(16);
  for (size_t i = 0; i < a.size(); ++i) a[i] = 0.5f * static_cast<float>(i);
  w.add("a", DType::F32, {16}, a.data(), 64);
  w.set_metadata("x", "y");
  const std::string path = dir.file("full.safetensors");
  w.write(path);
  auto f = SafetensorsFile::open(path, Reading::kOnDemand);
  EXPECT_EQ(f->meta("x"), "y");
  const TensorView& t = f->get("a", DType::F32, {16});
  std::vector<float> got(16);
  std::memcpy(got.data(), f->load(t), 64);
  EXPECT_EQ(got, a);
  const std::string bytes = read_bytes(path);
  for (size_t len = 0; len < bytes.size(); ++len) {
    const std::string cut = dir.file("cut.safetensors");
    write_bytes(cut, bytes.substr(0, len));
    EXPECT_THROW(SafetensorsFile::open(cut, Reading::kOnDemand), FormatError) << "length " << len;
  }
}

// release() gives whole pages back (they read as zeros); bytes on shared boundary pages and
// outside the range stay.
TEST(MappedFile, ReleaseDropsOnlyWholePagesInsideTheRange) {
  TempDir dir;
  const std::string path = dir.file("m.bin");
  write_bytes(path, std::string(4 * 4096, '\x5a'));
  MappedFile m(path);
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  if (page != 4096) GTEST_SKIP() << "page size " << page;
  m.release(m.data() + 100, 2 * 4096);  // covers page 1 whole, pages 0 and 2 partly
  EXPECT_EQ(m.data()[100], 0x5a);
  EXPECT_EQ(m.data()[4095], 0x5a);
  EXPECT_EQ(m.data()[4096], 0);
  EXPECT_EQ(m.data()[2 * 4096 - 1], 0);
  EXPECT_EQ(m.data()[2 * 4096], 0x5a);
  const uint8_t stray[16] = {};
  m.release(stray, sizeof stray);  // outside: ignored
  EXPECT_EQ(m.data()[3 * 4096], 0x5a);
}

}  // namespace
}  // namespace maum::core
