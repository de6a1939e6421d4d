// Internal: reads the Keras HDF5 weights file that transformers' TF classes save (tf_model.h5)
// through libhdf5, returning the tensors under their PyTorch names (transformers' rule, as its
// convert_tf_weight_name_to_pt_weight_name applies it): the model scope dropped, `layer_._i` ->
// `layer.i`, kernel -> weight (transposed to PyTorch's [out, in]), embeddings/gamma -> weight,
// beta -> bias. Layout: root attribute `layer_names` (possibly split into layer_names0, 1, ...),
// one group per layer with attribute `weight_names`, one float dataset per weight name.
// Everything the file claims is checked (attribute and name sizes, dataset class, rank and
// dimensions in checked arithmetic, the total against a byte budget) before memory is allocated;
// a corrupt or truncated file is a FormatError, libhdf5's own error printing is off.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "convert/src/torch_pickle.h"  // LoadedTensor, kNoLimit

namespace maum::convert {

// Every weight of `path` as F32 (float16/64 datasets converted by libhdf5), at most
// `max_bytes` bytes of tensors in all.
std::map<std::string, LoadedTensor> load_tf_h5(const std::string& path, uint64_t max_bytes = kNoLimit);
// The same over an HDF5 file image in memory (libhdf5's core driver; `name` in messages).
std::map<std::string, LoadedTensor> load_tf_h5_bytes(const void* data, size_t size, const std::string& name,
                                                     uint64_t max_bytes = kNoLimit);

// transformers' TF -> PyTorch weight name rule; `transpose` is set for Dense kernels.
std::string tf_to_pt_name(const std::string& tf_name, bool& transpose);

}  // namespace maum::convert
