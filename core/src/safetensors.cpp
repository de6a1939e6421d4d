#include "core/src/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/src/files.h"
#include "maum/error.h"

namespace maum::core {

namespace {

struct DTypeInfo {
  DType dtype;
  const char* name;
  size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::F32, "F32", 4}, {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2},
    {DType::F64, "F64", 8}, {DType::I8, "I8", 1},   {DType::U8, "U8", 1},
    {DType::I16, "I16", 2}, {DType::I32, "I32", 4}, {DType::I64, "I64", 8},
    {DType::BOOL, "BOOL", 1},
};

// A header longer than this is not a model header but an attempt to make us allocate.
constexpr uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// numel * elem_size, or false on overflow of size_t / negative dims.
bool checked_nbytes(const std::vector<int64_t>& shape, size_t elem_size, size_t* out) {
  size_t n = elem_size;
  for (int64_t d : shape) {
    if (d < 0) return false;
    auto ud = static_cast<uint64_t>(d);
    if (ud != 0 && n > std::numeric_limits<size_t>::max() / ud) return false;
    n *= static_cast<size_t>(ud);
  }
  *out = n;
  return true;
}

}  // namespace

const char* dtype_name(DType d) {
  for (const auto& t : kDTypes)
    if (t.dtype == d) return t.name;
  return "?";
}

size_t dtype_size(DType d) {
  for (const auto& t : kDTypes)
    if (t.dtype == d) return t.size;
  return 0;
}

bool parse_dtype(const std::string& name, DType* out) {
  for (const auto& t : kDTypes)
    if (name == t.name) {
      *out = t.dtype;
      return true;
    }
  return false;
}

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

SafetensorsFile::~SafetensorsFile() = default;

std::shared_ptr<const SafetensorsFile> SafetensorsFile::open(const std::string& path, Reading reading) {
  std::shared_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  file->map_ = std::make_unique<MappedFile>(path, reading);
  return parse(std::move(file));
}

std::shared_ptr<const SafetensorsFile> SafetensorsFile::from_bytes(const void* data, size_t size,
                                                                   const std::string& name) {
  std::shared_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = name;
  file->map_ = std::make_unique<MappedFile>(name, data, size);
  return parse(std::move(file));
}

std::shared_ptr<const SafetensorsFile> SafetensorsFile::parse(std::shared_ptr<SafetensorsFile> file) {
  const std::string& path = file->path_;
  const MappedFile& map = *file->map_;
  const uint8_t* bytes = map.data();
  const size_t size = map.size();
  auto fail = [&](const std::string& what) { throw FormatError(path + ": " + what); };

  if (size < 8)
    fail("not a safetensors file: " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
  map.load(0, 8);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
  if (header_len > size - 8)
    fail("header length " + std::to_string(header_len) + " is longer than the file (" +
         std::to_string(size - 8) + " bytes after the length)");
  if (header_len > kMaxHeaderBytes)
    fail("header length " + std::to_string(header_len) + " exceeds the 100 MB limit");
  if (header_len < 2) fail("header is empty");
  map.load(8, static_cast<size_t>(header_len));

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes + 8, bytes + 8 + header_len);
  } catch (const nlohmann::json::exception& e) {
    fail(std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) fail("header is not a JSON object");

  const uint8_t* data = bytes + 8 + header_len;
  const size_t data_size = size - 8 - static_cast<size_t>(header_len);
  struct Range {
    size_t begin, end;
    const std::string* name;
  };
  std::vector<Range> ranges;

  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) fail("__metadata__ is not an object");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string()) fail("__metadata__[\"" + mk + "\"] is not a string");
        file->metadata_[mk] = mv.get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor \"" + key + "\": ";
    if (!value.is_object()) fail(where + "entry is not an object");
    if (!value.contains("dtype") || !value["dtype"].is_string()) fail(where + "missing or non-string \"dtype\"");
    if (!value.contains("shape") || !value["shape"].is_array()) fail(where + "missing or non-array \"shape\"");
    if (!value.contains("data_offsets") || !value["data_offsets"].is_array() ||
        value["data_offsets"].size() != 2)
      fail(where + "\"data_offsets\" must be [begin, end]");

    TensorView t;
    t.name = key;
    const std::string dtype = value["dtype"].get<std::string>();
    if (!parse_dtype(dtype, &t.dtype)) fail(where + "unknown dtype \"" + dtype + "\"");
    for (const auto& d : value["shape"]) {
      if (!d.is_number_integer() || (d.is_number_integer() && !d.is_number_unsigned() && d.get<int64_t>() < 0))
        fail(where + "shape entries must be non-negative integers");
      uint64_t ud = d.get<uint64_t>();
      if (ud > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) fail(where + "shape entry too large");
      t.shape.push_back(static_cast<int64_t>(ud));
    }
    for (const auto& o : value["data_offsets"])
      if (!o.is_number_unsigned()) fail(where + "data_offsets must be non-negative integers");
    const uint64_t begin = value["data_offsets"][0].get<uint64_t>();
    const uint64_t end = value["data_offsets"][1].get<uint64_t>();
    if (begin > end)
      fail(where + "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "] are reversed");
    if (end > data_size)
      fail(where + "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
           "] are outside the data area (" + std::to_string(data_size) + " bytes)");
    size_t expected = 0;
    if (!checked_nbytes(t.shape, dtype_size(t.dtype), &expected))
      fail(where + "shape " + shape_string(t.shape) + " is too large");
    if (expected != end - begin)
      fail(where + dtype + " " + shape_string(t.shape) + " needs " + std::to_string(expected) +
           " bytes but data_offsets span " + std::to_string(end - begin));
    t.data = data + begin;
    t.nbytes = static_cast<size_t>(end - begin);
    auto inserted = file->tensors_.emplace(key, std::move(t));
    ranges.push_back({static_cast<size_t>(begin), static_cast<size_t>(end), &inserted.first->first});
  }

  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  const Range* previous = nullptr;
  size_t covered = 0;  // the data area up to here is exactly the tensors so far
  for (const auto& r : ranges) {
    if (r.begin == r.end) continue;  // empty tensors occupy no bytes
    if (previous && r.begin < previous->end)
      fail("tensors \"" + *previous->name + "\" and \"" + *r.name + "\" overlap");
    if (r.begin != covered)
      fail("tensor \"" + *r.name + "\" starts at byte " + std::to_string(r.begin) + " of the data area, after a gap of " +
           std::to_string(r.begin - covered) + " unused bytes");
    covered = r.end;
    previous = &r;
  }
  if (covered != data_size)
    fail(std::to_string(data_size - covered) + " bytes after the last tensor's data (a safetensors data area holds "
         "the tensors and nothing else)");
  return file;
}

const TensorView& SafetensorsFile::get(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw FormatError(path_ + ": missing tensor \"" + name + "\"");
  return it->second;
}

const TensorView& SafetensorsFile::get(const std::string& name, DType dtype,
                                       const std::vector<int64_t>& shape) const {
  const TensorView& t = get(name);
  if (t.dtype != dtype || t.shape != shape)
    throw FormatError(path_ + ": tensor \"" + name + "\" is " + dtype_name(t.dtype) + " " +
                      shape_string(t.shape) + ", expected " + dtype_name(dtype) + " " + shape_string(shape));
  return t;
}

void SafetensorsFile::release(const TensorView& tensor) const {
  if (map_) map_->release(tensor.data, tensor.nbytes);
}

const uint8_t* SafetensorsFile::load(const TensorView& tensor) const {
  return map_->load(static_cast<size_t>(tensor.data - map_->data()), tensor.nbytes);
}

void SafetensorsFile::read_into(const TensorView& tensor, void* out) const {
  map_->read_into(static_cast<size_t>(tensor.data - map_->data()), tensor.nbytes, out);
}

void SafetensorsFile::check_unchanged() const { map_->check_unchanged(); }

const std::string& SafetensorsFile::meta(const std::string& key) const {
  auto it = metadata_.find(key);
  if (it == metadata_.end()) throw FormatError(path_ + ": missing metadata \"" + key + "\"");
  return it->second;
}

void SafetensorsWriter::set_metadata(const std::string& key, const std::string& value) {
  metadata_[key] = value;
}

void SafetensorsWriter::add(const std::string& name, DType dtype, const std::vector<int64_t>& shape,
                            const void* data, size_t nbytes) {
  if (name == "__metadata__") throw InvalidArgument("tensor name \"__metadata__\" is reserved");
  for (const auto& e : entries_)
    if (e.name == name) throw InvalidArgument("duplicate tensor \"" + name + "\"");
  size_t expected = 0;
  if (!checked_nbytes(shape, dtype_size(dtype), &expected))
    throw InvalidArgument("tensor \"" + name + "\": invalid shape " + shape_string(shape));
  if (expected != nbytes)
    throw InvalidArgument("tensor \"" + name + "\": " + dtype_name(dtype) + " " + shape_string(shape) +
                          " needs " + std::to_string(expected) + " bytes, got " + std::to_string(nbytes));
  Entry e{name, dtype, shape, {}};
  if (nbytes) {
    const auto* p = static_cast<const uint8_t*>(data);
    e.bytes.assign(p, p + nbytes);
  }
  entries_.push_back(std::move(e));
}

void SafetensorsWriter::write(const std::string& path) const {
  std::vector<const Entry*> order;
  for (const auto& e : entries_) order.push_back(&e);
  std::stable_sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    return dtype_size(a->dtype) > dtype_size(b->dtype);
  });

  nlohmann::json header = nlohmann::json::object();
  if (!metadata_.empty()) {
    nlohmann::json meta = nlohmann::json::object();
    for (const auto& [k, v] : metadata_) meta[k] = v;
    header["__metadata__"] = std::move(meta);
  }
  uint64_t offset = 0;
  for (const Entry* e : order) {
    header[e->name] = {{"dtype", dtype_name(e->dtype)},
                       {"shape", e->shape},
                       {"data_offsets", {offset, offset + e->bytes.size()}}};
    offset += e->bytes.size();
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    throw InvalidArgument(path + ": metadata or tensor names are not valid UTF-8: " + e.what());
  }
  while ((8 + text.size()) % 8 != 0) text.push_back(' ');

  write_file_atomically(path, [&](std::FILE* f) {
    uint8_t len_bytes[8];
    const uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<uint8_t>(n >> (8 * i));
    bool ok = std::fwrite(len_bytes, 1, 8, f) == 8 && std::fwrite(text.data(), 1, text.size(), f) == text.size();
    for (const Entry* e : order) {
      if (!ok) break;
      if (!e->bytes.empty()) ok = std::fwrite(e->bytes.data(), 1, e->bytes.size(), f) == e->bytes.size();
    }
    return ok;
  });
}

}  // namespace maum::core
