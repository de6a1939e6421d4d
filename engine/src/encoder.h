// Internal: the BERT-family (BERT, ELECTRA, RoBERTa, DistilBERT) encoder and classification head over a packed batch. The batch's
// tokens sit back to back in one [total_tokens, H] matrix, so dense layers run on real tokens only
// and attention runs per (sequence, head) over that sequence's own tokens: no padding, no mask,
// nothing can leak between sequences, and a text's result does not depend on its batch-mates.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/src/weights.h"

namespace maum::engine {

struct SequenceRef {
  const int32_t* ids = nullptr;
  const int32_t* type_ids = nullptr;  // null: all 0; ignored by a model without token types
  size_t length = 0;
};

// Raw logits [sequences.size()][labels] for sequences of 1..config.max_tokens() tokens each
// (ids including [CLS]/[SEP]). Throws InvalidArgument for an empty sequence, one longer than the
// model's positions, or an id / type id out of range.
std::vector<std::vector<float>> encode_and_classify(const ModelConfig& config,
                                                    const Weights& weights,
                                                    const std::vector<SequenceRef>& sequences);

// Throws InvalidArgument, naming the sequence's index in `sequences`, for an empty sequence, one
// longer than the model's positions, or an id / type id out of range (what encode_and_classify
// checks first; model.cpp checks the caller's inputs in the caller's order before it sorts them).
void check_sequences(const ModelConfig& config, const std::vector<SequenceRef>& sequences);

// The batch cut into `groups` runs of consecutive sequences with about equal token counts (the
// cost of a sequence's dense layers, most of its time), each run in order; empty when a run would
// be empty or the largest would exceed 1.25x an even share, where the intra-op split balances
// better. What encode_and_classify hands each thread when it runs sequences in parallel.
std::vector<std::vector<SequenceRef>> split_by_tokens(const std::vector<SequenceRef>& sequences,
                                                      size_t groups);

}  // namespace maum::engine
