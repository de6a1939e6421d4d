// The history HTTP routes without a server: a stand-in classifier (fixed probabilities chosen by
// a word in the text), a SQLite file in a temporary folder, every route, status and error body.
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "maum/error.h"
#include "maum/history_http.h"
#include "maum/tokenizer.h"
#include "tests/common/temp_dir.h"

namespace maum {
namespace {

using nlohmann::json;

// "p=0.625 ..." gives p(happy) = 0.625; otherwise 0.8 when the text says "good", else 0.3.
Analysis fake_analysis(const std::string& text) {
  if (replace_invalid_utf8(text) != text) throw InvalidArgument("text is not valid UTF-8");
  double happy = text.find("good") != std::string::npos ? 0.8 : 0.3;
  if (text.rfind("p=", 0) == 0) happy = std::stod(text.substr(2));
  return analyze({happy, 1 - happy}, {"happy", "sad"});
}

// Two models: "fake" (the default) and "other"; any other name is unknown.
ClassifiedTurn fake_classify(const std::string& text, const std::string& model) {
  if (!model.empty() && model != "fake" && model != "other")
    throw UnknownModel("no model named \"" + model + "\"");
  return {fake_analysis(text), model.empty() ? "fake" : model};
}

class RoutesTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    HistoryOptions o;
    o.store_text = true;
    history_ = std::make_unique<History>(History::open(dir_ + "/h.db", o));
    routes_ = std::make_unique<HistoryRoutes>(*history_, fake_classify,
                                              std::map<std::string, double>{{"happy", 1}, {"sad", -1}});
  }
  void TearDown() override {
    routes_.reset();
    history_.reset();
    TempDirTest::TearDown();
  }
  HttpResponse call(const std::string& method, const std::string& path, const std::string& body = "",
                    std::map<std::string, std::string> query = {}) {
    return routes_->handle({method, path, std::move(query), body});
  }
  static std::string error_code(const HttpResponse& r) {
    const json j = json::parse(r.body);
    EXPECT_TRUE(j["error"]["message"].is_string());
    return j["error"]["code"].get<std::string>();
  }

  std::unique_ptr<History> history_;
  std::unique_ptr<HistoryRoutes> routes_;
};

TEST_F(RoutesTest, PostTurnsThenReadTheConversation) {
  const json first = {{"text", "a bad day"}, {"speaker", "user"}, {"user_id", "u1"},
                      {"ts", "2026-11-27T10:00:00Z"}};
  HttpResponse r = call("POST", "/v1/conversations/c1/turns", first.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["turn"]["seq"], 0);
  EXPECT_EQ(j["turn"]["label"], "sad");
  EXPECT_EQ(j["turn"]["text"], "a bad day");
  EXPECT_EQ(j["summary"]["turns"], 1);
  r = call("POST", "/v1/conversations/c1/turns",
           json({{"text", "a good day"}, {"user_id", "u1"}, {"ts", 1795773660}}).dump());
  ASSERT_EQ(r.status, 200) << r.body;
  j = json::parse(r.body);
  EXPECT_EQ(j["turn"]["seq"], 1);
  EXPECT_EQ(j["turn"]["ts"], "2026-11-27T10:01:00.000Z");
  EXPECT_EQ(j["summary"]["turns"], 2);
  EXPECT_EQ(j["summary"]["transitions"]["sad"]["happy"], 1);
  // The running summary: sad -> happy turned the flow up at turn 1.
  EXPECT_EQ(j["summary"]["turning_point_count"], 1);
  EXPECT_EQ(j["summary"]["turning_point"]["turn"], 1);
  EXPECT_EQ(j["summary"]["turning_point"]["direction"], "up");
  EXPECT_EQ(j["summary"]["current_run"], json({{"label", "happy"}, {"first_turn", 1}, {"last_turn", 1}}));
  // valence per turn: 0.3 - 0.7 and 0.8 - 0.2; slope over two turns: their difference
  EXPECT_NEAR(j["summary"]["turning_point"]["valence_before"].get<double>(), -0.4, 1e-12);
  EXPECT_NEAR(j["summary"]["valence"]["last"].get<double>(), 0.6, 1e-12);
  EXPECT_NEAR(j["summary"]["valence"]["slope"].get<double>(), 1.0, 1e-12);
  EXPECT_NEAR(j["summary"]["valence"]["mean"].get<double>(), 0.1, 1e-12);

  r = call("GET", "/v1/conversations/c1");
  ASSERT_EQ(r.status, 200);
  j = json::parse(r.body);
  EXPECT_EQ(j["turns"].size(), 2u);
  EXPECT_DOUBLE_EQ(j["summary"]["share"]["happy"].get<double>(), 0.5);

  r = call("GET", "/v1/conversations/c1/timeline.svg");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "image/svg+xml");
  EXPECT_EQ(r.body.rfind("<svg", 0), 0u);

  r = call("GET", "/v1/users/u1/profile", "", {{"bucket", "week"}, {"since", "2026-11-01"}});
  ASSERT_EQ(r.status, 200) << r.body;
  j = json::parse(r.body);
  EXPECT_EQ(j["turns"], 2);
  EXPECT_EQ(j["buckets"][0]["start"], "2026-11-23T00:00:00.000Z");
  r = call("GET", "/v1/users/u1/profile", "", {{"until", "2026-11-27T10:00:30Z"}});
  EXPECT_EQ(json::parse(r.body)["turns"], 1);
}

// The running summary a POST answers (from the stored totals, updated with each turn) and the full
// summary GET computes from the timeline give the same numbers, bit for bit: after every turn, after
// reopening the database, and after erase_user removed part of the conversation (its totals are
// then rebuilt from the turns that remain).
TEST_F(RoutesTest, RunningSummaryEqualsTheFullSummary) {
  auto check = [&](const json& running) {
    const HttpResponse r = call("GET", "/v1/conversations/c1");
    ASSERT_EQ(r.status, 200) << r.body;
    const json full = json::parse(r.body)["summary"];
    for (const char* key : {"conversation_id", "turns", "first_ts", "last_ts", "labels", "share",
                            "mean_probs", "transitions", "runs", "turning_point_count"})
      EXPECT_EQ(running[key], full[key]) << key << " after " << full["turns"] << " turns";
    EXPECT_EQ(running["valence"]["mean"], full["valence"]["mean"]);
    EXPECT_EQ(running["valence"]["slope"], full["valence"]["slope"]);
    EXPECT_EQ(running["valence"]["last"], full["valence"]["per_turn"].back());
    const json& runs = full["dominant_over_time"];
    EXPECT_EQ(running["runs"], runs.size());
    EXPECT_EQ(running["current_run"], runs.back());
    const json& points = full["turning_points"];
    EXPECT_EQ(running["turning_point_count"], points.size());
    const size_t last = full["turns"].get<size_t>() - 1;
    if (!points.empty() && points.back()["turn"] == last) EXPECT_EQ(running["turning_point"], points.back());
    else EXPECT_TRUE(running["turning_point"].is_null());
  };
  // Probabilities with long binary expansions, labels flipping often: sums that round.
  auto post = [&](int i, const std::string& user) {
    const double p = std::fmod(0.1 + 0.618033988749895 * i, 1.0);
    const HttpResponse r = call("POST", "/v1/conversations/c1/turns",
                                json({{"text", "p=" + std::to_string(p)}, {"user_id", user},
                                      {"ts", 1795773600 + i}}).dump());
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body)["summary"];
  };
  for (int i = 0; i < 40; ++i) check(post(i, i % 5 == 0 ? "u2" : "u1"));
  ASSERT_GT(json::parse(call("GET", "/v1/conversations/c1").body)["summary"]["turning_point_count"], 5);
  routes_.reset();
  history_.reset();
  HistoryOptions o;
  o.store_text = true;
  history_ = std::make_unique<History>(History::open(dir_ + "/h.db", o));
  routes_ = std::make_unique<HistoryRoutes>(*history_, fake_classify,
                                            std::map<std::string, double>{{"happy", 1}, {"sad", -1}});
  for (int i = 40; i < 50; ++i) check(post(i, "u1"));
  ASSERT_EQ(call("DELETE", "/v1/users/u2").status, 200);  // 8 of the 50 turns
  EXPECT_EQ(history_->totals("c1").turns, 42);
  for (int i = 50; i < 55; ++i) check(post(i, "u1"));
  const json full = json::parse(call("GET", "/v1/conversations/c1").body);
  EXPECT_EQ(full["summary"]["turns"], 47);
  EXPECT_EQ(full["turns"].back()["seq"], 54);  // seqs go on after the erased ones
}

TEST_F(RoutesTest, TurnsChooseTheirModel) {
  HttpResponse r = call("POST", "/v1/conversations/c1/turns", R"({"text": "good", "model": "other"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["turn"]["model"], "other");
  r = call("POST", "/v1/conversations/c1/turns", R"({"text": "good", "model": null})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["turn"]["model"], "fake");
  r = call("POST", "/v1/conversations/c1/turns", R"({"text": "good", "model": "nope"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "unknown_model");
  r = call("POST", "/v1/conversations/c1/turns", R"({"text": "good", "model": 7})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "invalid_request");
  const json j = json::parse(call("GET", "/v1/conversations/c1").body);
  ASSERT_EQ(j["turns"].size(), 2u);  // nothing stored for the refused ones
  EXPECT_EQ(j["turns"][0]["model"], "other");
  EXPECT_EQ(j["turns"][1]["model"], "fake");
}

TEST_F(RoutesTest, HostileValuesAreStoredByteExactOrRejected) {
  const std::string text = "'; DROP TABLE turns; -- \xF0\x9F\x98\x80 e\xCC\x81 \xE2\x80\xAE <b>&";
  const std::string speaker = "\" OR 1=1 -- \xEC\x83\x81\xEB\x8B\xB4";
  HttpResponse r =
      call("POST", "/v1/conversations/c1/turns", json({{"text", text}, {"speaker", speaker}}).dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = json::parse(call("GET", "/v1/conversations/c1").body);
  EXPECT_EQ(j["turns"][0]["text"], text);
  EXPECT_EQ(j["turns"][0]["speaker"], speaker);
  for (const char* hostile : {"x'; DROP TABLE turns;--", "a b", "..", "%2e", "\xEC\x95\x88"}) {
    const std::string id = hostile;
    for (const std::string& path : {"/v1/conversations/" + id, "/v1/conversations/" + id + "/turns",
                                    "/v1/users/" + id, "/v1/users/" + id + "/profile"}) {
      const std::string method = path.find("/turns") != std::string::npos ? "POST" : "GET";
      r = call(method == "GET" && path.rfind("/v1/users/", 0) == 0 && path.find("/profile") == std::string::npos
                   ? "DELETE" : method,
               path, json({{"text", "x"}}).dump());
      EXPECT_EQ(r.status, 400) << path;
      EXPECT_EQ(error_code(r), "invalid_request");
    }
  }
  r = call("POST", "/v1/conversations/c1/turns", json({{"text", "x"}, {"user_id", "u'1"}}).dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(call("GET", "/v1/conversations/c1").body)["turns"].size(), 1u);
}

TEST_F(RoutesTest, BadRequestsGiveErrorBodies) {
  EXPECT_EQ(call("POST", "/v1/conversations/c1/turns", "{not json").status, 400);
  EXPECT_EQ(call("POST", "/v1/conversations/c1/turns", "[1]").status, 400);
  EXPECT_EQ(call("POST", "/v1/conversations/c1/turns", "{}").status, 400);
  EXPECT_EQ(call("POST", "/v1/conversations/c1/turns", R"({"text": 5})").status, 400);
  EXPECT_EQ(call("POST", "/v1/conversations/c1/turns", R"({"text": "x", "extra": 1})").status, 400);
  EXPECT_EQ(call("POST", "/v1/conversations/c1/turns", R"({"text": "x", "ts": "yesterday"})").status, 400);
  EXPECT_EQ(call("POST", "/v1/conversations/c1/turns", R"({"text": "x", "ts": -5})").status, 400);
  EXPECT_EQ(call("POST", "/v1/conversations/c1/turns", R"({"text": "x", "speaker": "a\nb"})").status, 400);
  const HttpResponse bad_utf8 = call("POST", "/v1/conversations/c1/turns", "{\"text\": \"\xff\"}");
  EXPECT_EQ(bad_utf8.status, 400);
  EXPECT_NO_THROW(json::parse(bad_utf8.body));
  EXPECT_EQ(call("GET", "/v1/conversations/nobody").status, 404);
  EXPECT_EQ(error_code(call("GET", "/v1/conversations/nobody/timeline.svg")), "unknown_conversation");
  EXPECT_EQ(call("GET", "/v1/users/nobody/profile").status, 404);
  EXPECT_EQ(call("DELETE", "/v1/users/nobody").status, 404);
  EXPECT_EQ(call("GET", "/v1/conversations/c1/other").status, 404);
  const HttpResponse wrong = call("PUT", "/v1/conversations/c1");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.headers.at("Allow"), "GET, DELETE");
  EXPECT_EQ(call("GET", "/v1/conversations/c1/turns").status, 405);
  ASSERT_EQ(call("POST", "/v1/conversations/c1/turns", R"({"text": "x", "user_id": "u1"})").status, 200);
  EXPECT_EQ(call("GET", "/v1/users/u1/profile", "", {{"bucket", "month"}}).status, 400);
  EXPECT_EQ(call("GET", "/v1/users/u1/profile", "", {{"since", "1 Jan"}}).status, 400);
  EXPECT_TRUE(HistoryRoutes::owns("/v1/users/x"));
  EXPECT_FALSE(HistoryRoutes::owns("/analyze_emotion"));
}

TEST_F(RoutesTest, EraseConversationAndUser) {
  for (const char* c : {"c1", "c2"})
    ASSERT_EQ(call("POST", std::string("/v1/conversations/") + c + "/turns",
                   R"({"text": "x", "user_id": "u1"})").status, 200);
  ASSERT_EQ(call("POST", "/v1/conversations/c3/turns", R"({"text": "x", "user_id": "u2"})").status, 200);
  HttpResponse r = call("DELETE", "/v1/conversations/c1");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["erased_turns"], 1);
  EXPECT_EQ(call("GET", "/v1/conversations/c1").status, 404);
  r = call("DELETE", "/v1/users/u1");
  EXPECT_EQ(json::parse(r.body)["erased_turns"], 1);
  EXPECT_EQ(call("GET", "/v1/conversations/c2").status, 404);
  EXPECT_EQ(call("GET", "/v1/users/u1/profile").status, 404);
  EXPECT_EQ(call("GET", "/v1/conversations/c3").status, 200);
}

TEST_F(RoutesTest, FullOrReadOnlyDatabaseIsNotAcknowledged) {
  ASSERT_EQ(call("POST", "/v1/conversations/c1/turns", R"({"text": "x"})").status, 200);
  HistoryOptions ro;
  ro.read_only = true;
  History read_only = History::open(dir_ + "/h.db", ro);
  HistoryRoutes routes(read_only, fake_classify, {});
  HttpResponse r = routes.handle({"POST", "/v1/conversations/c1/turns", {}, R"({"text": "y"})"});
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(error_code(r), "storage_read_only");
  EXPECT_EQ(routes.handle({"GET", "/v1/conversations/c1", {}, ""}).status, 200);

  HistoryOptions tiny;
  tiny.store_text = true;
  tiny.max_bytes = 48 * 1024;
  History small = History::open(dir_ + "/small.db", tiny);
  HistoryRoutes small_routes(small, fake_classify, {});
  int acknowledged = 0, full = 0;
  for (int i = 0; i < 100 && !full; ++i) {
    r = small_routes.handle({"POST", "/v1/conversations/c1/turns", {},
                             json({{"text", std::string(4000, 'a' + i % 26)}}).dump()});
    if (r.status == 200) ++acknowledged;
    else if (r.status == 503 && error_code(r) == "storage_full") ++full;
    else ADD_FAILURE() << r.status << " " << r.body;
  }
  EXPECT_EQ(full, 1);
  EXPECT_EQ(json::parse(small_routes.handle({"GET", "/v1/conversations/c1", {}, ""}).body)["turns"].size(),
            static_cast<size_t>(acknowledged));
}

}  // namespace
}  // namespace maum
