/* maum C API (C99): load a converted model file, classify texts, tokenize, query labels and info.
 *
 * Every function that can fail returns a maum_status; on failure maum_last_error() gives a one-line
 * message (the same text the C++ library's maum::Error carries) for the calling thread. No C++
 * exception crosses this API. Handles are opaque; a loaded maum_model may be used from several
 * threads at once (classify and tokenize are const). Strings are UTF-8, NUL-terminated.
 *
 * Link: the shared libmaum.so exports exactly the maum_* symbols below (CMake maum::maum_shared);
 * the static libmaum.a (maum::maum, pkg-config maum) has them too.
 */
#ifndef MAUM_MAUM_H
#define MAUM_MAUM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MAUM_C_API __attribute__((visibility("default")))
#else
#define MAUM_C_API
#endif

typedef enum maum_status {
  MAUM_OK = 0,
  MAUM_ERROR_IO = 1,               /* a file could not be opened, read or mapped */
  MAUM_ERROR_FORMAT = 2,           /* a model file is malformed or unsupported */
  MAUM_ERROR_INVALID_ARGUMENT = 3, /* bad argument: NULL pointer, invalid UTF-8, out of range */
  MAUM_ERROR_OUT_OF_MEMORY = 4,
  MAUM_ERROR_INTERNAL = 5          /* anything else (a bug: please report it) */
} maum_status;

typedef struct maum_model maum_model;
typedef struct maum_encoding maum_encoding;

typedef struct maum_model_info {
  const char* model_type;   /* "bert", "electra", "roberta", "distilbert" */
  const char* problem_type; /* "single_label_classification" | "multi_label_classification" */
  const char* weight_type;  /* "f32" | "int8" */
  int multi_label;          /* 1: probabilities are per-label sigmoids; 0: one softmax */
  float temperature;        /* the calibrated softmax temperature the probabilities use */
  size_t num_labels, hidden_size, num_layers, num_heads, max_position_embeddings;
} maum_model_info;

/* "0.1.0" */
MAUM_C_API const char* maum_version(void);
/* The message of the last failed call on this thread ("" if none). Valid until the next call. */
MAUM_C_API const char* maum_last_error(void);
/* Threads for the engine's intra-op parallelism, process-wide (0: number of cores). */
MAUM_C_API maum_status maum_set_num_threads(int threads);

/* Loads a maum model file (written by `maum convert`). *out is NULL on failure. */
MAUM_C_API maum_status maum_model_load(const char* path, maum_model** out);
MAUM_C_API void maum_model_free(maum_model* model); /* NULL is fine */

MAUM_C_API maum_status maum_model_get_info(const maum_model* model, maum_model_info* out);
/* Label `index` (id order) or NULL if out of range; owned by the model. */
MAUM_C_API const char* maum_model_label(const maum_model* model, size_t index);

/* Classifies `count` texts. probs (required) receives count x num_labels floats, row by row;
 * logits (may be NULL) the same for the raw logits; top (may be NULL) count label indices
 * (argmax of each row). Texts longer than the model's maximum are truncated. */
MAUM_C_API maum_status maum_classify(const maum_model* model, const char* const* texts,
                                     size_t count, float* probs, float* logits, int32_t* top);

/* Tokenizes one text with the model's tokenizer ([CLS] ... [SEP], no truncation). */
MAUM_C_API maum_status maum_tokenize(const maum_model* model, const char* text,
                                     maum_encoding** out);
MAUM_C_API size_t maum_encoding_length(const maum_encoding* encoding);
MAUM_C_API const int32_t* maum_encoding_ids(const maum_encoding* encoding);
MAUM_C_API const int32_t* maum_encoding_type_ids(const maum_encoding* encoding);
/* 2 x length values: [begin, end) of each token in code points of the text ([0, 0] specials). */
MAUM_C_API const uint32_t* maum_encoding_offsets(const maum_encoding* encoding);
MAUM_C_API void maum_encoding_free(maum_encoding* encoding); /* NULL is fine */

#ifdef __cplusplus
}
#endif

#endif /* MAUM_MAUM_H */
