// Conversation summaries, user profiles, ids and timestamps on hand-made turns: every expected value
// is computed by hand from the definitions in docs/HISTORY.md.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "maum/error.h"
#include "maum/flow.h"

namespace maum {
namespace {

const std::vector<std::string> kLabels = {"happy", "sad", "neutral"};
const std::map<std::string, double> kValence = {{"happy", 1}, {"sad", -1}, {"neutral", 0}};

TurnRecord turn(std::vector<double> probs, const std::string& label, int64_t ts = 0,
                const std::string& conversation = "c1") {
  TurnRecord t;
  t.conversation_id = conversation;
  t.labels = kLabels;
  t.probs = std::move(probs);
  size_t top = 0;
  for (size_t i = 1; i < t.probs.size(); ++i)
    if (t.probs[i] > t.probs[top]) top = i;
  t.dominant = kLabels[top];
  t.label = label;
  t.fallback = label != t.dominant;
  t.ts_ms = ts;
  return t;
}

// happy -> sad -> sad -> neutral, probabilities chosen by hand.
std::vector<TurnRecord> conversation_a() {
  return {turn({0.6, 0.3, 0.1}, "happy", 1000), turn({0.1, 0.7, 0.2}, "sad", 2000),
          turn({0.2, 0.5, 0.3}, "sad", 3000), turn({0.4, 0.1, 0.5}, "neutral", 4000)};
}

TEST(ConversationSummary, SharesRunsAndTransitions) {
  const ConversationSummary s = summarize_conversation(conversation_a(), kValence);
  EXPECT_EQ(s.turns, 4u);
  EXPECT_DOUBLE_EQ(s.share.at("happy"), 0.25);
  EXPECT_DOUBLE_EQ(s.share.at("sad"), 0.5);
  EXPECT_DOUBLE_EQ(s.share.at("neutral"), 0.25);
  // mean of each label's probability over the 4 turns
  EXPECT_NEAR(s.mean_probs[0], (0.6 + 0.1 + 0.2 + 0.4) / 4, 1e-12);
  EXPECT_NEAR(s.mean_probs[1], (0.3 + 0.7 + 0.5 + 0.1) / 4, 1e-12);
  EXPECT_NEAR(s.mean_probs[2], (0.1 + 0.2 + 0.3 + 0.5) / 4, 1e-12);
  ASSERT_EQ(s.dominant_runs.size(), 3u);
  EXPECT_EQ(s.dominant_runs[1].label, "sad");
  EXPECT_EQ(s.dominant_runs[1].first, 1u);
  EXPECT_EQ(s.dominant_runs[1].last, 2u);
  EXPECT_EQ(s.dominant_runs[2].first, 3u);
  // 3 transitions for 4 turns: happy->sad, sad->sad, sad->neutral
  EXPECT_EQ(s.transitions.at("happy").at("sad"), 1u);
  EXPECT_EQ(s.transitions.at("sad").at("sad"), 1u);
  EXPECT_EQ(s.transitions.at("sad").at("neutral"), 1u);
  size_t total = 0;
  for (const auto& from : s.transitions)
    for (const auto& to : from.second) total += to.second;
  EXPECT_EQ(total, 3u);
}

TEST(ConversationSummary, ValenceTrendAndTurningPoints) {
  const ConversationSummary s = summarize_conversation(conversation_a(), kValence);
  ASSERT_TRUE(s.has_valence);
  // v_i = p_happy - p_sad: 0.3, -0.6, -0.3, 0.3
  const std::vector<double> v = {0.3, -0.6, -0.3, 0.3};
  ASSERT_EQ(s.valence.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(s.valence[i], v[i], 1e-12);
  EXPECT_NEAR(s.valence_mean, -0.075, 1e-12);
  // slope = sum (x - 1.5)(v - mean) / sum (x - 1.5)^2 = 0.15 / 5
  EXPECT_NEAR(s.valence_slope, 0.03, 1e-12);
  // The reported label's valence sign changes at turn 1 (+ -> -) and turn 3 (- -> 0).
  ASSERT_EQ(s.turning_points.size(), 2u);
  EXPECT_EQ(s.turning_points[0].turn, 1u);
  EXPECT_EQ(s.turning_points[0].from, "happy");
  EXPECT_EQ(s.turning_points[0].to, "sad");
  EXPECT_EQ(s.turning_points[0].direction, -1);
  EXPECT_NEAR(s.turning_points[0].valence_before, 0.3, 1e-12);
  EXPECT_NEAR(s.turning_points[0].valence_after, -0.6, 1e-12);
  EXPECT_EQ(s.turning_points[1].turn, 3u);
  EXPECT_EQ(s.turning_points[1].direction, 1);

  const auto j = nlohmann::json::parse(s.to_json());
  EXPECT_EQ(j["turning_points"][0]["direction"], "down");
  EXPECT_EQ(j["transitions"]["sad"]["neutral"], 1);
  EXPECT_EQ(j["dominant_over_time"].size(), 3u);
}

TEST(ConversationSummary, FallbackLabelAndNoValence) {
  std::vector<TurnRecord> turns = {turn({0.4, 0.35, 0.25}, "unsure"), turn({0.9, 0.05, 0.05}, "happy")};
  const ConversationSummary s = summarize_conversation(turns, {});
  EXPECT_DOUBLE_EQ(s.share.at("unsure"), 0.5);
  EXPECT_DOUBLE_EQ(s.share.at("happy"), 0.5);
  EXPECT_FALSE(s.has_valence);
  EXPECT_TRUE(s.turning_points.empty());
  const auto j = nlohmann::json::parse(s.to_json());
  EXPECT_TRUE(j["valence"].is_null());
  EXPECT_EQ(j["share"]["sad"], 0.0);  // every label listed
  EXPECT_EQ(j["share"]["unsure"], 0.5);
  // A single turn: slope 0, no transitions.
  const ConversationSummary one = summarize_conversation({turns[1]}, kValence);
  EXPECT_EQ(one.valence_slope, 0.0);
  EXPECT_TRUE(one.transitions.empty());
  EXPECT_THROW(summarize_conversation({}, kValence), InvalidArgument);
}

TEST(ConversationSummary, NeutralToNeutralIsNoTurningPoint) {
  // valence(surprise) absent = 0, like neutral: no sign change.
  std::vector<TurnRecord> turns = {turn({0.1, 0.1, 0.8}, "neutral"), turn({0.2, 0.2, 0.6}, "surprise"),
                                   turn({0.1, 0.8, 0.1}, "sad")};
  const ConversationSummary s = summarize_conversation(turns, kValence);
  ASSERT_EQ(s.turning_points.size(), 1u);
  EXPECT_EQ(s.turning_points[0].turn, 2u);
  EXPECT_EQ(s.turning_points[0].direction, -1);
}

TEST(UserProfile, DayAndWeekBuckets) {
  // 2026-11-27 is a Friday; 11-29 a Sunday; 11-30 a Monday.
  const int64_t fri = parse_timestamp("2026-11-27T10:00:00Z");
  const int64_t sun = parse_timestamp("2026-11-29T23:59:59Z");
  const int64_t mon = parse_timestamp("2026-11-30T00:00:00Z");
  std::vector<TurnRecord> turns = {turn({0.9, 0.05, 0.05}, "happy", fri),
                                   turn({0.1, 0.8, 0.1}, "sad", fri + 1000),
                                   turn({0.1, 0.8, 0.1}, "sad", sun), turn({0.1, 0.1, 0.8}, "neutral", mon)};
  const UserProfile day = user_profile("u1", turns, Bucket::Day, std::nullopt, std::nullopt, kValence);
  ASSERT_EQ(day.buckets.size(), 3u);
  EXPECT_EQ(day.buckets[0].start_ms, parse_timestamp("2026-11-27"));
  EXPECT_EQ(day.buckets[0].turns, 2u);
  EXPECT_DOUBLE_EQ(day.buckets[0].share.at("happy"), 0.5);
  EXPECT_NEAR(day.buckets[0].valence_mean, ((0.9 - 0.05) + (0.1 - 0.8)) / 2, 1e-12);
  EXPECT_DOUBLE_EQ(day.share.at("sad"), 0.5);
  const UserProfile week = user_profile("u1", turns, Bucket::Week, std::nullopt, std::nullopt, kValence);
  ASSERT_EQ(week.buckets.size(), 2u);
  EXPECT_EQ(week.buckets[0].start_ms, parse_timestamp("2026-11-23"));  // the Monday before
  EXPECT_EQ(week.buckets[0].turns, 3u);
  EXPECT_EQ(week.buckets[1].start_ms, mon);
  // since inclusive, until exclusive
  const UserProfile range = user_profile("u1", turns, Bucket::Day, fri + 1000, mon, kValence);
  EXPECT_EQ(range.turns, 2u);
  const auto j = nlohmann::json::parse(week.to_json());
  EXPECT_EQ(j["buckets"][0]["start"], "2026-11-23T00:00:00.000Z");
  EXPECT_EQ(parse_bucket("week"), Bucket::Week);
  EXPECT_THROW(parse_bucket("month"), InvalidArgument);
}

TEST(Timestamps, ParseAndFormat) {
  EXPECT_EQ(parse_timestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_timestamp("1970-01-02"), 86400000);
  // 2026-11-27T10:00:00.250+09:00 = 01:00:00.250 UTC
  EXPECT_EQ(format_timestamp(parse_timestamp("2026-11-27T10:00:00.250+09:00")),
            "2026-11-27T01:00:00.250Z");
  EXPECT_EQ(parse_timestamp("2024-02-29T00:00:00-00:30"), parse_timestamp("2024-02-29") + 1800000);
  for (const char* bad : {"", "2026-11-27T10:00:00", "2026-13-01", "2026-02-29", "2026-11-27T24:00:00Z",
                          "2026-11-27X", "27/11/2026", "2026-11-27T10:00:00.Z", "1969-12-31",
                          "2026-11-27T10:00:00Z'; DROP TABLE turns;--"})
    EXPECT_THROW(parse_timestamp(bad), InvalidArgument) << bad;
}

TEST(Ids, Rules) {
  for (const char* ok : {"c1", "A", "room-42_x.y:z", "0"}) EXPECT_TRUE(valid_id(ok)) << ok;
  for (const std::string& bad :
       {std::string(), std::string("-x"), std::string(".."), std::string("a b"), std::string("a/b"),
        std::string("x'; DROP TABLE turns;--"), std::string("대화"), std::string("a\0b", 3),
        std::string(129, 'a'), std::string("%2e%2e")})
    EXPECT_FALSE(valid_id(bad)) << bad;
  EXPECT_TRUE(valid_id(std::string(128, 'a')));
  EXPECT_THROW(check_id("a b", "conversation id"), InvalidArgument);
  EXPECT_NO_THROW(check_speaker("상담사 🤖 \u200d"));
  EXPECT_THROW(check_speaker("a\nb"), InvalidArgument);
  EXPECT_THROW(check_speaker("\xff"), InvalidArgument);
  EXPECT_THROW(check_speaker(std::string(129, 'a')), InvalidArgument);
}

TEST(Timeline, OneSeriesPerLabel) {
  const std::string svg = timeline_svg(conversation_a(), "t<&>\"");
  size_t series = 0;
  for (size_t p = svg.find("class=\"series\""); p != std::string::npos; p = svg.find("class=\"series\"", p + 1))
    ++series;
  EXPECT_EQ(series, kLabels.size());
  for (const auto& l : kLabels) EXPECT_NE(svg.find("data-label=\"" + l + "\""), std::string::npos);
  EXPECT_NE(svg.find("t&lt;&amp;&gt;&quot;"), std::string::npos);  // the title is escaped
}

}  // namespace
}  // namespace maum
