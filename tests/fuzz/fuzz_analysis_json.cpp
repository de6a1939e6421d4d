// libFuzzer target: the analysis layer's JSON readers on arbitrary text: a policy
// (Policy::from_json, check_labels), a label map (LabelMap::from_json) and a fusion spec
// (Fusion::from_json, parse_input), each against the ko_single7 labels; whatever parses is then
// run through an AnalysisPipeline on fixed logits and serialized. The first byte picks the reader.
// The only acceptable failure is maum::Error.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "maum/analysis.h"
#include "maum/error.h"

namespace {

const std::vector<std::string> kLabels = {"fear", "surprise", "anger", "sadness", "neutral", "happiness", "disgust"};
const std::vector<float> kLogits = {0.5f, -1.f, 2.f, 0.f, 1.f, 3.f, -2.f};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0] % 3;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    if (mode == 0) {
      maum::Policy p = maum::Policy::from_json(text, "fuzz.json");
      (void)maum::Policy::from_json(p.to_json(), "round trip");  // what it writes, it reads
      p.check_labels(kLabels, "fuzz.json");
      maum::AnalysisPipeline pipe(kLabels, false, 1.0, p);
      (void)pipe.run(kLogits).to_json();
    } else if (mode == 1) {
      maum::LabelMap m = maum::LabelMap::from_json(text, kLabels, "fuzz.json");
      maum::AnalysisPipeline pipe(kLabels, true, 1.0, maum::Policy{}, m);
      (void)pipe.run(kLogits).to_json();
    } else {
      maum::Fusion f = maum::Fusion::from_json(text, kLabels, "fuzz.json");
      std::map<std::string, std::vector<double>> inputs;
      for (const auto& name : f.input_names()) {
        std::string probs = "{";
        for (const auto& l : f.input_labels(name)) probs += (probs.size() > 1 ? ",\"" : "\"") + l + "\":0.5";
        inputs[name] = f.parse_input(name, probs + "}");
      }
      maum::AnalysisPipeline pipe(kLabels, false, 1.0, maum::Policy{}, std::nullopt, f);
      (void)pipe.run(kLogits, inputs).to_json();
    }
  } catch (const maum::Error&) {
  }
  return 0;
}
