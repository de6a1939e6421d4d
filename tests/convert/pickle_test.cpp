// The torch pickle reader on hand-built pickles: what torch.save emits decodes to the right tensors
// (offsets, strides, shared storages), and anything else -- a non-whitelisted global, unknown
// opcodes, truncation, missing or short storages -- is a FormatError naming the problem.
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "convert/src/torch_pickle.h"
#include "maum/error.h"

namespace maum::convert {
namespace {

// Builds pickle bytes opcode by opcode (protocol 2, as torch.save writes).
struct Pickle {
  std::string b = std::string("\x80\x02", 2);
  Pickle& op(char c) { b.push_back(c); return *this; }
  Pickle& str(const std::string& s) {
    b.push_back('X');
    uint32_t n = static_cast<uint32_t>(s.size());
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<char>(n >> (8 * i)));
    b += s;
    return *this;
  }
  Pickle& global(const std::string& module, const std::string& name) {
    b += "c" + module + "\n" + name + "\n";
    return *this;
  }
  Pickle& integer(int64_t v) {
    if (v >= 0 && v < 256) { b.push_back('K'); b.push_back(static_cast<char>(v)); }
    else if (v >= 0 && v < 65536) { b.push_back('M'); b.push_back(static_cast<char>(v)); b.push_back(static_cast<char>(v >> 8)); }
    else { b.push_back('J'); for (int i = 0; i < 4; ++i) b.push_back(static_cast<char>(v >> (8 * i))); }
    return *this;
  }
  Pickle& ints(const std::vector<int64_t>& v) {
    op('(');
    for (int64_t x : v) integer(x);
    return op('t');
  }
  // _rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())
  Pickle& tensor(const std::string& storage_type, const std::string& key, int64_t numel, int64_t offset,
                 const std::vector<int64_t>& size, const std::vector<int64_t>& stride) {
    global("torch._utils", "_rebuild_tensor_v2").op('(');
    op('(').str("storage").global("torch", storage_type).str(key).str("cpu").integer(numel).op('t').op('Q');
    integer(offset).ints(size).ints(stride).op('\x89');
    global("collections", "OrderedDict").op(')').op('R');
    return op('t').op('R');
  }
  // LONG1 with 8 bytes: any int64 (BININT is only 32 bits).
  Pickle& long8(int64_t v) {
    b.push_back('\x8a');
    b.push_back(8);
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<char>(static_cast<uint64_t>(v) >> (8 * i)));
    return *this;
  }
  // tensor() with every number a LONG1 (numel, offset, sizes and strides beyond 32 bits).
  Pickle& big_tensor(const std::string& key, int64_t numel, int64_t offset, const std::vector<int64_t>& size,
                     const std::vector<int64_t>& stride) {
    global("torch._utils", "_rebuild_tensor_v2").op('(');
    op('(').str("storage").global("torch", "FloatStorage").str(key).str("cpu").long8(numel).op('t').op('Q');
    long8(offset).op('(');
    for (int64_t x : size) long8(x);
    op('t').op('(');
    for (int64_t x : stride) long8(x);
    op('t').op('\x89');
    global("collections", "OrderedDict").op(')').op('R');
    return op('t').op('R');
  }
  Pickle& stop() { return op('.'); }
};

std::vector<uint8_t> floats(const std::vector<float>& v) {
  std::vector<uint8_t> out(v.size() * 4);
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

std::vector<float> as_floats(const LoadedTensor& t) {
  std::vector<float> v(t.bytes.size() / 4);
  std::memcpy(v.data(), t.bytes.data(), t.bytes.size());
  return v;
}

StorageLoader storage_of(std::vector<float> values, int* loads = nullptr) {
  return [values, loads](const std::string& key) {
    if (loads) ++*loads;
    if (key != "0") throw FormatError("test.bin: missing storage '" + key + "'");
    return floats(values);
  };
}

void expect_error(const std::string& pickle, const StorageLoader& loader, const std::string& mention) {
  try {
    load_torch_pickle(pickle, loader, "test.bin");
    ADD_FAILURE() << "pickle accepted; expected an error mentioning '" << mention << "'";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(mention), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("test.bin"), std::string::npos) << e.what();
  }
}

// A state dict {"a": 2x3 contiguous, "t": transpose of a (strides 1, 3), "b": a[1] (offset 3)}, all
// on one storage, as torch.save writes views.
Pickle shared_storage_dict() {
  Pickle p;
  p.global("collections", "OrderedDict").op(')').op('R').op('q').b.push_back(0);
  p.op('(');
  p.str("a").tensor("FloatStorage", "0", 6, 0, {2, 3}, {3, 1});
  p.str("t").tensor("FloatStorage", "0", 6, 0, {3, 2}, {1, 3});
  p.str("b").tensor("FloatStorage", "0", 6, 3, {3}, {1});
  p.op('u');
  return p;
}

TEST(TorchPickle, DecodesOffsetsStridesAndSharedStorages) {
  int loads = 0;
  auto sd = load_torch_pickle(shared_storage_dict().stop().b, storage_of({0, 1, 2, 3, 4, 5}, &loads), "test.bin");
  ASSERT_EQ(sd.size(), 3u);
  EXPECT_EQ(loads, 1) << "a shared storage is read once";
  EXPECT_EQ(sd["a"].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(as_floats(sd["a"]), (std::vector<float>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(sd["t"].shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(as_floats(sd["t"]), (std::vector<float>{0, 3, 1, 4, 2, 5}));  // row-major transpose
  EXPECT_EQ(as_floats(sd["b"]), (std::vector<float>{3, 4, 5}));
  EXPECT_EQ(sd["a"].dtype, core::DType::F32);
}

TEST(TorchPickle, RebuildParameterAndMemoAndBuild) {
  Pickle p;
  p.op('}').op('(').str("w");
  p.global("torch._utils", "_rebuild_parameter").op('(');
  p.tensor("HalfStorage", "0", 1, 0, {1}, {1});
  p.op('\x88').global("collections", "OrderedDict").op(')').op('R').op('t').op('R');
  p.op('u');
  p.op('}').op('b');  // BUILD with an (ignored) state, as the state dict's _metadata is
  p.stop();
  auto sd = load_torch_pickle(p.b, [](const std::string&) { return std::vector<uint8_t>{0x00, 0x3c}; }, "x");
  ASSERT_EQ(sd.count("w"), 1u);
  EXPECT_EQ(sd["w"].dtype, core::DType::F16);
  EXPECT_EQ(sd["w"].bytes, (std::vector<uint8_t>{0x00, 0x3c}));
}

TEST(TorchPickle, RejectsNonWhitelistedGlobalsBeforeCallingThem) {
  Pickle p;
  p.global("os", "system").op('(').str("echo pwned").op('t').op('R').stop();
  expect_error(p.b, storage_of({}), "pickle global 'os.system' is not allowed");
  Pickle q;
  q.global("builtins", "eval").stop();
  expect_error(q.b, storage_of({}), "'builtins.eval' is not allowed");
  Pickle r;  // STACK_GLOBAL (protocol 4) goes through the same whitelist
  r.str("subprocess").str("Popen").op('\x93').stop();
  expect_error(r.b, storage_of({}), "'subprocess.Popen' is not allowed");
  Pickle s;  // an allowed global that is not a function
  s.global("torch", "FloatStorage").op(')').op('R').stop();
  expect_error(s.b, storage_of({}), "cannot be called");
  Pickle t;  // torch._utils has more than the rebuild functions
  t.global("torch._utils", "_load_from_bytes").stop();
  expect_error(t.b, storage_of({}), "not allowed");
}

TEST(TorchPickle, RejectsMalformedPickles) {
  const std::string good = shared_storage_dict().stop().b;
  for (size_t len = 0; len < good.size(); ++len) {
    SCOPED_TRACE(len);
    EXPECT_THROW(load_torch_pickle(good.substr(0, len), storage_of({0, 1, 2, 3, 4, 5}), "x"), FormatError);
  }
  Pickle unknown;
  unknown.op('}').op('\xff').stop();
  expect_error(unknown.b, storage_of({}), "unsupported pickle opcode 0xff");
  expect_error(std::string("\x80\x02}i", 4), storage_of({}), "unsupported pickle opcode 0x69");  // INST
  expect_error(std::string("\x80\x02h\x05.", 5), storage_of({}), "memo 5 is not set");
  expect_error(std::string("\x80\x02t.", 4), storage_of({}), "no MARK");
  expect_error(std::string("\x80\x02R.", 4), storage_of({}), "underflow");
  expect_error(std::string("\x80\x02]].", 5), storage_of({}), "STOP with 2 objects");
  expect_error(std::string("\x80\x02].", 4), storage_of({}), "not a state dict");
  Pickle not_tensor;
  not_tensor.op('}').str("x").integer(5).op('s').stop();
  expect_error(not_tensor.b, storage_of({}), "\"x\" is not a tensor");
  Pickle huge_string;  // BINUNICODE claiming 4 GB
  huge_string.b += std::string("X\xff\xff\xff\xff", 5);
  expect_error(huge_string.b, storage_of({}), "truncated");
}

// Issue 9.1: numel * element size overflowed (2^62 + 1 floats "needed" 4 bytes), so a 1-float
// storage passed the size check and the copy read heap memory past it into the model.
TEST(TorchPickle, StorageNumelOverflowIsRejected) {
  Pickle p;
  p.op('}').str("w").big_tensor("0", (int64_t{1} << 62) + 1, 0, {2}, {1}).op('s').stop();
  expect_error(p.b, storage_of({1}), "has 4 bytes, too few for 4611686018427387905 elements");
  Pickle huge;  // the "large" variant: numel 2^62 + 1, a view of 2^24 + 1 elements
  huge.op('}').str("w").big_tensor("0", (int64_t{1} << 62) + 1, 0, {(1 << 24) + 1}, {1}).op('s').stop();
  expect_error(huge.b, storage_of({1}), "too few");
}

// Issue 9.2: the view extent (size - 1) * stride wrapped to 0 (size 2^24 + 1, stride 2^40), so
// the bounds check passed and the copy walked off the storage; also with an offset that makes
// offset + extent wrap.
TEST(TorchPickle, ViewExtentOverflowIsRejected) {
  Pickle wrap;
  wrap.op('}').str("w").big_tensor("0", 2, 0, {(1 << 24) + 1, 1}, {int64_t{1} << 40, 1}).op('s').stop();
  expect_error(wrap.b, storage_of({1, 2}), "overflows");
  Pickle wrap64;  // (2^32 + 1) * 2^32 = 2^64 + 2^32: wraps to 2^32 in 64 bits
  wrap64.op('}').str("w").big_tensor("0", 2, 0, {(int64_t{1} << 32) + 1}, {int64_t{1} << 32}).op('s').stop();
  expect_error(wrap64.b, storage_of({1, 2}), "overflows");
  Pickle offset;  // offset + extent wraps
  offset.op('}').str("w").big_tensor("0", 2, INT64_MAX, {3}, {INT64_MAX}).op('s').stop();
  expect_error(offset.b, storage_of({1, 2}), "overflows");
  Pickle elements;  // numel = product of sizes overflows 64 bits (stride 0: extent stays 0)
  elements.op('}').str("w").big_tensor("0", 2, 0, {int64_t{1} << 40, int64_t{1} << 40}, {0, 0}).op('s').stop();
  expect_error(elements.b, storage_of({1, 2}), "too many elements");
  Pickle broadcast;  // fits in 64 bits but is a broadcast far larger than its 8-byte storage
  broadcast.op('}').str("w").big_tensor("0", 2, 0, {int64_t{1} << 30, 64}, {0, 0}).op('s').stop();
  expect_error(broadcast.b, storage_of({1, 2}), "broadcast view");
}

// Issue 9.10: memory is bounded by what a state dict needs, not by what the pickle asks for:
// BINGET in a loop (each 2-byte opcode pushed 8 bytes, 292 KB -> 2.7 GB) and pickles of millions
// of objects stop at the opcode limit, a data.pkl beyond kMaxPickleBytes is refused whole.
TEST(TorchPickle, OpcodeAndSizeLimitsBoundMemory) {
  Pickle binget;
  binget.op(']').op('q').b.push_back(0);
  for (size_t i = 0; i < kMaxPickleOps; ++i) binget.op('h').b.push_back(0);
  binget.stop();
  expect_error(binget.b, storage_of({}), "opcodes");
  Pickle objects;
  objects.op('(');
  objects.b += std::string(kMaxPickleOps, 'N');
  objects.op('l').stop();
  expect_error(objects.b, storage_of({}), "opcodes");
  std::string big = std::string("\x80\x02", 2) + std::string(kMaxPickleBytes + 1 - 2, 'N');
  expect_error(big, storage_of({}), "larger than");
}

// Hostile structure: a million nested tuples and a list containing itself must neither overflow
// the stack nor hang (they are just not a state dict).
TEST(TorchPickle, DeepNestingAndCyclesAreHarmless) {
  Pickle deep;
  deep.op(']');
  deep.b += std::string(1000000, '\x85');  // TUPLE1, a million times
  deep.stop();
  expect_error(deep.b, storage_of({}), "not a state dict");
  Pickle cycle;
  cycle.op(']').op('q').b.push_back(0);
  cycle.op('h').b.push_back(0);
  cycle.op('a').stop();  // L.append(L)
  expect_error(cycle.b, storage_of({}), "not a state dict");
}

TEST(TorchPickle, RejectsMissingShortAndOutOfRangeStorages) {
  Pickle missing;
  missing.op('}').str("w").tensor("FloatStorage", "7", 2, 0, {2}, {1}).op('s').stop();
  expect_error(missing.b, storage_of({1, 2}), "missing storage '7'");
  Pickle short_storage;
  short_storage.op('}').str("w").tensor("FloatStorage", "0", 4, 0, {4}, {1}).op('s').stop();
  expect_error(short_storage.b, storage_of({1, 2}), "has 8 bytes, too few for 4 elements");
  Pickle out_of_range;
  out_of_range.op('}').str("w").tensor("FloatStorage", "0", 2, 1, {2}, {1}).op('s').stop();
  expect_error(out_of_range.b, storage_of({1, 2}), "reaches element 2 of a storage of 2");
  Pickle bad_stride;
  bad_stride.op('}').str("w").tensor("FloatStorage", "0", 2, 0, {2, 2}, {2, 1}).op('s').stop();
  expect_error(bad_stride.b, storage_of({1, 2}), "reaches element 3");
  Pickle bad_type;
  bad_type.op('}').str("w");
  bad_type.global("torch._utils", "_rebuild_tensor_v2").op('(');
  bad_type.op('(').str("storage").global("collections", "OrderedDict").str("0").str("cpu").integer(2).op('t').op('Q');
  bad_type.stop();
  expect_error(bad_type.b, storage_of({1, 2}), "no torch storage type");
}

}  // namespace
}  // namespace maum::convert
