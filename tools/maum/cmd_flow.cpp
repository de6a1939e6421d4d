// maum flow --model M [--db FILE] [--svg out.svg] [--store-text] < turns.jsonl: classifies each
// turn ({"conversation_id", "speaker"?, "user_id"?, "text", "ts"?} per line), stores it in the
// emotion history, prints one line per turn and then one summary per conversation (docs/HISTORY.md).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "maum/analysis.h"
#include "maum/error.h"
#include "maum/flow.h"
#include "maum/history.h"
#include "maum/model.h"
#include "tools/maum/commands.h"

namespace maum::cli {
namespace {

struct FlowArgs {
  std::string precision = "fp32";  // --precision
  std::string model_path, db_path, svg_path, policy_path;
  bool store_text = false;
  size_t batch = 32;
};

// "out.svg" for one conversation; "out.ID.svg" for each of several.
std::string svg_path_for(const std::string& path, const std::string& id, bool several) {
  if (!several) return path;
  const std::filesystem::path p(path);
  return (p.parent_path() / (p.stem().string() + "." + id + p.extension().string())).string();
}

// Without --db the history lives in a temporary file, removed at exit.
struct TempDb {
  std::string path;
  ~TempDb() {
    if (path.empty()) return;
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  }
};

void run_flow(const GlobalOptions& global, const FlowArgs& args) {
  apply_global_options(global);
  const Model model = load_model(args.model_path, args.precision);
  const ModelInfo& info = model.info();
  std::optional<Policy> policy = args.policy_path.empty()
                                     ? embedded_policy(info.policy_json, args.model_path)
                                     : Policy::load(args.policy_path);
  std::optional<AnalysisPipeline> pipeline;
  try {
    pipeline.emplace(info.labels, info.multi_label(), info.temperature, policy.value_or(Policy{}));
  } catch (const InvalidArgument& e) {
    throw InvalidArgument((args.policy_path.empty() ? args.model_path : args.policy_path) + ": " +
                          e.what());
  }
  ClassifyOptions options;
  options.batch_size = args.batch;
  options.temperature = pipeline->temperature();
  const std::string model_name = std::filesystem::path(args.model_path).stem().string();

  TempDb temp;
  std::string db_path = args.db_path;
  if (db_path.empty()) {
    std::string pattern = (std::filesystem::temp_directory_path() / "maum-flow-XXXXXX").string();
    const int fd = mkstemp(pattern.data());
    if (fd < 0) throw IoError("cannot create a temporary history database");
    close(fd);
    std::remove(pattern.c_str());  // SQLite creates it
    temp.path = db_path = pattern;
  }
  HistoryOptions history_options;
  history_options.store_text = args.store_text;
  History history = History::open(db_path, history_options);

  std::vector<std::string> order;  // conversations in order of first appearance
  std::set<std::string> seen;
  std::vector<TurnInput> chunk;
  auto flush = [&] {
    std::vector<std::string> texts;
    for (const auto& t : chunk) texts.push_back(t.text);
    const std::vector<Classification> results = model.classify(texts, options);
    std::vector<TurnRecord> records;
    std::vector<Analysis> analyses;
    for (size_t i = 0; i < chunk.size(); ++i) {
      analyses.push_back(pipeline->run(results[i].logits));
      records.push_back(make_turn(analyses.back(), chunk[i].conversation_id, chunk[i].user_id,
                                  chunk[i].speaker, chunk[i].ts_ms, model_name, chunk[i].text));
    }
    records = history.append(std::move(records));  // durable before anything is printed
    for (size_t i = 0; i < records.size(); ++i)
      std::cout << "{\"turn\":" << turn_to_json(records[i])
                << ",\"analysis\":" << analyses[i].to_json() << "}\n";
    chunk.clear();
  };
  std::string line;
  size_t number = 0;
  while (std::getline(std::cin, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    TurnInput t;
    try {
      t = parse_turn_input(line, /*with_conversation_id=*/true);
    } catch (const Error& e) {
      throw InvalidArgument("stdin line " + std::to_string(number) + ": " + e.what());
    }
    if (seen.insert(t.conversation_id).second) order.push_back(t.conversation_id);
    chunk.push_back(std::move(t));
    if (chunk.size() >= 256) flush();
  }
  if (!chunk.empty()) flush();

  const auto& valence = pipeline->policy().valence;
  for (const auto& id : order) {
    const auto turns = history.conversation(id);
    std::cout << "{\"conversation_id\":\"" << id
              << "\",\"summary\":" << summarize_conversation(turns, valence).to_json() << "}\n";
    if (!args.svg_path.empty()) {
      const std::string path = svg_path_for(args.svg_path, id, order.size() > 1);
      std::ofstream out(path, std::ios::binary);
      out << timeline_svg(turns, "conversation " + id);
      if (!out) throw IoError("cannot write " + path);
    }
  }
  std::cout.flush();
}

}  // namespace

void add_flow_command(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<FlowArgs>();
  auto* cmd = app.add_subcommand(
      "flow",
      "Emotion flow of conversations: JSON lines {\"conversation_id\", \"speaker\"?, "
      "\"user_id\"?, \"text\", \"ts\"?} on stdin -> one line per turn, then one summary per "
      "conversation");
  cmd->add_option("--model", args->model_path, "Converted model file (.safetensors)")->required();
  add_precision_option(cmd, args->precision);
  cmd->add_option("--db", args->db_path,
                  "History database (SQLite; created if absent). Default: a temporary one");
  cmd->add_option("--svg", args->svg_path,
                  "Write the timeline SVG (several conversations: NAME.ID.svg each)");
  cmd->add_flag("--store-text", args->store_text,
                "Store the texts in the database (default: only a salted SHA-256 of each)");
  cmd->add_option("--policy", args->policy_path,
                  "Analysis policy JSON with a \"valence\" map (default: the model's embedded one)");
  cmd->add_option("--batch", args->batch, "Texts per forward pass")->check(CLI::Range(1, 1 << 20));
  cmd->callback([&global, args]() { run_flow(global, *args); });
}

}  // namespace maum::cli
