// maum bench --model M [--seq 128 --batch 1 --iters 20 --warmup 3 --json]: forward-pass latency
// of the model on synthetic token ids ([CLS] + pseudo-random ids + [SEP], `seq` tokens each,
// `batch` sequences per call), with the thread count from the global --threads.
//
// FLOPs per forward (one sequence of L tokens, hidden H, FFN I, `layers` layers, multiply-add = 2):
//   linear: 2·L·(4·H² + 2·H·I) per layer (qkv 3H², attention output H², FFN up and down H·I)
//   attention: 4·L²·H per layer (Q·Kᵀ and P·V)
//   head: 2·(H² + H·labels) on [CLS]
// (embeddings, LayerNorm, softmax and GELU are not counted). % of peak divides by
// threads × clock × peak ops/cycle of the selected ISA on this CPU (maum::kernel_info(),
// 2 ops per multiply-add: fp32 AVX-512 64, AVX2 32, scalar 2; int8 VNNI 256, AVX2 64; on AMD
// Zen 4, which runs 512-bit ops as two 256-bit halves, AVX-512 fp32 32 and VNNI 128); the clock
// is maum::measure_clock_ghz (a chain of dependent adds, so turbo is included; MAUM_PEAK_GHZ
// overrides it).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "maum/error.h"
#include "maum/model.h"
#include "maum/runtime.h"
#include "tools/maum/commands.h"

namespace maum::cli {
namespace {

struct BenchArgs {
  std::string precision = "fp32";  // --precision
  std::string model_path;
  size_t seq = 128;
  size_t batch = 1;
  size_t iters = 20;
  size_t warmup = 3;
  bool json = false;
};

double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

void run_bench(const GlobalOptions& global, const BenchArgs& args) {
  apply_global_options(global);
  if (args.seq < 2) throw InvalidArgument("--seq must be at least 2 ([CLS] and [SEP])");
  const Model model = load_model(args.model_path, args.precision);
  const ModelInfo& info = model.info();
  if (args.seq > info.max_position_embeddings) {
    throw InvalidArgument("--seq " + std::to_string(args.seq) + " exceeds the model's " +
                          std::to_string(info.max_position_embeddings) + " positions");
  }
  const Tokenizer& tok = model.tokenizer();
  const int32_t vocab = static_cast<int32_t>(tok.vocab_size());
  const int32_t first_id = vocab > 2000 ? 1000 : 0;
  std::vector<std::vector<int32_t>> ids(args.batch);
  uint32_t state = 12345;
  for (auto& seq_ids : ids) {
    seq_ids.push_back(tok.cls_id());
    for (size_t i = 2; i < args.seq; ++i) {
      state = state * 1664525u + 1013904223u;
      seq_ids.push_back(first_id + static_cast<int32_t>((state >> 8) % uint32_t(vocab - first_id)));
    }
    seq_ids.push_back(tok.sep_id());
  }

  std::vector<double> ms;
  for (size_t i = 0; i < args.warmup + args.iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto logits = model.logits(ids, {}, args.batch);
    const double dt =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (logits.size() != args.batch) throw Error("bench: logits count mismatch");
    if (i >= args.warmup) ms.push_back(dt);
  }
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted.size() % 2 ? sorted[sorted.size() / 2]
                                          : 0.5 * (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]);
  const double min = sorted.front();
  double mean = 0;
  for (double v : ms) mean += v;
  mean /= static_cast<double>(ms.size());

  const double L = static_cast<double>(args.seq), H = static_cast<double>(info.hidden_size),
               I = static_cast<double>(info.intermediate_size),
               layers = static_cast<double>(info.num_layers),
               labels = static_cast<double>(info.labels.size());
  const double flops_per_seq = layers * (2 * L * (4 * H * H + 2 * H * I) + 4 * L * L * H) +
                               2 * (H * H + H * labels);
  const double flops = flops_per_seq * static_cast<double>(args.batch);
  const double gflops = flops / (median / 1e3) / 1e9;
  const KernelInfo kernels = kernel_info();
  const bool int8 = info.weight_type == "int8";
  const double ghz = measure_clock_ghz();
  const double ops_per_cycle = int8 ? kernels.peak_int8_ops_per_cycle : kernels.peak_fp32_ops_per_cycle;
  const double peak = ghz * ops_per_cycle * std::max(1, num_threads());  // 0 off x86
  const double pct_peak = peak > 0 ? 100 * gflops / peak : 0;
  const double tokens_per_s = L * static_cast<double>(args.batch) / (median / 1e3);
  struct stat st {};
  const double file_mb = ::stat(args.model_path.c_str(), &st) == 0 ? st.st_size / 1048576.0 : 0;

  if (args.json) {
    nlohmann::ordered_json out;
    out["model"] = args.model_path;
    out["weight_type"] = info.weight_type;
    out["precision"] = info.precision;
    out["isa"] = kernels.isa;
    out["threads"] = num_threads();
    out["seq"] = args.seq;
    out["batch"] = args.batch;
    out["iters"] = args.iters;
    out["median_ms"] = median;
    out["min_ms"] = min;
    out["mean_ms"] = mean;
    out["tokens_per_s"] = tokens_per_s;
    out["gflops"] = gflops;
    out["pct_peak"] = pct_peak;
    out["clock_ghz"] = ghz;
    out["peak_ops_per_cycle"] = ops_per_cycle;
    out["model_file_mb"] = file_mb;
    out["peak_rss_mb"] = peak_rss_mb();
    std::cout << out.dump() << "\n";
  } else {
    std::printf("model %s (%s, %zu layers, hidden %zu), isa %s, threads %d, seq %zu, batch %zu\n",
                args.model_path.c_str(), info.precision.c_str(), info.num_layers,
                info.hidden_size, kernels.isa.c_str(), num_threads(), args.seq, args.batch);
    std::printf("latency: median %.3f ms, min %.3f ms, mean %.3f ms over %zu iterations\n", median,
                min, mean, args.iters);
    std::printf("throughput: %.0f tokens/s, %.1f GFLOP/s (%.1f%% of %s %s peak %.0f GFLOP/s = "
                "%.2f GHz x %.0f op/cycle x %d)\n",
                tokens_per_s, gflops, pct_peak, kernels.isa.c_str(), int8 ? "int8" : "fp32",
                peak, ghz, ops_per_cycle, std::max(1, num_threads()));
    std::printf("peak assumes: %s\n", kernels.vector_width_note.c_str());
    std::printf("model file %.1f MB, peak resident memory %.1f MB\n", file_mb, peak_rss_mb());
  }
}

}  // namespace

void add_bench_command(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<BenchArgs>();
  auto* cmd = app.add_subcommand("bench", "Time forward passes on synthetic inputs");
  cmd->add_option("--model", args->model_path, "Converted model file (.safetensors)")->required();
  add_precision_option(cmd, args->precision);
  cmd->add_option("--seq", args->seq, "Tokens per sequence, [CLS] and [SEP] included")
      ->check(CLI::Range(2, 1 << 16))
      ->capture_default_str();
  cmd->add_option("--batch", args->batch, "Sequences per forward pass")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--iters", args->iters, "Timed iterations")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_option("--warmup", args->warmup, "Untimed iterations first")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  cmd->add_flag("--json", args->json,
                "One JSON object (median_ms, min_ms, isa, threads, seq, batch, ...)");
  cmd->callback([&global, args]() { run_bench(global, *args); });
}

}  // namespace maum::cli
