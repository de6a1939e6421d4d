// Internal: the one softmax and sigmoid with temperature, shared by the engine (Classification's
// probabilities) and the analysis layer (maum::softmax / maum::sigmoid, the pipeline, metrics).
#pragma once
#include <vector>

namespace maum::core {

// softmax(logits / temperature) in double, stable for large logits. temperature must be > 0
// (InvalidArgument otherwise).
std::vector<double> softmax(const std::vector<float>& logits, double temperature);
// sigmoid(logits / temperature) per element, stable for large |logit|.
std::vector<double> sigmoid(const std::vector<float>& logits, double temperature);

}  // namespace maum::core
