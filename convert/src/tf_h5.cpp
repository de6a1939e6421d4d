#include "convert/src/tf_h5.h"

#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <regex>
#include <set>
#include <vector>

#include "maum/error.h"

namespace maum::convert {
namespace {

// Bounds on what the file's attributes may make the reader allocate: Keras splits a name list
// into attributes of at most 64,512 bytes (hdf5_format.HDF5_OBJECT_HEADER_LIMIT), so a BERT-large
// checkpoint's ~400 names need one; these leave room for any real model.
constexpr uint64_t kMaxAttributeBytes = 64ull << 20;  // all name attributes together
constexpr uint64_t kMaxNames = 1u << 20;               // layer and weight names together
constexpr size_t kMaxNameBytes = 1u << 16;             // one name
constexpr int kMaxAttributeChunks = 1 << 16;           // name0, name1, ...
constexpr int kMaxRank = 4;
constexpr uint64_t kMaxDim = uint64_t{1} << 31;

// libhdf5 (Debian's serial build) is not thread-safe: one reader at a time.
std::mutex& hdf5_mutex() {
  static std::mutex m;
  return m;
}

// An HDF5 identifier closed by its own close function.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

class Reader {
 public:
  Reader(const std::string& name, uint64_t max_bytes) : name_(name), max_bytes_(max_bytes) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError(name_ + ": " + what + " (not a Keras HDF5 weights file, or it is corrupt or truncated)");
  }

  std::map<std::string, LoadedTensor> read(hid_t file) {
    std::map<std::string, LoadedTensor> out;
    const std::vector<std::string> layers = names(file, "layer_names", "the file");
    for (const std::string& layer : layers) {
      if (layer.empty()) fail("an empty layer name");
      Handle group(H5Gopen2(file, layer.c_str(), H5P_DEFAULT), H5Gclose);
      if (!group.ok()) fail("layer \"" + layer + "\" has no group");
      for (const std::string& weight : names(group.get(), "weight_names", "layer \"" + layer + "\"")) {
        bool transpose = false;
        const std::string pt = tf_to_pt_name(weight, transpose);
        LoadedTensor t = dataset(group.get(), layer, weight, transpose);
        if (!out.emplace(pt, std::move(t)).second)
          fail("two weights map to \"" + pt + "\" (the second is \"" + layer + "/" + weight + "\")");
      }
    }
    return out;
  }

 private:
  // A list-of-strings attribute `key`, or its Keras chunks key0, key1, ...
  std::vector<std::string> names(hid_t object, const std::string& key, const std::string& where) {
    std::vector<std::string> out;
    htri_t whole = H5Aexists(object, key.c_str());
    if (whole < 0) fail(where + ": cannot read its attributes");
    if (whole > 0) {
      append_strings(object, key, where, out);
      return out;
    }
    int chunk = 0;
    for (;; ++chunk) {
      if (chunk >= kMaxAttributeChunks) fail(where + ": too many \"" + key + "N\" attributes");
      const std::string name = key + std::to_string(chunk);
      htri_t exists = H5Aexists(object, name.c_str());
      if (exists < 0) fail(where + ": cannot read its attributes");
      if (exists == 0) break;
      append_strings(object, name, where, out);
    }
    if (chunk == 0) fail(where + " has no \"" + key + "\" attribute");
    return out;
  }

  void append_strings(hid_t object, const std::string& key, const std::string& where,
                      std::vector<std::string>& out) {
    const std::string what = where + ": attribute \"" + key + "\"";
    Handle attr(H5Aopen(object, key.c_str(), H5P_DEFAULT), H5Aclose);
    if (!attr.ok()) fail(what + " cannot be opened");
    Handle type(H5Aget_type(attr.get()), H5Tclose);
    Handle space(H5Aget_space(attr.get()), H5Sclose);
    if (!type.ok() || !space.ok()) fail(what + " has no readable type or shape");
    const hssize_t points = H5Sget_simple_extent_npoints(space.get());
    if (points < 0) fail(what + " has no readable shape");
    if (points == 0) return;  // Keras writes an empty list as an empty float array
    if (H5Tget_class(type.get()) != H5T_STRING) fail(what + " is not a list of strings");
    const uint64_t n = static_cast<uint64_t>(points);
    names_ += n;
    if (n > kMaxNames || names_ > kMaxNames) fail(what + ": more than " + std::to_string(kMaxNames) + " names");
    const htri_t variable = H5Tis_variable_str(type.get());
    if (variable < 0) fail(what + " has an unreadable string type");
    if (variable > 0) {
      Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
      if (!mem.ok() || H5Tset_size(mem.get(), H5T_VARIABLE) < 0) fail(what + ": cannot read strings");
      std::vector<char*> ptrs(n, nullptr);
      if (H5Aread(attr.get(), mem.get(), ptrs.data()) < 0) {
        // A read that failed part way may have allocated some strings already.
        H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
        fail(what + " cannot be read");
      }
      std::string problem;
      for (char* p : ptrs) {
        const size_t len = p ? strnlen(p, kMaxNameBytes + 1) : 0;
        attribute_bytes_ += len;
        if (len > kMaxNameBytes) problem = "a name longer than " + std::to_string(kMaxNameBytes) + " bytes";
        else if (attribute_bytes_ > kMaxAttributeBytes) problem = "names over " + std::to_string(kMaxAttributeBytes) + " bytes";
        if (!problem.empty()) break;
        out.emplace_back(p ? p : "", len);
      }
      H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
      if (!problem.empty()) fail(what + ": " + problem);
      return;
    }
    const size_t size = H5Tget_size(type.get());
    if (size == 0 || size > kMaxNameBytes) fail(what + ": strings of " + std::to_string(size) + " bytes");
    // n <= 2^20 and size <= 2^16: the product cannot overflow.
    attribute_bytes_ += n * size;
    if (attribute_bytes_ > kMaxAttributeBytes) fail(what + ": names over " + std::to_string(kMaxAttributeBytes) + " bytes");
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    if (!mem.ok() || H5Tset_size(mem.get(), size) < 0 || H5Tset_strpad(mem.get(), H5T_STR_NULLPAD) < 0)
      fail(what + ": cannot read strings");
    std::vector<char> buf(n * size);
    if (H5Aread(attr.get(), mem.get(), buf.data()) < 0) fail(what + " cannot be read");
    for (uint64_t i = 0; i < n; ++i) {
      const char* s = buf.data() + i * size;
      out.emplace_back(s, strnlen(s, size));
    }
  }

  LoadedTensor dataset(hid_t group, const std::string& layer, const std::string& weight, bool transpose) {
    const std::string what = "weight \"" + layer + "/" + weight + "\"";
    if (weight.empty()) fail("layer \"" + layer + "\" lists an empty weight name");
    Handle d(H5Dopen2(group, weight.c_str(), H5P_DEFAULT), H5Dclose);
    if (!d.ok()) fail(what + " is listed in weight_names but has no dataset");
    Handle type(H5Dget_type(d.get()), H5Tclose);
    Handle space(H5Dget_space(d.get()), H5Sclose);
    if (!type.ok() || !space.ok()) fail(what + " has no readable type or shape");
    if (H5Tget_class(type.get()) != H5T_FLOAT)
      throw FormatError(name_ + ": " + what + " is not a floating-point dataset");
    const size_t element = H5Tget_size(type.get());
    if (element != 2 && element != 4 && element != 8)
      throw FormatError(name_ + ": " + what + " has " + std::to_string(element) +
                        "-byte elements, expected float16, float32 or float64");
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0 || rank > kMaxRank) fail(what + " has an unreadable shape");
    hsize_t dims[kMaxRank] = {};
    if (rank > 0 && H5Sget_simple_extent_dims(space.get(), dims, nullptr) != rank)
      fail(what + " has an unreadable shape");
    LoadedTensor t;
    t.dtype = core::DType::F32;
    uint64_t numel = 1;
    for (int i = 0; i < rank; ++i) {
      if (dims[i] > kMaxDim) fail(what + " has a dimension of " + std::to_string(dims[i]));
      // numel <= 2^31 after each step (checked below), dims <= 2^31: no overflow.
      numel *= dims[i];
      if (numel > kMaxDim) fail(what + " has more than 2^31 elements");
      t.shape.push_back(static_cast<int64_t>(dims[i]));
    }
    const uint64_t bytes = numel * sizeof(float);
    total_bytes_ += bytes;
    if (total_bytes_ > max_bytes_)
      throw FormatError(name_ + ": the weights exceed " + std::to_string(max_bytes_) +
                        " bytes, more than config.json's model can hold (at " + what + ")");
    if (transpose && rank != 2)
      throw FormatError(name_ + ": " + what + " is a Dense kernel of rank " + std::to_string(rank) + ", expected 2");
    std::vector<float> values(numel);
    if (numel > 0 && H5Dread(d.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0)
      fail(what + " cannot be read");
    t.bytes.resize(bytes);
    if (transpose) {
      // Keras Dense kernels are [in, out]; PyTorch's Linear weight is [out, in].
      const size_t rows = dims[0], cols = dims[1];
      auto* dst = reinterpret_cast<float*>(t.bytes.data());
      for (size_t r = 0; r < rows; ++r)
        for (size_t c = 0; c < cols; ++c) dst[c * rows + r] = values[r * cols + c];
      t.shape = {static_cast<int64_t>(cols), static_cast<int64_t>(rows)};
    } else if (bytes) {
      std::memcpy(t.bytes.data(), values.data(), bytes);
    }
    return t;
  }

  std::string name_;
  uint64_t max_bytes_;
  uint64_t total_bytes_ = 0, attribute_bytes_ = 0, names_ = 0;
};

hid_t strong_close_fapl() {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl >= 0) H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
  return fapl;
}

}  // namespace

std::string tf_to_pt_name(const std::string& tf_name, bool& transpose) {
  std::string n = tf_name;
  // "name:0" -> "name"
  if (const size_t colon = n.rfind(':');
      colon != std::string::npos && colon + 1 < n.size() &&
      n.find_first_not_of("0123456789", colon + 1) == std::string::npos)
    n.resize(colon);
  static const std::regex scope(R"(/[^/]*___([^/]*)/)");  // "a___b" scope -> "b"
  n = std::regex_replace(n, scope, "/$1/");
  for (size_t at; (at = n.find("_._")) != std::string::npos;) n.replace(at, 3, "/");  // layer_._3 -> layer/3
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= n.size()) {
    const size_t slash = std::min(n.find('/', start), n.size());
    if (slash > start) parts.push_back(n.substr(start, slash - start));  // "//" collapses
    start = slash + 1;
  }
  if (parts.size() > 1) parts.erase(parts.begin());  // the Keras model scope
  transpose = false;
  if (!parts.empty()) {
    std::string& last = parts.back();
    if (last == "kernel") {
      transpose = true;
      last = "weight";
    } else if (last == "embeddings" || last == "gamma") {
      last = "weight";
    } else if (last == "beta") {
      last = "bias";
    }
  }
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "." : "") + parts[i];
  return out;
}

std::map<std::string, LoadedTensor> load_tf_h5(const std::string& path, uint64_t max_bytes) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw IoError(path + ": cannot open (not a file)");
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors become FormatErrors, not stderr noise
  Reader reader(path, max_bytes);
  if (H5Fis_hdf5(path.c_str()) <= 0)
    reader.fail("no HDF5 signature");
  Handle fapl(strong_close_fapl(), H5Pclose);
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
  if (!file.ok()) reader.fail("libhdf5 cannot open it");
  return reader.read(file.get());
}

std::map<std::string, LoadedTensor> load_tf_h5_bytes(const void* data, size_t size, const std::string& name,
                                                     uint64_t max_bytes) {
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  Reader reader(name, max_bytes);
  // Without an image the core driver would open `name` on disk: an empty or short buffer is
  // refused first (an HDF5 file starts with an 8-byte signature).
  if (!data || size < 8) reader.fail("shorter than an HDF5 signature");
  Handle fapl(strong_close_fapl(), H5Pclose);
  if (!fapl.ok() || H5Pset_fapl_core(fapl.get(), 1 << 16, /*backing_store=*/0) < 0 ||
      H5Pset_file_image(fapl.get(), const_cast<void*>(data), size) < 0)
    throw FormatError(name + ": libhdf5 cannot take the file image");
  Handle file(H5Fopen(name.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
  if (!file.ok()) reader.fail("libhdf5 cannot open it");
  return reader.read(file.get());
}

}  // namespace maum::convert
