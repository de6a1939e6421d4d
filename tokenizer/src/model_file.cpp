// Tokenizer::from_model_file: the "maum.tokenizer" metadata of a converted model (docs/FORMAT.md).
#include "maum/error.h"
#include "maum/tokenizer.h"

#include "core/src/safetensors.h"

namespace maum {

Tokenizer Tokenizer::from_model_file(const std::string& path) {
  auto file = core::SafetensorsFile::open(path);
  if (!file->metadata().count("maum.tokenizer"))
    throw FormatError(path + ": not a maum model file (no \"maum.tokenizer\" metadata); convert a "
                      "Hugging Face checkpoint first: maum convert HF_DIR OUT.safetensors");
  try {
    return from_serialized(file->meta("maum.tokenizer"));
  } catch (const FormatError& e) {
    throw FormatError(path + ": metadata \"maum.tokenizer\": " + e.what());
  }
}

}  // namespace maum
