#include "convert/src/torch_pickle.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <variant>

#include <zip.h>
#include <zlib.h>

#include "maum/error.h"

namespace maum::convert {

namespace {

struct Object;
// Objects live in the machine's arena and refer to each other by plain pointers: a hostile pickle
// can nest or cycle them arbitrarily deep, and recursive shared_ptr destruction would then
// overflow the stack.
using Ref = Object*;

struct Global {
  std::string module, name;
  std::string full() const { return module + "." + name; }
};
struct Storage {
  core::DType dtype;
  std::string key;
  int64_t numel = 0;
  std::shared_ptr<std::vector<uint8_t>> bytes;
};
struct Tensor {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;
  std::vector<int64_t> size, stride;
};
struct None {};
struct List {
  std::vector<Ref> items;
};
struct Tuple {
  std::vector<Ref> items;
};
struct Dict {
  std::vector<std::pair<Ref, Ref>> items;
};

struct Object {
  std::variant<None, bool, int64_t, double, std::string, Tuple, List, Dict, Global, std::shared_ptr<Storage>, Tensor>
      value;
  template <typename T>
  explicit Object(T v) : value(std::move(v)) {}
};


const std::map<std::string, core::DType>& storage_types() {
  static const std::map<std::string, core::DType> m = {
      {"FloatStorage", core::DType::F32}, {"HalfStorage", core::DType::F16},
      {"BFloat16Storage", core::DType::BF16}, {"DoubleStorage", core::DType::F64},
      {"LongStorage", core::DType::I64}, {"IntStorage", core::DType::I32},
      {"ShortStorage", core::DType::I16}, {"CharStorage", core::DType::I8},
      {"ByteStorage", core::DType::U8}, {"BoolStorage", core::DType::BOOL}};
  return m;
}

bool allowed_global(const std::string& module, const std::string& name) {
  if (module == "collections" && name == "OrderedDict") return true;
  if (module == "torch._utils" &&
      (name == "_rebuild_tensor_v2" || name == "_rebuild_tensor" || name == "_rebuild_parameter"))
    return true;
  if (module == "torch") {
    if (storage_types().count(name)) return true;
    static const char* dtypes[] = {"float32", "float16", "bfloat16", "float64", "int64", "int32",
                                   "int16",   "int8",    "uint8",    "bool",    "float", "half", "double", "long"};
    for (const char* d : dtypes)
      if (name == d) return true;
  }
  return false;
}

class Machine {
 public:
  Machine(const std::string& pickle, const StorageLoader& storages, const std::string& source)
      : p_(pickle), storages_(storages), source_(source) {}

  // Bytes of all storages loaded so far.
  uint64_t storage_bytes() const {
    uint64_t n = 0;
    for (const auto& [key, st] : storages_by_key_) n += st->bytes->size();
    return n;
  }

  template <typename T>
  Ref make(T v) {
    arena_.push_back(std::make_unique<Object>(std::move(v)));
    return arena_.back().get();
  }

  Ref run() {
    if (p_.size() > kMaxPickleBytes)
      fail(0, "pickle of " + std::to_string(p_.size()) + " bytes is larger than the " +
                  std::to_string(kMaxPickleBytes >> 20) + " MB a state dict can need");
    for (size_t ops = 0;; ++ops) {
      const size_t at = pos_;
      // Every opcode adds at most one object, stack slot, memo entry or container item, so
      // counting them bounds the reader's memory whatever the pickle does (e.g. BINGET in a loop).
      if (ops >= kMaxPickleOps)
        fail(at, "pickle has more than " + std::to_string(kMaxPickleOps) + " opcodes, more than a state dict needs");
      const uint8_t op = byte();
      switch (op) {
        case 0x80: byte(); break;                   // PROTO
        case 0x95: take(8); break;                  // FRAME (protocol 4 framing hint)
        case '}': push(make(Dict{})); break;        // EMPTY_DICT
        case ']': push(make(List{})); break;        // EMPTY_LIST
        case ')': push(make(Tuple{})); break;       // EMPTY_TUPLE
        case '(': marks_.push_back(stack_.size()); break;  // MARK
        case 'N': push(make(None{})); break;
        case 0x88: push(make(true)); break;         // NEWTRUE
        case 0x89: push(make(false)); break;        // NEWFALSE
        case 'J': push(make(static_cast<int64_t>(static_cast<int32_t>(le(4))))); break;  // BININT
        case 'K': push(make(static_cast<int64_t>(le(1)))); break;  // BININT1
        case 'M': push(make(static_cast<int64_t>(le(2)))); break;  // BININT2
        case 0x8a: {                                // LONG1
          const size_t n = byte();
          if (n > 8) fail(at, "integer of " + std::to_string(n) + " bytes is too large");
          uint64_t v = n ? le(n) : 0;
          if (n && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~0ull << (8 * n);  // sign-extend
          push(make(static_cast<int64_t>(v)));
          break;
        }
        case 'G': {                                 // BINFLOAT (big-endian double)
          std::string b = take(8);
          uint64_t bits = 0;
          for (char c : b) bits = (bits << 8) | static_cast<uint8_t>(c);
          double d;
          std::memcpy(&d, &bits, 8);
          push(make(d));
          break;
        }
        case 'X': push(make(take(le(4)))); break;   // BINUNICODE
        case 0x8c: push(make(take(byte()))); break; // SHORT_BINUNICODE
        case 'T': push(make(take(le(4)))); break;   // BINSTRING
        case 'U': push(make(take(byte()))); break;  // SHORT_BINSTRING
        case 'q': memo_[le(1)] = top(at); break;    // BINPUT
        case 'r': memo_[le(4)] = top(at); break;    // LONG_BINPUT
        case 0x94: memo_[memo_.size()] = top(at); break;  // MEMOIZE
        case 'h': push(memo(at, le(1))); break;     // BINGET
        case 'j': push(memo(at, le(4))); break;     // LONG_BINGET
        case 'c': {                                 // GLOBAL "module\nname\n"
          std::string module = line(at), name = line(at);
          push(global(at, module, name));
          break;
        }
        case 0x93: {                                // STACK_GLOBAL
          Ref name = pop(at), module = pop(at);
          push(global(at, as_string(at, module, "STACK_GLOBAL module"), as_string(at, name, "STACK_GLOBAL name")));
          break;
        }
        case 't': push(make(Tuple{pop_mark(at)})); break;  // TUPLE
        case 0x85: { auto a = pop(at); push(make(Tuple{{a}})); break; }
        case 0x86: { auto b = pop(at), a = pop(at); push(make(Tuple{{a, b}})); break; }
        case 0x87: { auto c = pop(at), b = pop(at), a = pop(at); push(make(Tuple{{a, b, c}})); break; }
        case 'l': push(make(List{pop_mark(at)})); break;   // LIST
        case 'a': { auto v = pop(at); list(at, top(at)).items.push_back(v); break; }  // APPEND
        case 'e': { auto vs = pop_mark(at); auto& l = list(at, top(at)); l.items.insert(l.items.end(), vs.begin(), vs.end()); break; }
        case 's': { auto v = pop(at), k = pop(at); dict(at, top(at)).items.emplace_back(k, v); break; }  // SETITEM
        case 'u': {                                 // SETITEMS
          auto vs = pop_mark(at);
          if (vs.size() % 2) fail(at, "SETITEMS with an odd number of items");
          auto& d = dict(at, top(at));
          for (size_t i = 0; i < vs.size(); i += 2) d.items.emplace_back(vs[i], vs[i + 1]);
          break;
        }
        case 'b': pop(at); top(at); break;          // BUILD: object state (e.g. _metadata) is not needed
        case 'Q': push(persistent_load(at, pop(at))); break;  // BINPERSID
        case 'R': { auto args = pop(at), fn = pop(at); push(reduce(at, fn, args)); break; }  // REDUCE
        case '.': {                                 // STOP
          if (stack_.size() != 1) fail(at, "STOP with " + std::to_string(stack_.size()) + " objects on the stack");
          return stack_.back();
        }
        default: {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", op);
          fail(at, std::string("unsupported pickle opcode ") + hex);
        }
      }
    }
  }

 private:
  [[noreturn]] void fail(size_t at, const std::string& what) const {
    throw FormatError(source_ + ": " + what + " (pickle byte " + std::to_string(at) + ")");
  }
  uint8_t byte() {
    if (pos_ >= p_.size()) fail(pos_, "pickle is truncated");
    return static_cast<uint8_t>(p_[pos_++]);
  }
  uint64_t le(size_t n) {
    if (p_.size() - pos_ < n) fail(pos_, "pickle is truncated");
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p_[pos_ + i])) << (8 * i);
    pos_ += n;
    return v;
  }
  std::string take(uint64_t n) {
    if (p_.size() - pos_ < n) fail(pos_, "pickle is truncated");
    std::string s = p_.substr(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return s;
  }
  std::string line(size_t at) {
    size_t nl = p_.find('\n', pos_);
    if (nl == std::string::npos) fail(at, "pickle is truncated inside GLOBAL");
    std::string s = p_.substr(pos_, nl - pos_);
    pos_ = nl + 1;
    return s;
  }
  void push(Ref r) { stack_.push_back(std::move(r)); }
  Ref pop(size_t at) {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail(at, "pickle stack underflow");
    Ref r = stack_.back();
    stack_.pop_back();
    return r;
  }
  Ref top(size_t at) {
    if (stack_.empty()) fail(at, "pickle stack underflow");
    return stack_.back();
  }
  std::vector<Ref> pop_mark(size_t at) {
    if (marks_.empty()) fail(at, "pickle has no MARK to pop to");
    size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Ref> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  Ref memo(size_t at, uint64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) fail(at, "pickle memo " + std::to_string(key) + " is not set");
    return it->second;
  }
  Ref global(size_t at, const std::string& module, const std::string& name) {
    if (!allowed_global(module, name))
      fail(at, "pickle global '" + module + "." + name +
                   "' is not allowed (only tensor-rebuild globals are accepted; nothing is executed)");
    return make(Global{module, name});
  }
  std::string as_string(size_t at, const Ref& r, const char* what) {
    if (auto* s = std::get_if<std::string>(&r->value)) return *s;
    fail(at, std::string(what) + " must be a string");
  }
  int64_t as_int(size_t at, const Ref& r, const char* what) {
    if (auto* v = std::get_if<int64_t>(&r->value)) return *v;
    if (auto* b = std::get_if<bool>(&r->value)) return *b;
    fail(at, std::string(what) + " must be an integer");
  }
  const std::vector<Ref>& as_tuple(size_t at, const Ref& r, const char* what) {
    if (auto* t = std::get_if<Tuple>(&r->value)) return t->items;
    fail(at, std::string(what) + " must be a tuple");
  }
  std::vector<int64_t> int_tuple(size_t at, const Ref& r, const char* what) {
    std::vector<int64_t> v;
    for (const auto& x : as_tuple(at, r, what)) v.push_back(as_int(at, x, what));
    return v;
  }
  List& list(size_t at, const Ref& r) {
    if (auto* l = std::get_if<List>(&r->value)) return *l;
    fail(at, "APPEND to something that is not a list");
  }
  Dict& dict(size_t at, const Ref& r) {
    if (auto* d = std::get_if<Dict>(&r->value)) return *d;
    fail(at, "SETITEM on something that is not a dict");
  }

  // ('storage', storage_type, key, location, numel)
  Ref persistent_load(size_t at, const Ref& pid) {
    const auto& t = as_tuple(at, pid, "persistent id");
    if (t.size() != 5 || as_string(at, t[0], "persistent id tag") != "storage")
      fail(at, "persistent id must be ('storage', type, key, location, numel)");
    auto* g = std::get_if<Global>(&t[1]->value);
    if (!g || g->module != "torch" || !storage_types().count(g->name))
      fail(at, "persistent id has no torch storage type");
    const std::string key = as_string(at, t[2], "storage key");
    auto it = storages_by_key_.find(key);
    if (it != storages_by_key_.end()) return make(it->second);  // shared storage: load once
    auto s = std::make_shared<Storage>();
    s->dtype = storage_types().at(g->name);
    s->key = key;
    s->numel = as_int(at, t[4], "storage numel");
    if (s->numel < 0) fail(at, "storage '" + key + "' has a negative size");
    s->bytes = std::make_shared<std::vector<uint8_t>>(storages_(key));
    // numel * element size can overflow (numel 2^62 + 1 of 4 bytes "needs" 4): divide instead.
    const uint64_t elem = core::dtype_size(s->dtype);
    if (static_cast<uint64_t>(s->numel) > s->bytes->size() / elem)
      fail(at, "storage '" + key + "' has " + std::to_string(s->bytes->size()) + " bytes, too few for " +
                   std::to_string(s->numel) + " elements of " + std::to_string(elem) + " bytes");
    storages_by_key_[key] = s;
    return make(s);
  }

  Ref reduce(size_t at, const Ref& fn, const Ref& args_ref) {
    auto* g = std::get_if<Global>(&fn->value);
    if (!g) fail(at, "REDUCE of something that is not a global");
    const auto& args = as_tuple(at, args_ref, "REDUCE arguments");
    const std::string name = g->full();
    if (name == "collections.OrderedDict") {
      if (!args.empty()) fail(at, "OrderedDict() with arguments is not supported");
      return make(Dict{});
    }
    if (name == "torch._utils._rebuild_parameter") {
      if (args.empty() || !std::holds_alternative<Tensor>(args[0]->value))
        fail(at, "_rebuild_parameter expects a tensor");
      return args[0];
    }
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      if (args.size() < 4) fail(at, name + " expects (storage, offset, size, stride, ...)");
      auto* s = std::get_if<std::shared_ptr<Storage>>(&args[0]->value);
      if (!s) fail(at, name + ": first argument is not a storage");
      Tensor t;
      t.storage = *s;
      t.offset = as_int(at, args[1], "storage offset");
      t.size = int_tuple(at, args[2], "tensor size");
      t.stride = int_tuple(at, args[3], "tensor stride");
      if (t.size.size() != t.stride.size()) fail(at, "tensor size and stride differ in rank");
      return make(std::move(t));
    }
    fail(at, "pickle global '" + name + "' cannot be called");
  }

  std::vector<std::unique_ptr<Object>> arena_;
  const std::string& p_;
  const StorageLoader& storages_;
  const std::string& source_;
  size_t pos_ = 0;
  std::vector<Ref> stack_;
  std::vector<size_t> marks_;
  std::map<uint64_t, Ref> memo_;
  std::map<std::string, std::shared_ptr<Storage>> storages_by_key_;
};

// Copies a (possibly strided) view of its storage into a contiguous row-major buffer. Every
// product and sum of the file's numbers is checked: the largest element the view reaches,
// offset + sum (size - 1) * stride, must fit in 64 bits and lie inside the storage before any
// byte is copied, and then every index * stride below it fits too.
LoadedTensor materialize(const std::string& name, const Tensor& t, const std::string& source) {
  auto fail = [&](const std::string& what) { throw FormatError(source + ": tensor \"" + name + "\": " + what); };
  const uint64_t elem = core::dtype_size(t.storage->dtype);
  LoadedTensor out;
  out.dtype = t.storage->dtype;
  out.shape = t.size;
  if (t.offset < 0) fail("negative storage offset");
  uint64_t numel = 1, last = static_cast<uint64_t>(t.offset);
  for (size_t d = 0; d < t.size.size(); ++d) {
    if (t.size[d] < 0) fail("negative size");
    if (t.stride[d] < 0) fail("negative strides are not supported");
  }
  for (size_t d = 0; d < t.size.size(); ++d) {
    if (t.size[d] == 0) return out;  // no elements: nothing of the storage is read
    if (__builtin_mul_overflow(numel, static_cast<uint64_t>(t.size[d]), &numel)) fail("too many elements");
    uint64_t extent;
    if (__builtin_mul_overflow(static_cast<uint64_t>(t.size[d] - 1), static_cast<uint64_t>(t.stride[d]), &extent) ||
        __builtin_add_overflow(last, extent, &last))
      fail("view extent (size - 1) * stride overflows");
  }
  const uint64_t storage_numel = static_cast<uint64_t>(t.storage->numel);
  if (last >= storage_numel)
    fail("view [offset " + std::to_string(t.offset) + "] reaches element " + std::to_string(last) +
         " of a storage of " + std::to_string(t.storage->numel));
  // A view with stride 0 (a broadcast) can be far larger than its storage: bound the copy by
  // the storage's bytes (times a small factor, at least 64 MB), not by what the pickle claims.
  uint64_t out_bytes;
  const uint64_t max_out = std::max<uint64_t>(static_cast<uint64_t>(t.storage->bytes->size()) * 16, 64ull << 20);
  if (__builtin_mul_overflow(numel, elem, &out_bytes) || out_bytes > max_out)
    fail(std::to_string(numel) + " elements from a storage of " + std::to_string(t.storage->numel) +
         " (a broadcast view larger than any weight)");
  out.bytes.resize(static_cast<size_t>(out_bytes));
  const uint8_t* src = t.storage->bytes->data();
  // Walk the index space; contiguous tensors take the single-memcpy path.
  bool contiguous = true;
  uint64_t expect = 1;
  for (size_t d = t.size.size(); d-- > 0;) {
    if (t.size[d] != 1 && static_cast<uint64_t>(t.stride[d]) != expect) contiguous = false;
    expect *= static_cast<uint64_t>(t.size[d]);  // <= numel: cannot overflow
  }
  if (contiguous) {
    std::memcpy(out.bytes.data(), src + static_cast<size_t>(t.offset) * elem, out.bytes.size());
    return out;
  }
  // Every element index is <= last < storage_numel, so these unsigned sums cannot overflow.
  std::vector<uint64_t> index(t.size.size(), 0);
  for (uint64_t i = 0; i < numel; ++i) {
    uint64_t at = static_cast<uint64_t>(t.offset);
    for (size_t d = 0; d < index.size(); ++d) at += index[d] * static_cast<uint64_t>(t.stride[d]);
    std::memcpy(out.bytes.data() + i * elem, src + at * elem, elem);
    for (size_t d = index.size(); d-- > 0;) {
      if (++index[d] < static_cast<uint64_t>(t.size[d])) break;
      index[d] = 0;
    }
  }
  return out;
}

}  // namespace

std::map<std::string, LoadedTensor> load_torch_pickle(const std::string& pickle, const StorageLoader& storages,
                                                      const std::string& source) {
  Machine machine(pickle, storages, source);
  Ref root = machine.run();
  auto* dict = std::get_if<Dict>(&root->value);
  if (!dict) throw FormatError(source + ": the pickle is not a state dict (name -> tensor)");
  std::map<std::string, LoadedTensor> out;
  // Views may share a storage (tied weights), but all of them together may not copy out more
  // than a few times the storages' bytes: many views of one big storage would otherwise multiply it.
  const uint64_t max_total = 4 * machine.storage_bytes() + (64ull << 20);
  uint64_t total = 0;
  for (const auto& [k, v] : dict->items) {
    auto* name = std::get_if<std::string>(&k->value);
    if (!name) throw FormatError(source + ": state dict key is not a string");
    auto* t = std::get_if<Tensor>(&v->value);
    if (!t) throw FormatError(source + ": state dict entry \"" + *name + "\" is not a tensor");
    LoadedTensor loaded = materialize(*name, *t, source);
    total += loaded.bytes.size();
    if (total > max_total)
      throw FormatError(source + ": the state dict's tensors copy out more than " + std::to_string(max_total) +
                        " bytes from " + std::to_string(machine.storage_bytes()) + " bytes of storages");
    out[*name] = std::move(loaded);
  }
  return out;
}

namespace {

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};

// Reads one entry whole, refusing (before anything is inflated) one whose size exceeds
// `max_size`, or one the directory claims inflates beyond what deflate can produce.
std::vector<uint8_t> read_entry(zip_t* z, zip_int64_t index, const std::string& path, const std::string& entry,
                                uint64_t max_size, const char* limit = "it can need") {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(z, static_cast<zip_uint64_t>(index), 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
    throw FormatError(path + ": cannot stat zip entry '" + entry + "'");
  if (st.size > max_size)
    throw FormatError(path + ": zip entry '" + entry + "' is " + std::to_string(st.size) + " bytes, more than the " +
                      std::to_string(max_size) + " " + limit);
  // Deflate expands at most ~1032:1; a larger claimed size is a lie meant to make us allocate.
  const bool sizes_known = (st.valid & ZIP_STAT_COMP_SIZE) != 0;
  if (st.size > (1ull << 36) ||
      (sizes_known && (st.comp_size > (1ull << 36) || st.size > st.comp_size * 1100 + (1u << 20))))
    throw FormatError(path + ": zip entry '" + entry + "' claims an implausible size");
  std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> f(zip_fopen_index(z, static_cast<zip_uint64_t>(index), 0),
                                                       zip_fclose);
  if (!f) throw FormatError(path + ": cannot open zip entry '" + entry + "': " + zip_strerror(z));
  std::vector<uint8_t> bytes(static_cast<size_t>(st.size));
  size_t got = 0;
  while (got < bytes.size()) {
    zip_int64_t n = zip_fread(f.get(), bytes.data() + got, bytes.size() - got);
    if (n < 0) throw FormatError(path + ": zip entry '" + entry + "' is corrupt: " + zip_file_strerror(f.get()));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got != bytes.size()) throw FormatError(path + ": zip entry '" + entry + "' is truncated");
  // libzip only checks an entry's CRC-32 once a read hits its end, which the exact-size reads
  // above never do: check it here against the central directory, so that flipped bits in a
  // storage become an error instead of wrong weights.
  if (!(st.valid & ZIP_STAT_CRC))
    throw FormatError(path + ": zip entry '" + entry + "' has no CRC-32 in the zip directory");
  const uLong crc = crc32_z(crc32_z(0L, Z_NULL, 0), bytes.data(), bytes.size());
  if (crc != st.crc) {
    char detail[96];
    std::snprintf(detail, sizeof detail, "directory says %08" PRIx32 ", data has %08lx", st.crc, crc);
    throw FormatError(path + ": zip entry '" + entry + "' is corrupt (CRC-32 mismatch: " + detail + ")");
  }
  return bytes;
}

// The state dict of an opened torch zip archive.
std::map<std::string, LoadedTensor> load_archive(zip_t* z, const std::string& path, uint64_t max_storage_bytes) {
  // Entries are "<archive>/data.pkl", "<archive>/data/<key>", "<archive>/byteorder".
  std::string prefix;
  zip_int64_t pkl_index = -1;
  const zip_int64_t count = zip_get_num_entries(z, 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    const char* n = zip_get_name(z, static_cast<zip_uint64_t>(i), 0);
    if (!n) continue;
    std::string name = n;
    const std::string suffix = "data.pkl";
    if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        (name.size() == suffix.size() || name[name.size() - suffix.size() - 1] == '/') &&
        name.find('/') == name.rfind('/')) {
      pkl_index = i;
      prefix = name.substr(0, name.size() - suffix.size());
      break;
    }
  }
  if (pkl_index < 0) throw FormatError(path + ": torch checkpoint has no data.pkl entry");
  zip_int64_t bo = zip_name_locate(z, (prefix + "byteorder").c_str(), 0);
  if (bo >= 0) {
    auto b = read_entry(z, bo, path, prefix + "byteorder", 16);
    if (std::string(b.begin(), b.end()) != "little")
      throw FormatError(path + ": big-endian torch checkpoints are not supported");
  }
  auto pkl = read_entry(z, pkl_index, path, prefix + "data.pkl", kMaxPickleBytes);
  uint64_t budget = max_storage_bytes;  // what the storages may still take
  StorageLoader loader = [&](const std::string& key) {
    const std::string entry = prefix + "data/" + key;
    zip_int64_t idx = zip_name_locate(z, entry.c_str(), 0);
    if (idx < 0) throw FormatError(path + ": storage entry '" + entry + "' is missing");
    auto bytes = read_entry(z, idx, path, entry, budget,
                            "left of what config.json's model can need (the storages together)");
    budget -= bytes.size();
    return bytes;
  };
  return load_torch_pickle(std::string(pkl.begin(), pkl.end()), loader, path);
}

std::string zip_error_text(int code) {
  zip_error_t ze;
  zip_error_init_with_code(&ze, code);
  std::string msg = zip_error_strerror(&ze);
  zip_error_fini(&ze);
  return msg;
}

}  // namespace

std::map<std::string, LoadedTensor> load_torch_zip(const std::string& path, uint64_t max_storage_bytes) {
  int err = 0;
  std::unique_ptr<zip_t, ZipCloser> z(zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err));
  if (!z) {
    const std::string msg = zip_error_text(err);
    if (err == ZIP_ER_OPEN || err == ZIP_ER_NOENT || err == ZIP_ER_READ)
      throw IoError(path + ": cannot open: " + msg);
    // A file that begins like a zip (local header "PK\3\4", or a prefix of it) but that libzip
    // cannot open was cut short or damaged; only files that are no zip at all get the legacy hint.
    static const char kZipMagic[4] = {'P', 'K', '\x03', '\x04'};
    char head[4] = {};
    std::ifstream in(path, std::ios::binary);
    in.read(head, sizeof head);
    const std::streamsize n = in.gcount();
    if (in.is_open() && n == 0) throw FormatError(path + ": the file is empty (a truncated copy or download?)");
    if (n > 0 && std::memcmp(head, kZipMagic, static_cast<size_t>(n)) == 0)
      throw FormatError(path + ": truncated or corrupt zip archive (libzip: " + msg + ")");
    throw FormatError(path + ": not a torch zip checkpoint (legacy non-zip torch.save files are not supported): " + msg);
  }
  return load_archive(z.get(), path, max_storage_bytes);
}

std::map<std::string, LoadedTensor> load_torch_zip_bytes(const void* data, size_t size, const std::string& name,
                                                         uint64_t max_storage_bytes) {
  zip_error_t ze;
  zip_error_init(&ze);
  zip_source_t* src = zip_source_buffer_create(data, size, 0, &ze);
  if (!src) {
    zip_error_fini(&ze);
    throw IoError(name + ": cannot read the zip buffer");
  }
  std::unique_ptr<zip_t, ZipCloser> z(zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze));
  if (!z) {
    zip_source_free(src);
    const std::string msg = zip_error_strerror(&ze);
    zip_error_fini(&ze);
    throw FormatError(name + ": not a readable zip archive: " + msg);
  }
  zip_error_fini(&ze);
  return load_archive(z.get(), name, max_storage_bytes);
}

}  // namespace maum::convert
