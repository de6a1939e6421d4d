// libFuzzer target: the torch checkpoint reader (convert/src/torch_pickle). The first byte picks
// the entry point: even, the rest is a data.pkl run against storages of a few bytes (the bytes
// and size derive from the key, so shared, short and long storages all occur); odd, the rest is a
// whole torch zip read from memory (libzip, CRC checks, entry-size bounds, then the pickle).
// The only acceptable failure is maum::Error (FormatError / IoError); every tensor returned must
// hold exactly numel x element size bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "convert/src/torch_pickle.h"
#include "maum/error.h"

namespace {

void check(const std::map<std::string, maum::convert::LoadedTensor>& tensors) {
  for (const auto& [name, t] : tensors) {
    uint64_t n = maum::core::dtype_size(t.dtype);
    for (int64_t d : t.shape) {
      if (d < 0) __builtin_trap();
      n *= static_cast<uint64_t>(d);
    }
    if (n != t.bytes.size()) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool zip = data[0] & 1;
  ++data;
  --size;
  try {
    if (zip) {
      check(maum::convert::load_torch_zip_bytes(data, size, "fuzz.bin", 64u << 20));
    } else {
      const std::string pickle(reinterpret_cast<const char*>(data), size);
      auto storages = [](const std::string& key) {
        size_t n = 0;
        for (unsigned char c : key) n = n * 31 + c;
        std::vector<uint8_t> bytes(n % 97);
        for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7 + n);
        return bytes;
      };
      check(maum::convert::load_torch_pickle(pickle, storages, "fuzz.pkl"));
    }
  } catch (const maum::Error&) {
  }
  return 0;
}
