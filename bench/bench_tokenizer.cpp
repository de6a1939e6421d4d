// Tokenizer throughput on the 100k NSMC movie reviews (shared/data/nsmc/reviews100k.tsv, text
// column): texts/s and bytes/s, single-threaded encode and encode_batch at 1 and 2 threads.
// Compare with HF tokenizers in the same session:
//   node shared/tools/bench_tok.js shared/vocab/klue-bert-base <texts file>
// MAUM_BENCH_VOCAB=bpe-roberta-style (a folder of shared/vocab) benches another tokenizer, e.g.
// the byte-level BPE one; MAUM_BENCH_TEXTS=FILE other texts (one per line).
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "maum/tokenizer.h"

namespace {

std::string shared_dir() {
  const char* env = std::getenv("MAUM_SHARED");
  return env && *env ? env : MAUM_SHARED_DEFAULT;
}

struct Corpus {
  std::vector<std::string> texts;
  size_t bytes = 0;
  maum::Tokenizer tokenizer = maum::Tokenizer::from_dir(
      shared_dir() + "/vocab/" +
      (std::getenv("MAUM_BENCH_VOCAB") && *std::getenv("MAUM_BENCH_VOCAB") ? std::getenv("MAUM_BENCH_VOCAB")
                                                                           : "klue-bert-base"));

  Corpus() {
    // MAUM_BENCH_TEXTS=FILE: one text per line instead (the file bench_tok.js gets).
    const char* texts_file = std::getenv("MAUM_BENCH_TEXTS");
    const bool plain = texts_file && *texts_file;
    std::ifstream in(plain ? std::string(texts_file) : shared_dir() + "/data/nsmc/reviews100k.tsv");
    std::string line;
    bool header = !plain;
    while (std::getline(in, line)) {
      if (header) { header = false; continue; }
      const size_t tab = plain ? std::string::npos : line.rfind('\t');
      std::string text = tab == std::string::npos ? line : line.substr(0, tab);
      if (text.empty()) continue;
      bytes += text.size();
      texts.push_back(std::move(text));
    }
  }
};

const Corpus& corpus() {
  static const Corpus c;
  return c;
}

void report(benchmark::State& state, const Corpus& c) {
  state.counters["texts/s"] = benchmark::Counter(static_cast<double>(c.texts.size()) * state.iterations(),
                                                 benchmark::Counter::kIsRate);
  state.counters["MB/s"] = benchmark::Counter(static_cast<double>(c.bytes) * state.iterations() / 1e6,
                                              benchmark::Counter::kIsRate);
}

void BM_Encode(benchmark::State& state) {
  const Corpus& c = corpus();
  if (c.texts.empty()) { state.SkipWithError("nsmc corpus not found (set MAUM_SHARED)"); return; }
  for (auto _ : state) {
    size_t tokens = 0;
    for (const auto& t : c.texts) tokens += c.tokenizer.encode(t).ids.size();
    benchmark::DoNotOptimize(tokens);
  }
  report(state, c);
}
BENCHMARK(BM_Encode)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_EncodeBatch(benchmark::State& state) {
  const Corpus& c = corpus();
  if (c.texts.empty()) { state.SkipWithError("nsmc corpus not found (set MAUM_SHARED)"); return; }
  for (auto _ : state) {
    auto out = c.tokenizer.encode_batch(c.texts, {}, static_cast<int>(state.range(0)));
    benchmark::DoNotOptimize(out.data());
  }
  report(state, c);
}
BENCHMARK(BM_EncodeBatch)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
