// `maum serve --db`: the emotion-history routes on the real server (a free loopback port, a real
// HTTP client), and a crash test: concurrent turn posts, kill -9 mid-run, restart on the same file:
// every acknowledged turn is there byte-exact, PRAGMA integrity_check is ok, the server serves again.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "maum/history.h"
#include "tests/common/cli.h"
#include "tests/server/serve_process.h"

namespace maum::testing {
namespace {

using nlohmann::json;

class HistoryServeTest : public CliSandbox {};

// (status, parsed JSON body or null); status 0 when the connection failed.
std::pair<int, json> call(int port, const std::string& method, const std::string& path,
                          const json& body = nullptr) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(10);
  client.set_read_timeout(60);
  httplib::Result r = method == "POST"     ? client.Post(path.c_str(), body.dump(), "application/json")
                      : method == "DELETE" ? client.Delete(path.c_str())
                                           : client.Get(path.c_str());
  if (!r) return {0, nullptr};
  return {r->status, json::parse(r->body, nullptr, false)};
}

TEST_F(HistoryServeTest, RoutesAreMountedWithDbOnly) {
  const std::string m = model("ko-emotion7-small");
  {
    ServeProcess serve("--model " + shell_quote(m) + " --db " + shell_quote(dir_ + "/routes.db"),
                       dir_, "routes");
    auto [status, body] = call(serve.port(), "POST", "/v1/conversations/r1/turns",
                               {{"text", "정말 기쁜 하루였어요!"}, {"user_id", "u1"}});
    ASSERT_EQ(status, 200) << body;
    // The same numbers as /analyze_emotion on the same text.
    auto [s2, plain] = call(serve.port(), "POST", "/analyze_emotion", {{"text", "정말 기쁜 하루였어요!"}});
    ASSERT_EQ(s2, 200);
    for (auto it = plain["emotions"].begin(); it != plain["emotions"].end(); ++it)
      EXPECT_NEAR(body["turn"]["labels"][it.key()].get<double>(), it.value().get<double>(), 1e-6);
    EXPECT_EQ(body["summary"]["turns"], 1);
    EXPECT_EQ(call(serve.port(), "GET", "/v1/conversations/r1").first, 200);
    EXPECT_EQ(call(serve.port(), "GET", "/v1/conversations/nobody").first, 404);
    EXPECT_EQ(call(serve.port(), "GET", "/v1/conversations/x'%20OR%201=1").first, 400);
    EXPECT_EQ(call(serve.port(), "GET", "/v1/users/u1/profile?bucket=week").first, 200);
    httplib::Client client("127.0.0.1", serve.port());
    auto svg = client.Get("/v1/conversations/r1/timeline.svg");
    ASSERT_TRUE(svg);
    EXPECT_EQ(svg->status, 200);
    EXPECT_EQ(svg->get_header_value("Content-Type"), "image/svg+xml");
    EXPECT_EQ(call(serve.port(), "DELETE", "/v1/users/u1").first, 200);
    EXPECT_EQ(call(serve.port(), "GET", "/v1/conversations/r1").first, 404);
  }
  ServeProcess plain("--model " + shell_quote(m), dir_, "nodb");
  EXPECT_EQ(call(plain.port(), "POST", "/v1/conversations/r1/turns", {{"text", "x"}}).first, 404);
}

// The web page with a conversation id, in headless chromium: two turns are posted first, then the
// page types a third sentence into conversation web-1. The page must have posted it as a turn (the
// conversation now has 3, the last with the typed text's probabilities, equal to /analyze_emotion's)
// and show the flow: the timeline SVG inline with one series per label, and each turn's label.
TEST_F(HistoryServeTest, WebPageShowsTheConversationFlow) {
  ServeProcess serve("--model " + shell_quote(model("ko-emotion7-small")) + " --db " +
                         shell_quote(dir_ + "/web.db") + " --store-text",
                     dir_, "web");
  const int port = serve.port();
  for (const char* text : {"정말 기쁜 하루였어요!", "너무 슬퍼서 눈물이 나요"})
    ASSERT_EQ(call(port, "POST", "/v1/conversations/web-1/turns", {{"text", text}}).first, 200);
  const std::string typed = "무서워서 잠이 안 와요";
  const std::string url = "http://127.0.0.1:" + std::to_string(port) +
                          "/#conversation=web-1&type=" + percent_encode(typed);
  RunResult r = run_shell(chromium_dump_dom(url, dir_ + "/chromium-web"));
  ASSERT_EQ(r.status, 0) << "chromium failed (scripts/setup.sh installs it): " << r.err;
  const std::string& dom = r.out;
  ASSERT_NE(dom.find("data-state=\"done\""), std::string::npos) << dom;

  auto [status, conversation] = call(port, "GET", "/v1/conversations/web-1");
  ASSERT_EQ(status, 200);
  const json& turns = conversation["turns"];
  ASSERT_EQ(turns.size(), 3u);
  EXPECT_EQ(turns[2]["text"], typed);
  auto [s2, plain] = call(port, "POST", "/analyze_emotion", {{"text", typed}});
  ASSERT_EQ(s2, 200);
  std::regex bar("class=\"bar[^\"]*\" data-label=\"([^\"]+)\" data-p=\"([^\"]+)\"");
  size_t bars = 0;
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), bar); it != std::sregex_iterator(); ++it, ++bars)
    EXPECT_NEAR(std::stod((*it)[2]), plain["emotions"][(*it)[1].str()].get<double>(), 1e-6) << (*it)[1];
  EXPECT_EQ(bars, 7u);

  EXPECT_NE(dom.find("<section id=\"flow\">"), std::string::npos) << "the flow is hidden";
  EXPECT_NE(dom.find("data-turns=\"3\""), std::string::npos);
  std::regex series("<g class=\"series\" data-label=\"([^\"]+)\"");
  size_t n = 0;
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), series); it != std::sregex_iterator(); ++it, ++n)
    EXPECT_TRUE(plain["emotions"].contains((*it)[1].str())) << (*it)[1];
  EXPECT_EQ(n, 7u) << "one series per label in the inline timeline";
  std::regex turn("<li class=\"turn\" data-label=\"([^\"]+)\"");
  std::vector<std::string> shown;
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), turn); it != std::sregex_iterator(); ++it)
    shown.push_back((*it)[1]);
  ASSERT_EQ(shown.size(), 3u) << dom;
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(shown[i], turns[i]["label"].get<std::string>());
}

// A turn names its model as /analyze_emotion does; an unknown one is refused and nothing stored.
TEST_F(HistoryServeTest, TurnsChooseTheirModel) {
  const std::string ko = model("ko-emotion7-small");
  ServeProcess serve("--model ko=" + shell_quote(ko) + " --model ko2=" + shell_quote(ko) +
                         " --db " + shell_quote(dir_ + "/models.db"),
                     dir_, "models");
  auto [status, body] = call(serve.port(), "POST", "/v1/conversations/m1/turns",
                             {{"text", "좋아요"}, {"model", "ko2"}});
  ASSERT_EQ(status, 200) << body;
  EXPECT_EQ(body["turn"]["model"], "ko2");
  std::tie(status, body) = call(serve.port(), "POST", "/v1/conversations/m1/turns", {{"text", "좋아요"}});
  ASSERT_EQ(status, 200) << body;
  EXPECT_EQ(body["turn"]["model"], "ko");
  std::tie(status, body) = call(serve.port(), "POST", "/v1/conversations/m1/turns",
                                {{"text", "좋아요"}, {"model", "en"}});
  EXPECT_EQ(status, 400);
  EXPECT_EQ(body["error"]["code"], "unknown_model") << body;
  EXPECT_TRUE(body["error"]["message"].is_string());
  EXPECT_EQ(call(serve.port(), "GET", "/v1/conversations/m1").second["turns"].size(), 2u);
}

TEST_F(HistoryServeTest, KillNineKeepsEveryAcknowledgedTurn) {
  const std::string m = model("ko-emotion7-small");
  const std::string db = dir_ + "/crash.db";
  const std::string args = "--model " + shell_quote(m) + " --db " + shell_quote(db) + " --store-text";
  struct Ack {
    std::string conversation, text;
    int64_t seq;
  };
  std::vector<Ack> acked;
  std::mutex mutex;
  {
    ServeProcess serve(args, dir_, "crash");
    const int port = serve.port();
    std::atomic<bool> stop{false};
    std::atomic<int> count{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < 8; ++t)
      clients.emplace_back([&, t] {
        const std::string conversation = "k" + std::to_string(t);
        for (int i = 0; !stop; ++i) {
          const std::string text = "턴 " + std::to_string(t) + "-" + std::to_string(i) + " '; DROP TABLE turns;--";
          auto [status, body] = call(port, "POST", "/v1/conversations/" + conversation + "/turns",
                                     {{"text", text}, {"speaker", "user"}});
          if (status == 0) return;  // the server is gone
          if (status != 200) continue;
          std::lock_guard<std::mutex> lock(mutex);
          acked.push_back({conversation, text, body["turn"]["seq"].get<int64_t>()});
          ++count;
        }
      });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (count < 80 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_EQ(serve.stop(SIGKILL, 10), -1);  // killed mid-run, posts in flight
    stop = true;
    for (auto& c : clients) c.join();
  }
  ASSERT_GE(acked.size(), 80u);
  {
    History h = History::open(db, HistoryOptions{true});
    EXPECT_EQ(h.integrity_check(), "ok");
    std::map<std::string, std::vector<TurnRecord>> stored;
    for (int t = 0; t < 8; ++t) stored["k" + std::to_string(t)] = h.conversation("k" + std::to_string(t));
    for (const Ack& a : acked) {
      const auto& turns = stored[a.conversation];
      ASSERT_LT(static_cast<size_t>(a.seq), turns.size()) << a.conversation << " lost seq " << a.seq;
      EXPECT_EQ(turns[a.seq].text.value_or(""), a.text);
    }
  }
  ServeProcess again(args, dir_, "restart");
  auto [status, body] = call(again.port(), "POST", "/v1/conversations/k0/turns", {{"text", "다시 시작"}});
  EXPECT_EQ(status, 200) << body;
  EXPECT_EQ(call(again.port(), "GET", "/v1/conversations/k0").first, 200);
}

}  // namespace
}  // namespace maum::testing
