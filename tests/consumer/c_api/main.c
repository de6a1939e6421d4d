/* A C99 program on the maum C API: load, info and labels, tokenize and classify a golden text
 * (ids must equal the reference's, the top label the reference's argmax, probabilities sum to 1),
 * a batch, and the error paths (status code + message, no crash).
 *   consumer_c MODEL TEXT IDS PROBS   (comma-separated, the reference's at temperature 1) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <maum/maum.h>

#define CHECK(cond, ...)                                 \
  do {                                                   \
    if (!(cond)) {                                       \
      fprintf(stderr, "check failed: %s: ", #cond);      \
      fprintf(stderr, __VA_ARGS__);                      \
      fprintf(stderr, "\n");                             \
      return 1;                                          \
    }                                                    \
  } while (0)

int main(int argc, char** argv) {
  maum_model* model = NULL;
  maum_model_info info;
  maum_encoding* encoding = NULL;
  const char* texts[3];
  float probs[3 * 64];
  int32_t top[3];
  size_t i, n = 0;
  char* ids_text;
  char* token;
  long expected_top = 0;
  double sum = 0, best = -1;

  if (argc != 5) {
    fprintf(stderr, "usage: consumer_c MODEL TEXT IDS PROBS\n");
    return 2;
  }
  for (token = strtok(argv[4], ","), i = 0; token != NULL; token = strtok(NULL, ","), ++i) {
    if (strtod(token, NULL) > best) {
      best = strtod(token, NULL);
      expected_top = (long)i;
    }
  }
  CHECK(strlen(maum_version()) > 0, "version");

  CHECK(maum_model_load("/nonexistent/model.safetensors", &model) == MAUM_ERROR_IO, "missing file");
  CHECK(model == NULL && strstr(maum_last_error(), "/nonexistent/model.safetensors") != NULL,
        "message: %s", maum_last_error());
  CHECK(maum_model_load(NULL, &model) == MAUM_ERROR_INVALID_ARGUMENT, "NULL path");

  CHECK(maum_model_load(argv[1], &model) == MAUM_OK, "%s", maum_last_error());
  CHECK(maum_model_get_info(model, &info) == MAUM_OK, "%s", maum_last_error());
  CHECK(info.num_labels > 0 && info.num_labels <= 64, "num_labels %u", (unsigned)info.num_labels);
  CHECK(maum_model_label(model, info.num_labels) == NULL, "label out of range");

  CHECK(maum_tokenize(model, argv[2], &encoding) == MAUM_OK, "%s", maum_last_error());
  ids_text = argv[3];
  for (token = strtok(ids_text, ","); token != NULL; token = strtok(NULL, ","), ++n) {
    CHECK(n < maum_encoding_length(encoding), "too few tokens");
    CHECK(maum_encoding_ids(encoding)[n] == atoi(token), "id %u", (unsigned)n);
  }
  CHECK(n == maum_encoding_length(encoding), "token count %u vs %u", (unsigned)n,
        (unsigned)maum_encoding_length(encoding));
  CHECK(maum_encoding_offsets(encoding)[0] == 0 && maum_encoding_offsets(encoding)[1] == 0,
        "[CLS] offsets");
  maum_encoding_free(encoding);

  texts[0] = argv[2];
  texts[1] = "오늘 정말 행복한 하루였어요";
  texts[2] = "";
  CHECK(maum_classify(model, texts, 3, probs, NULL, top) == MAUM_OK, "%s", maum_last_error());
  CHECK(top[0] == expected_top, "top %d, reference %ld", (int)top[0], expected_top);
  for (i = 0; i < info.num_labels; ++i) sum += probs[i];
  CHECK(info.multi_label || fabs(sum - 1.0) < 1e-5, "sum %f", sum);

  texts[1] = "\xff\xfe not UTF-8";
  CHECK(maum_classify(model, texts, 2, probs, NULL, NULL) == MAUM_ERROR_INVALID_ARGUMENT, "bad UTF-8");
  CHECK(strlen(maum_last_error()) > 0, "message");
  CHECK(maum_classify(model, texts, 1, NULL, NULL, NULL) == MAUM_ERROR_INVALID_ARGUMENT, "NULL probs");

  printf("%s %.4f\n", maum_model_label(model, (size_t)top[0]), probs[top[0]]);
  maum_model_free(model);
  return 0;
}
