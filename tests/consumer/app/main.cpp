// An outside program on libmaum's C++ API, built by each consumer project (find_package,
// add_subdirectory, pkg-config): loads a converted model, tokenizes and classifies one golden text
// and checks ids and probabilities (temperature 1) against the PyTorch reference's.
//   consumer_app MODEL TEXT IDS PROBS     (IDS, PROBS: comma-separated, from ../shared/golden)
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <maum/error.h>
#include <maum/model.h>

template <typename T>
std::vector<T> parse_list(const std::string& text) {
  std::vector<T> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(static_cast<T>(std::stod(item)));
  return out;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: consumer_app MODEL TEXT IDS PROBS\n");
    return 2;
  }
  try {
    const maum::Model model = maum::Model::load(argv[1]);
    const std::string text = argv[2];
    const auto ids = parse_list<int32_t>(argv[3]);
    const auto probs = parse_list<double>(argv[4]);
    if (model.tokenizer().encode(text).ids != ids) {
      std::fprintf(stderr, "token ids differ from the golden ones\n");
      return 1;
    }
    maum::ClassifyOptions options;
    options.temperature = 1;  // the reference's softmax
    const maum::Classification c = model.classify({text}, options)[0];
    if (c.probs.size() != probs.size()) return 1;
    for (size_t i = 0; i < probs.size(); ++i) {
      if (std::fabs(c.probs[i] - probs[i]) > 1e-4) {
        std::fprintf(stderr, "p[%zu] = %.6f, reference %.6f\n", i, c.probs[i], probs[i]);
        return 1;
      }
    }
    std::printf("%s %.4f\n", model.info().labels[c.top].c_str(), c.probs[c.top]);
  } catch (const maum::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  try {
    maum::Model::load("/nonexistent/model.safetensors");
    return 1;
  } catch (const maum::IoError&) {
  }
  return 0;
}
