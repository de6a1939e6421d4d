// Conversation flow and user profiles computed from stored turns (maum/history.h). Pure functions:
// the same numbers for `maum flow` and the service. Definitions in docs/HISTORY.md.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "maum/analysis.h"
#include "maum/history.h"

namespace maum {

struct LabelRun {                 // consecutive turns with the same reported label
  std::string label;
  size_t first = 0, last = 0;     // turn indices, inclusive
};

struct TurningPoint {
  size_t turn = 0;                // index of the turn where the flow turned (>= 1)
  std::string from, to;           // reported labels of turns turn-1 and turn
  int direction = 0;              // +1: towards positive valence, -1: towards negative
  double valence_before = 0, valence_after = 0;  // expected valence of the two turns
};

struct ConversationSummary {
  std::string conversation_id;
  size_t turns = 0;
  std::vector<std::string> labels;          // the first turn's label set
  // Share of turns per reported label (the policy's outcome): every label of `labels` (0 if
  // absent) plus any other reported label (a fallback label outside the set). Sums to 1.
  std::map<std::string, double> share;
  std::vector<double> mean_probs;           // mean probability per label of `labels`
  std::vector<LabelRun> dominant_runs;      // the dominant (reported) label over time
  std::map<std::string, std::map<std::string, size_t>> transitions;  // from -> to -> count
  bool has_valence = false;                 // the policy has a valence map
  std::vector<double> valence;              // per turn: sum_j p_j * valence(label_j)
  double valence_mean = 0;
  double valence_slope = 0;                 // least-squares slope of valence over turn index
  std::vector<TurningPoint> turning_points;
  size_t turning_point_count = 0;
  size_t runs = 0;                          // dominant_runs.size()
  int64_t first_ts_ms = 0, last_ts_ms = 0;

  std::string to_json() const;              // compact UTF-8 JSON (docs/HISTORY.md)
};

// `turns` in conversation order (non-empty). `valence`: the policy's label -> valence map (empty:
// no valence trend and no turning points). Every aggregate (share, mean_probs, transitions,
// valence mean and slope, runs, turning point count) is derived from the turns' ConversationTotals
// exactly as running_summary_json derives it, so both give the same numbers.
ConversationSummary summarize_conversation(const std::vector<TurnRecord>& turns,
                                           const std::map<std::string, double>& valence);

// The running summary of a conversation from its stored totals, in O(labels^2) whatever its
// length (what POST .../turns answers): the full summary's aggregates, with the per-turn lists
// replaced by the current run, the last turn's valence and the turning point at the last turn (or
// null). docs/HISTORY.md.
std::string running_summary_json(const ConversationTotals& totals,
                                 const std::map<std::string, double>& valence);

// The conversation's probabilities as an SVG line chart: x = turn, y = probability, one
// <g class="series" data-label="..."> polyline per label, a legend, the reported label per turn.
std::string timeline_svg(const std::vector<TurnRecord>& turns, const std::string& title);

// One turn as clients send it: a `maum flow` input line, or a POST .../turns body (no
// conversation id there: it is in the path; "model" only there). JSON {"conversation_id", "text",
// "speaker"?, "user_id"?, "ts"?, "model"?}; ts is RFC 3339 text or Unix seconds (a number); absent:
// now; model absent or null: "" (the default model). Throws
// FormatError (not a JSON object) or InvalidArgument naming the field (missing or wrong type,
// unknown key, bad id, speaker, timestamp, text not UTF-8).
struct TurnInput {
  std::string conversation_id, user_id, speaker, text, model;
  int64_t ts_ms = 0;
};
TurnInput parse_turn_input(const std::string& json_text, bool with_conversation_id);

// A turn record from an analysis (labels, probabilities, dominant, the policy's label, fallback,
// flags) and the turn's fields; the text is kept for hashing and, if the history stores texts, stored.
TurnRecord make_turn(const Analysis& analysis, std::string conversation_id, std::string user_id,
                     std::string speaker, int64_t ts_ms, std::string model, std::string text);

// One turn's stored fields as JSON (text only when stored).
std::string turn_to_json(const TurnRecord& turn);

enum class Bucket { Day, Week };  // UTC days; ISO weeks (Monday 00:00 UTC)
Bucket parse_bucket(const std::string& name);  // "day" | "week"; InvalidArgument otherwise

struct ProfileBucket {
  int64_t start_ms = 0;                     // bucket start
  size_t turns = 0;
  std::map<std::string, double> share;      // reported label -> share of the bucket's turns
  double valence_mean = 0;                  // when the policy has a valence map
};

struct UserProfile {
  std::string user_id;
  Bucket bucket = Bucket::Day;
  std::optional<int64_t> since, until;
  size_t turns = 0;
  std::map<std::string, double> share;      // over the whole range
  bool has_valence = false;
  std::vector<ProfileBucket> buckets;       // ascending, only non-empty buckets
  std::string to_json() const;
};

UserProfile user_profile(const std::string& user_id, const std::vector<TurnRecord>& turns,
                         Bucket bucket, std::optional<int64_t> since, std::optional<int64_t> until,
                         const std::map<std::string, double>& valence);

}  // namespace maum
