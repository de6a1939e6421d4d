// maum convert HF_DIR OUT.safetensors [--quantize none|int8] [--policy FILE]: one self-contained
// model file (docs/FORMAT.md) from a Hugging Face model folder.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include "maum/analysis.h"
#include "maum/convert.h"
#include "maum/error.h"
#include "tools/maum/commands.h"

namespace maum::cli {

void add_convert_command(CLI::App& app, GlobalOptions& global) {
  auto* cmd = app.add_subcommand("convert", "Convert a Hugging Face model folder into one maum model file");
  struct Args {
    std::string hf_dir, out;
    ConvertOptions options;
    std::string policy_path;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("HF_DIR", args->hf_dir,
                  "folder with config.json, model.safetensors, pytorch_model.bin or tf_model.h5 (preferred in "
                  "that order), vocab.txt / tokenizer.json, "
                  "tokenizer_config.json, special_tokens_map.json, optional calibration.json")
      ->required();
  cmd->add_option("OUT", args->out, "output .safetensors file (written atomically)")->required();
  cmd->add_option("--quantize", args->options.quantize,
                  "int8: encoder linear weights as int8 with per-output-channel scales")
      ->check(CLI::IsMember({"none", "int8"}))
      ->default_val("none");
  cmd->add_flag("--reduce-range", args->options.reduce_range,
               "with --quantize int8: linear weights in 7 bits ([-63, 63]), faster on CPUs without "
               "VNNI (AVX2 only), a little less accurate (docs/PERF.md)");
  cmd->add_option("--policy", args->policy_path, "analysis policy JSON to embed as maum.policy");
  cmd->callback([args, &global]() {
    apply_global_options(global);
    if (!args->policy_path.empty())
      args->options.policy = [path = args->policy_path](const std::vector<std::string>& labels) {
        return policy_json_for_model(path, labels);
      };
    const auto start = std::chrono::steady_clock::now();
    ConvertReport r = convert_hf_model(args->hf_dir, args->out, args->options);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "converted %s (%s): %zu tensors, %.1f MB%s, %zu checkpoint tensors skipped, %.2f s\n",
                 args->out.c_str(), r.model_type.c_str(), r.tensors_written, r.bytes_written / 1e6,
                 args->options.quantize != "int8" ? ""
                 : args->options.reduce_range     ? " (int8, 7-bit linear weights)"
                                                  : " (int8)",
                 r.skipped.size(), seconds);
    if (global.verbose) {
      std::fprintf(stderr, "  read weights from %s\n", r.weights_file.c_str());
      for (const auto& s : r.skipped) std::fprintf(stderr, "  skipped %s\n", s.c_str());
    }
  });
}

}  // namespace maum::cli
