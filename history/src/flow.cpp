// Conversation summaries, the timeline SVG and user profiles (maum/flow.h; definitions in
// docs/HISTORY.md).
#include "maum/flow.h"

#include <cmath>
#include <iomanip>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/src/xml.h"
#include "maum/error.h"
#include "maum/tokenizer.h"

namespace maum {
namespace {

using OrderedJson = nlohmann::ordered_json;
constexpr int64_t kDayMs = 86400000;

double valence_of(const std::map<std::string, double>& valence, const std::string& label) {
  auto it = valence.find(label);
  return it == valence.end() ? 0.0 : it->second;
}

// Expected valence of a turn: sum over its labels of p * valence(label).
double expected_valence(const std::vector<std::string>& labels, const std::vector<double>& probs,
                        const std::map<std::string, double>& valence) {
  double v = 0;
  for (size_t j = 0; j < labels.size() && j < probs.size(); ++j)
    v += probs[j] * valence_of(valence, labels[j]);
  return v;
}
double expected_valence(const TurnRecord& t, const std::map<std::string, double>& valence) {
  return expected_valence(t.labels, t.probs, valence);
}

int sign(double v) { return v > 0 ? 1 : v < 0 ? -1 : 0; }

bool turns_point(const std::map<std::string, double>& valence, const std::string& from,
                 const std::string& to) {
  return sign(valence_of(valence, from)) != sign(valence_of(valence, to));
}

// Every aggregate of the summary from the totals (one place for the running and the full summary).
// The valence trend is linear in the probabilities: with S_L = sum_i p_i(L) and
// T_L = sum_i i p_i(L), sum_i v_i = sum_L val(L) S_L and sum_i i v_i = sum_L val(L) T_L, so
// mean = sum_i v_i / n and slope = (sum_i i v_i - x_mean sum_i v_i) / (n (n^2 - 1) / 12).
ConversationSummary aggregates(const ConversationTotals& c,
                               const std::map<std::string, double>& valence) {
  if (c.turns <= 0) throw InvalidArgument("summarize_conversation: no turns");
  ConversationSummary s;
  s.conversation_id = c.conversation_id;
  s.turns = static_cast<size_t>(c.turns);
  s.labels = c.labels;
  s.first_ts_ms = c.first_ts_ms;
  s.last_ts_ms = c.last_ts_ms;
  const double n = static_cast<double>(c.turns);
  for (const auto& kv : c.counts) s.share[kv.first] = static_cast<double>(kv.second) / n;
  for (const auto& l : s.labels) {
    auto it = c.prob_sum.find(l);
    s.mean_probs.push_back(it == c.prob_sum.end() ? 0.0 : it->second / n);
  }
  for (const auto& from : c.transitions)
    for (const auto& to : from.second) {
      s.transitions[from.first][to.first] = static_cast<size_t>(to.second);
      if (turns_point(valence, from.first, to.first))
        s.turning_point_count += static_cast<size_t>(to.second);
    }
  s.runs = static_cast<size_t>(c.runs);
  s.has_valence = !valence.empty();
  if (!s.has_valence) {
    s.turning_point_count = 0;
    return s;
  }
  double sum_v = 0, sum_iv = 0;
  for (const auto& kv : c.prob_sum) sum_v += valence_of(valence, kv.first) * kv.second;
  for (const auto& kv : c.index_prob_sum) sum_iv += valence_of(valence, kv.first) * kv.second;
  s.valence_mean = sum_v / n;
  if (c.turns > 1) s.valence_slope = (sum_iv - (n - 1) / 2 * sum_v) / (n * (n * n - 1) / 12);
  return s;
}

// Shares of the reported labels: `labels` first (in order, zeros included), then any other.
OrderedJson shares_json(const std::vector<std::string>& labels,
                        const std::map<std::string, double>& share) {
  OrderedJson j = OrderedJson::object();
  for (const auto& l : labels) {
    auto it = share.find(l);
    j[l] = it == share.end() ? 0.0 : it->second;
  }
  for (const auto& kv : share)
    if (!j.contains(kv.first)) j[kv.first] = kv.second;
  return j;
}

std::map<std::string, double> shares_of(const std::vector<TurnRecord>& turns) {
  std::map<std::string, double> share;
  for (const auto& t : turns) share[t.label] += 1.0;
  for (auto& kv : share) kv.second /= static_cast<double>(turns.size());
  return share;
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

TurnInput parse_turn_input(const std::string& json_text, bool with_conversation_id) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {  // parse_error (incl. invalid UTF-8), out_of_range
    throw FormatError(std::string("malformed JSON: ") + e.what());
  }
  const std::string fields = with_conversation_id
                                 ? "{\"conversation_id\", \"text\", \"speaker\"?, \"user_id\"?, \"ts\"?}"
                                 : "{\"text\", \"speaker\"?, \"user_id\"?, \"ts\"?, \"model\"?}";
  if (!j.is_object()) throw FormatError("expected a JSON object " + fields);
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "text" && it.key() != "speaker" && it.key() != "user_id" && it.key() != "ts" &&
        !(with_conversation_id && it.key() == "conversation_id") &&
        !(!with_conversation_id && it.key() == "model"))
      throw InvalidArgument("unknown field (allowed: " + fields + ")");
  auto string_field = [&](const char* key, bool required) -> std::string {
    if (!j.contains(key) || j[key].is_null()) {
      if (required) throw InvalidArgument(std::string("\"") + key + "\" is required");
      return "";
    }
    if (!j[key].is_string()) throw InvalidArgument(std::string("\"") + key + "\" must be a string");
    return j[key].get<std::string>();
  };
  TurnInput t;
  if (with_conversation_id) {
    t.conversation_id = string_field("conversation_id", true);
    check_id(t.conversation_id, "conversation id");
  }
  t.text = string_field("text", true);
  if (replace_invalid_utf8(t.text) != t.text) throw InvalidArgument("\"text\" is not valid UTF-8");
  t.speaker = string_field("speaker", false);
  check_speaker(t.speaker);
  if (!with_conversation_id) t.model = string_field("model", false);
  t.user_id = string_field("user_id", false);
  if (!t.user_id.empty()) check_id(t.user_id, "user id");
  if (!j.contains("ts") || j["ts"].is_null()) {
    t.ts_ms = now_ms();
  } else if (j["ts"].is_string()) {
    t.ts_ms = parse_timestamp(j["ts"].get<std::string>());
  } else if (j["ts"].is_number() && j["ts"].get<double>() >= 0 &&
             j["ts"].get<double>() <= 253402300799.0) {  // up to 9999-12-31
    t.ts_ms = static_cast<int64_t>(std::llround(j["ts"].get<double>() * 1000));
  } else {
    throw InvalidArgument("\"ts\" must be RFC 3339 text or Unix seconds (0 to year 9999)");
  }
  return t;
}

TurnRecord make_turn(const Analysis& analysis, std::string conversation_id, std::string user_id,
                     std::string speaker, int64_t ts_ms, std::string model, std::string text) {
  TurnRecord t;
  t.conversation_id = std::move(conversation_id);
  t.user_id = std::move(user_id);
  t.speaker = std::move(speaker);
  t.ts_ms = ts_ms;
  t.model = std::move(model);
  t.labels = analysis.labels;
  t.probs = analysis.probs;
  t.dominant = analysis.labels.at(analysis.dominant);
  t.label = analysis.label;
  t.fallback = analysis.fallback;
  t.flags = analysis.flags;
  t.text = std::move(text);
  return t;
}

ConversationSummary summarize_conversation(const std::vector<TurnRecord>& turns,
                                           const std::map<std::string, double>& valence) {
  if (turns.empty()) throw InvalidArgument("summarize_conversation: no turns");
  ConversationTotals totals;
  for (const auto& t : turns) totals.add(t);
  ConversationSummary s = aggregates(totals, valence);
  s.conversation_id = turns.front().conversation_id;
  for (size_t i = 0; i < turns.size(); ++i) {
    if (s.dominant_runs.empty() || s.dominant_runs.back().label != turns[i].label)
      s.dominant_runs.push_back({turns[i].label, i, i});
    else
      s.dominant_runs.back().last = i;
  }
  if (!s.has_valence) return s;
  for (const auto& t : turns) s.valence.push_back(expected_valence(t, valence));
  for (size_t i = 1; i < turns.size(); ++i) {
    if (!turns_point(valence, turns[i - 1].label, turns[i].label)) continue;
    const int before = sign(valence_of(valence, turns[i - 1].label));
    const int after = sign(valence_of(valence, turns[i].label));
    s.turning_points.push_back({i, turns[i - 1].label, turns[i].label, after > before ? 1 : -1,
                                s.valence[i - 1], s.valence[i]});
  }
  return s;
}

namespace {

// The fields both summaries share, in their order.
OrderedJson aggregates_json(const ConversationSummary& s) {
  OrderedJson j;
  j["conversation_id"] = s.conversation_id;
  j["turns"] = s.turns;
  j["first_ts"] = format_timestamp(s.first_ts_ms);
  j["last_ts"] = format_timestamp(s.last_ts_ms);
  j["labels"] = s.labels;
  j["share"] = shares_json(s.labels, s.share);
  OrderedJson mean = OrderedJson::object();
  for (size_t k = 0; k < s.labels.size(); ++k) mean[s.labels[k]] = s.mean_probs[k];
  j["mean_probs"] = std::move(mean);
  OrderedJson tr = OrderedJson::object();
  for (const auto& from : s.transitions)
    for (const auto& to : from.second) tr[from.first][to.first] = to.second;
  j["transitions"] = std::move(tr);
  j["runs"] = s.runs;
  j["turning_point_count"] = s.turning_point_count;
  return j;
}

OrderedJson turning_point_json(const TurningPoint& t) {
  return {{"turn", t.turn},
          {"from", t.from},
          {"to", t.to},
          {"direction", t.direction > 0 ? "up" : "down"},
          {"valence_before", t.valence_before},
          {"valence_after", t.valence_after}};
}

}  // namespace

std::string ConversationSummary::to_json() const {
  OrderedJson j = aggregates_json(*this);
  j["dominant_over_time"] = OrderedJson::array();
  for (const auto& r : dominant_runs)
    j["dominant_over_time"].push_back({{"label", r.label}, {"first_turn", r.first}, {"last_turn", r.last}});
  if (has_valence) {
    j["valence"] = {{"per_turn", valence}, {"mean", valence_mean}, {"slope", valence_slope}};
  } else {
    j["valence"] = nullptr;
  }
  j["turning_points"] = OrderedJson::array();
  for (const auto& t : turning_points) j["turning_points"].push_back(turning_point_json(t));
  return j.dump(-1, ' ', false);
}

std::string running_summary_json(const ConversationTotals& totals,
                                 const std::map<std::string, double>& valence) {
  const ConversationSummary s = aggregates(totals, valence);
  OrderedJson j = aggregates_json(s);
  const size_t last = s.turns - 1;
  j["current_run"] = {{"label", totals.recent.back().label},
                      {"first_turn", totals.run_first},
                      {"last_turn", last}};
  const auto v = [&](const ConversationTotals::Turn& t) {
    return expected_valence(t.labels, t.probs, valence);
  };
  if (s.has_valence) {
    j["valence"] = {{"last", v(totals.recent.back())}, {"mean", s.valence_mean}, {"slope", s.valence_slope}};
  } else {
    j["valence"] = nullptr;
  }
  j["turning_point"] = nullptr;  // at the last turn
  if (s.has_valence && totals.recent.size() == 2 &&
      turns_point(valence, totals.recent[0].label, totals.recent[1].label)) {
    const int before = sign(valence_of(valence, totals.recent[0].label));
    const int after = sign(valence_of(valence, totals.recent[1].label));
    j["turning_point"] = turning_point_json({last, totals.recent[0].label, totals.recent[1].label,
                                             after > before ? 1 : -1, v(totals.recent[0]),
                                             v(totals.recent[1])});
  }
  return j.dump(-1, ' ', false);
}

std::string turn_to_json(const TurnRecord& t) {
  OrderedJson j;
  j["conversation_id"] = t.conversation_id;
  j["seq"] = t.seq;
  j["user_id"] = t.user_id;
  j["speaker"] = t.speaker;
  j["ts"] = format_timestamp(t.ts_ms);
  j["model"] = t.model;
  OrderedJson probs = OrderedJson::object();
  for (size_t i = 0; i < t.labels.size(); ++i) probs[t.labels[i]] = t.probs[i];
  j["labels"] = std::move(probs);
  j["dominant"] = t.dominant;
  j["label"] = t.label;
  j["fallback"] = t.fallback;
  j["flags"] = t.flags;
  if (t.text) j["text"] = *t.text;
  j["text_sha256"] = t.text_sha256;
  return j.dump(-1, ' ', false);
}

std::string timeline_svg(const std::vector<TurnRecord>& turns, const std::string& title) {
  static const char* const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  const std::vector<std::string> labels = turns.empty() ? std::vector<std::string>{}
                                                        : turns.front().labels;
  const double left = 50, top = 40, plot_w = 560, plot_h = 240, legend_w = 150, bottom = 40;
  const double w = left + plot_w + 20 + legend_w, h = top + plot_h + bottom;
  const size_t n = turns.size();
  auto x = [&](size_t i) { return n > 1 ? left + plot_w * static_cast<double>(i) / (n - 1) : left + plot_w / 2; };
  auto y = [&](double p) { return top + (1 - p) * plot_h; };
  const auto esc = core::xml_escape;
  std::ostringstream s;
  core::open_svg(s, w, h);
  s << "<text x=\"" << left << "\" y=\"22\" font-size=\"14\">" << esc(title) << " (" << n
    << " turns)</text>\n";
  s << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << plot_w << "\" height=\"" << plot_h
    << "\" fill=\"none\" stroke=\"#999\"/>\n";
  for (int t = 0; t <= 4; ++t) {
    const double v = t / 4.0;
    s << "<text x=\"" << left - 6 << "\" y=\"" << y(v) + 4 << "\" text-anchor=\"end\">" << v
      << "</text>\n";
  }
  const size_t step = n > 10 ? (n + 9) / 10 : 1;
  for (size_t i = 0; i < n; i += step)
    s << "<text x=\"" << x(i) << "\" y=\"" << top + plot_h + 16 << "\" text-anchor=\"middle\">" << i
      << "</text>\n";
  s << "<text x=\"" << left + plot_w / 2 << "\" y=\"" << h - 6 << "\" text-anchor=\"middle\">turn</text>\n";
  for (size_t k = 0; k < labels.size(); ++k) {
    const char* color = palette[k % 10];
    s << "<g class=\"series\" data-label=\"" << esc(labels[k]) << "\" stroke=\"" << color
      << "\" fill=\"" << color << "\"><title>" << esc(labels[k]) << "</title>\n<polyline fill=\"none\" stroke-width=\"2\" points=\"";
    for (size_t i = 0; i < n; ++i) {
      double p = 0;
      for (size_t j = 0; j < turns[i].labels.size(); ++j)
        if (turns[i].labels[j] == labels[k]) p = turns[i].probs[j];
      s << (i ? " " : "") << x(i) << "," << y(p);
    }
    s << "\"/>\n";
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < turns[i].labels.size(); ++j)
        if (turns[i].labels[j] == labels[k])
          s << "<circle cx=\"" << x(i) << "\" cy=\"" << y(turns[i].probs[j]) << "\" r=\"2.5\"/>\n";
    s << "</g>\n";
    const double ly = top + 14 + 18 * static_cast<double>(k);
    s << "<rect x=\"" << left + plot_w + 20 << "\" y=\"" << ly - 9 << "\" width=\"12\" height=\"12\" fill=\""
      << color << "\"/><text x=\"" << left + plot_w + 38 << "\" y=\"" << ly + 1 << "\">"
      << esc(labels[k]) << "</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

Bucket parse_bucket(const std::string& name) {
  if (name == "day") return Bucket::Day;
  if (name == "week") return Bucket::Week;
  throw InvalidArgument("bucket must be \"day\" or \"week\"");
}

UserProfile user_profile(const std::string& user_id, const std::vector<TurnRecord>& turns,
                         Bucket bucket, std::optional<int64_t> since, std::optional<int64_t> until,
                         const std::map<std::string, double>& valence) {
  UserProfile p;
  p.user_id = user_id;
  p.bucket = bucket;
  p.since = since;
  p.until = until;
  p.has_valence = !valence.empty();
  std::vector<TurnRecord> in_range;
  for (const auto& t : turns)
    if ((!since || t.ts_ms >= *since) && (!until || t.ts_ms < *until)) in_range.push_back(t);
  p.turns = in_range.size();
  if (in_range.empty()) return p;
  p.share = shares_of(in_range);
  std::map<int64_t, std::vector<const TurnRecord*>> by_start;
  for (const auto& t : in_range) {
    const int64_t day = floor_div(t.ts_ms, kDayMs);
    // 1970-01-01 was a Thursday: (day + 3) mod 7 is the days since Monday.
    const int64_t start_day = bucket == Bucket::Day ? day : day - (((day + 3) % 7) + 7) % 7;
    by_start[start_day * kDayMs].push_back(&t);
  }
  for (const auto& kv : by_start) {
    ProfileBucket b;
    b.start_ms = kv.first;
    b.turns = kv.second.size();
    for (const TurnRecord* t : kv.second) {
      b.share[t->label] += 1.0 / static_cast<double>(b.turns);
      b.valence_mean += expected_valence(*t, valence) / static_cast<double>(b.turns);
    }
    p.buckets.push_back(std::move(b));
  }
  return p;
}

std::string UserProfile::to_json() const {
  OrderedJson j;
  j["user_id"] = user_id;
  j["bucket"] = bucket == Bucket::Day ? "day" : "week";
  j["since"] = since ? OrderedJson(format_timestamp(*since)) : OrderedJson(nullptr);
  j["until"] = until ? OrderedJson(format_timestamp(*until)) : OrderedJson(nullptr);
  j["turns"] = turns;
  j["share"] = OrderedJson::object();
  for (const auto& kv : share) j["share"][kv.first] = kv.second;
  j["buckets"] = OrderedJson::array();
  for (const auto& b : buckets) {
    OrderedJson o;
    o["start"] = format_timestamp(b.start_ms);
    o["turns"] = b.turns;
    o["share"] = OrderedJson::object();
    for (const auto& kv : b.share) o["share"][kv.first] = kv.second;
    if (has_valence) o["valence_mean"] = b.valence_mean;
    j["buckets"].push_back(std::move(o));
  }
  return j.dump(-1, ' ', false);
}

}  // namespace maum
