// `maum serve` end to end: the real binary on a free loopback port, driven by a real HTTP client.
// Every endpoint's numbers are compared with `maum classify` on the same text (1e-6); bad requests,
// CORS, overload (503 + Retry-After), stalled and idle clients, SIGTERM, and the web page in
// headless chromium.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/common/cli.h"
#include "tests/common/shared_dir.h"
#include "tests/server/serve_process.h"

namespace maum {
namespace {

using nlohmann::json;
using testing::RunResult;
using testing::ServeProcess;
using testing::chromium_dump_dom;
using testing::percent_encode;

std::string quote(const std::string& s) { return testing::shell_quote(s); }

struct Reply {
  int status = 0;  // 0: no response (connection failed)
  json body;
  httplib::Headers headers;
  std::string raw;
};

Reply request(int port, const std::string& method, const std::string& path,
              const std::string& body = "", const httplib::Headers& headers = {}) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(10);
  client.set_read_timeout(60);
  httplib::Result r = method == "GET"      ? client.Get(path.c_str(), headers)
                      : method == "POST"   ? client.Post(path.c_str(), headers, body, "application/json")
                      : method == "DELETE" ? client.Delete(path.c_str(), headers)
                      : method == "PUT"    ? client.Put(path.c_str(), headers, body, "application/json")
                                           : client.Options(path.c_str(), headers);
  Reply reply;
  if (!r) return reply;
  reply.status = r->status;
  reply.headers = r->headers;
  reply.raw = r->body;
  if (!r->body.empty() && r->get_header_value("Content-Type").find("json") != std::string::npos)
    reply.body = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  return reply;
}

Reply post(int port, const std::string& path, const json& body) {
  return request(port, "POST", path, body.dump());
}

// Every error body is {"error": {"code", "message"}}.
void expect_error(const Reply& r, int status, const std::string& code) {
  EXPECT_EQ(r.status, status) << r.raw;
  ASSERT_TRUE(r.body.is_object()) << r.raw;
  ASSERT_TRUE(r.body.contains("error")) << r.raw;
  EXPECT_EQ(r.body["error"].value("code", ""), code) << r.raw;
  EXPECT_TRUE(r.body["error"]["message"].is_string()) << r.raw;
  EXPECT_EQ(r.body.size(), 1u) << r.raw;
}

// -sum p ln p over the classify output's probabilities.
double entropy_of(const json& labels) {
  double h = 0;
  for (const auto& [k, p] : labels.items())
    if (p.get<double>() > 0) h -= p.get<double>() * std::log(p.get<double>());
  return h;
}

std::vector<std::string> korean_sentences(size_t count, size_t skip = 0) {
  std::ifstream in(testing::shared_path("data/ko_single7/all.tsv"));
  std::string line;
  std::getline(in, line);  // header
  std::vector<std::string> texts;
  while (texts.size() < count && std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, text;
    std::getline(fields, id, '\t');
    std::getline(fields, text, '\t');
    if (skip > 0) {
      --skip;
      continue;
    }
    texts.push_back(text);
  }
  return texts;
}

// A text far over 512 tokens.
std::string long_text(int variant) {
  std::string t = "변형 " + std::to_string(variant) + " ";
  while (t.size() < 6000) t += "오늘은 정말 길고 지루한 하루였지만 그래도 괜찮았어요. ";
  return t;
}

class Serve : public testing::CliSandbox {
 protected:
  static void SetUpTestSuite() {
    CliSandbox::SetUpTestSuite();
    ko_ = model("ko-emotion7-small");
    en_ = model("en-goemotions-electra-small");
    policy_ = dir_ + "/policy.json";
    std::ofstream(policy_) << R"({"temperature": 1.232, "min_confidence": 0.9, "fallback_label": "neutral",)"
                           << R"( "max_entropy": 0.3, "entropy_flag": "complex_emotion"})";
    ko_policy_ = dir_ + "/ko_policy.safetensors";
    RunResult r = run("convert " + quote(testing::shared_path("models/ko-emotion7-small")) + " " +
                      quote(ko_policy_) + " --policy " + quote(policy_));
    ASSERT_EQ(r.status, 0) << r.err;
    server_ = std::make_unique<ServeProcess>(
        "--model ko=" + quote(ko_) + " --model en=" + quote(en_) + " --model kop=" +
            quote(ko_policy_) + " --cors https://app.example --max-body 64KiB --max-wait-ms 500" +
            " --timeout 2 --threads 2",
        dir_, "main");
  }
  static void TearDownTestSuite() {
    server_.reset();
    CliSandbox::TearDownTestSuite();
  }
  static int port() { return server_->port(); }

  // `maum classify` on each text (one JSON object per text).
  static std::vector<json> classify(const std::string& model_path, const std::vector<std::string>& texts,
                                    const std::string& flags = "") {
    std::string input;
    for (const auto& t : texts) input += t + "\n";
    RunResult r = run("classify " + flags + " --model " + quote(model_path), input);
    EXPECT_EQ(r.status, 0) << r.err;
    std::vector<json> out;
    std::istringstream lines(r.out);
    std::string line;
    while (std::getline(lines, line)) out.push_back(json::parse(line));
    EXPECT_EQ(out.size(), texts.size());
    return out;
  }

  static std::string ko_, en_, ko_policy_, policy_;
  static std::unique_ptr<ServeProcess> server_;
};

std::string Serve::ko_, Serve::en_, Serve::ko_policy_, Serve::policy_;
std::unique_ptr<ServeProcess> Serve::server_;

TEST_F(Serve, AnalyzeEmotionEqualsClassify) {
  std::vector<std::string> texts = korean_sentences(6);
  texts.push_back("정말 기쁜 하루였어요!");
  const auto expected = classify(ko_, texts);
  for (size_t i = 0; i < texts.size(); ++i) {
    // A lone request on an idle server is answered without waiting for a batch (--max-wait-ms 500).
    const auto started = std::chrono::steady_clock::now();
    Reply r = post(port(), "/analyze_emotion", {{"text", texts[i]}, {"user_id", "u1"}});
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_LT(seconds, 0.45) << "a lone request waited for a batch";
    const json& e = expected[i];
    // Exactly the seed clients' keys (no policy on this model, nothing truncated).
    std::vector<std::string> keys;
    const auto ordered = nlohmann::ordered_json::parse(r.raw);
    for (const auto& [k, v] : ordered.items()) keys.push_back(k);
    EXPECT_EQ(keys, (std::vector<std::string>{"emotions", "dominant", "entropy", "confidence",
                                              "processing_time_ms"}));
    ASSERT_EQ(r.body["emotions"].size(), e["labels"].size());
    double top = 0;
    for (const auto& [label, p] : e["labels"].items()) {
      EXPECT_NEAR(r.body["emotions"][label].get<double>(), p.get<double>(), 1e-6) << label;
      top = std::max(top, p.get<double>());
    }
    EXPECT_EQ(r.body["dominant"], e["top"]);
    EXPECT_NEAR(r.body["confidence"].get<double>(), top, 1e-6);
    EXPECT_NEAR(r.body["entropy"].get<double>(), entropy_of(e["labels"]), 1e-6);
    EXPECT_GE(r.body["processing_time_ms"].get<double>(), 0.0);
  }
  // The same text again comes from the cache: the counters say so.
  Reply before = request(port(), "GET", "/metrics");
  ASSERT_EQ(post(port(), "/analyze_emotion", {{"text", texts[0]}}).status, 200);
  Reply after = request(port(), "GET", "/metrics");
  auto counter = [](const std::string& text, const std::string& name) {
    std::smatch m;
    EXPECT_TRUE(std::regex_search(text, m, std::regex("\n" + name + " ([0-9]+)"))) << name;
    return m.empty() ? -1L : std::stol(m[1]);
  };
  EXPECT_EQ(counter(after.raw, "maum_cache_hits_total"),
            counter(before.raw, "maum_cache_hits_total") + 1);
  EXPECT_EQ(counter(after.raw, "maum_cache_misses_total"),
            counter(before.raw, "maum_cache_misses_total"));
}

TEST_F(Serve, PolicyOutcomeEqualsClassifyAnalysis) {
  std::vector<std::string> texts = korean_sentences(8, 20);
  const auto expected = classify(ko_policy_, texts);
  size_t fallbacks = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    Reply r = post(port(), "/analyze_emotion", {{"text", texts[i]}, {"model", "kop"}});
    ASSERT_EQ(r.status, 200) << r.raw;
    const json& a = expected[i]["analysis"];
    for (const auto& [label, p] : a["labels"].items())
      EXPECT_NEAR(r.body["emotions"][label].get<double>(), p.get<double>(), 1e-6);
    EXPECT_EQ(r.body["dominant"], a["dominant"]);
    EXPECT_EQ(r.body["label"], a["label"]);
    EXPECT_EQ(r.body["fallback"], a["fallback"]);
    EXPECT_EQ(r.body["flags"], a["flags"]);
    EXPECT_NEAR(r.body["entropy"].get<double>(), a["entropy_nats"].get<double>(), 1e-6);
    EXPECT_NEAR(r.body["confidence"].get<double>(), a["confidence"].get<double>(), 1e-6);
    fallbacks += a["fallback"].get<bool>();
  }
  // The policy's outcome is exercised (min_confidence 0.9), not only its temperature.
  EXPECT_GE(fallbacks, 1u);
}

TEST_F(Serve, PredictHasPipelineShapeAndTopK) {
  const std::string text = "그냥 내 느낌일뿐겠지?";
  const json e = classify(ko_, {text})[0];
  std::vector<std::pair<double, std::string>> sorted;
  for (const auto& [label, p] : e["labels"].items()) sorted.emplace_back(p.get<double>(), label);
  std::sort(sorted.rbegin(), sorted.rend());
  // Default: the top label only, as the pipeline's default top_k = 1.
  Reply r = post(port(), "/predict", {{"question", text}});
  ASSERT_EQ(r.status, 200) << r.raw;
  ASSERT_TRUE(r.body.is_array());
  ASSERT_EQ(r.body.size(), 1u);
  EXPECT_EQ(r.body[0]["label"], sorted[0].second);
  EXPECT_NEAR(r.body[0]["score"].get<double>(), sorted[0].first, 1e-6);
  EXPECT_EQ(r.body[0].size(), 2u);
  // "text" works too; top_k null: every label, by descending score.
  r = post(port(), "/predict", {{"text", text}, {"top_k", nullptr}});
  ASSERT_EQ(r.status, 200) << r.raw;
  ASSERT_EQ(r.body.size(), sorted.size());
  for (size_t i = 0; i < sorted.size(); ++i) {
    EXPECT_EQ(r.body[i]["label"], sorted[i].second);
    EXPECT_NEAR(r.body[i]["score"].get<double>(), sorted[i].first, 1e-6);
  }
  r = post(port(), "/predict", {{"question", text}, {"top_k", 3}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body.size(), 3u);
  expect_error(post(port(), "/predict", {{"question", text}, {"top_k", 0}}), 400, "wrong_type");
}

TEST_F(Serve, ClassifyBatchAndSplitEqualClassify) {
  const std::vector<std::string> texts = korean_sentences(5, 40);
  const auto expected = classify(ko_, texts);
  Reply r = post(port(), "/v1/classify", {{"texts", texts}});
  ASSERT_EQ(r.status, 200) << r.raw;
  ASSERT_EQ(r.body["results"].size(), texts.size());
  EXPECT_EQ(r.body["model"], "ko");
  for (size_t i = 0; i < texts.size(); ++i) {
    const json& got = r.body["results"][i];
    EXPECT_EQ(got["text"], texts[i]);
    EXPECT_EQ(got["truncated"], false);
    for (const auto& [label, p] : expected[i]["labels"].items())
      EXPECT_NEAR(got["analysis"]["labels"][label].get<double>(), p.get<double>(), 1e-6);
    EXPECT_EQ(got["analysis"]["dominant"], expected[i]["top"]);
  }
  // Split into sentences: each sentence and the document summary as `classify --split sentences`.
  const std::string doc = "오늘 정말 행복했어요. 그런데 내일이 너무 걱정돼요! 어떡하죠?";
  const json e = classify(ko_, {doc}, "--split sentences")[0];
  r = post(port(), "/v1/classify", {{"texts", {doc}}, {"split", "sentences"}, {"top_k", 2}});
  ASSERT_EQ(r.status, 200) << r.raw;
  const json& got = r.body["results"][0];
  ASSERT_EQ(got["sentences"].size(), e["sentences"].size());
  ASSERT_EQ(got["sentences"].size(), 3u);
  for (size_t k = 0; k < e["sentences"].size(); ++k) {
    EXPECT_EQ(got["sentences"][k]["text"], e["sentences"][k]["text"]);
    const json& ga = got["sentences"][k]["analysis"];
    const json& ea = e["sentences"][k]["analysis"];
    EXPECT_EQ(ga["label"], ea["label"]);
    EXPECT_EQ(ga["top"].size(), 2u);
    for (const auto& [label, p] : ea["labels"].items())
      EXPECT_NEAR(ga["labels"][label].get<double>(), p.get<double>(), 1e-6);
  }
  for (const auto& [label, p] : e["summary"]["mean"].items())
    EXPECT_NEAR(got["summary"]["mean"][label].get<double>(), p.get<double>(), 1e-6);
  EXPECT_EQ(got["summary"]["percent"], e["summary"]["percent"]);
}

TEST_F(Serve, SeveralModelsSideBySide) {
  const std::vector<std::string> texts = {"I am so happy for you!", "This is disgusting."};
  const auto expected = classify(en_, texts);
  for (size_t i = 0; i < texts.size(); ++i) {
    Reply r = post(port(), "/analyze_emotion", {{"text", texts[i]}, {"model", "en"}});
    ASSERT_EQ(r.status, 200) << r.raw;
    ASSERT_EQ(r.body["emotions"].size(), 28u);
    for (const auto& [label, p] : expected[i]["labels"].items())
      EXPECT_NEAR(r.body["emotions"][label].get<double>(), p.get<double>(), 1e-6);
    EXPECT_EQ(r.body["dominant"], expected[i]["top"]);
    EXPECT_EQ(r.body["predicted"], expected[i]["predicted"]);
  }
  Reply m = request(port(), "GET", "/v1/models");
  ASSERT_EQ(m.status, 200) << m.raw;
  ASSERT_EQ(m.body["models"].size(), 3u);
  EXPECT_EQ(m.body["models"][0]["name"], "ko");
  EXPECT_EQ(m.body["models"][0]["default"], true);
  EXPECT_EQ(m.body["models"][0]["labels"].size(), 7u);
  EXPECT_EQ(m.body["models"][0]["problem_type"], "single_label_classification");
  EXPECT_EQ(m.body["models"][0]["precision"], "f32");
  EXPECT_EQ(m.body["models"][0]["seven_bit_linear_layers"], 0);  // an fp32 model has no int8 layers
  EXPECT_EQ(m.body["models"][0]["max_length"], 512);
  EXPECT_TRUE(m.body["models"][0]["policy"].is_null());
  EXPECT_EQ(m.body["models"][1]["problem_type"], "multi_label_classification");
  EXPECT_EQ(m.body["models"][2]["policy"]["fallback_label"], "neutral");
  EXPECT_TRUE(m.body["models"][0]["isa"].is_string());
}

TEST_F(Serve, ConcurrentRequestsShareBatches) {
  const std::vector<std::string> texts = korean_sentences(24, 100);
  const auto expected = classify(ko_, texts);
  auto batches = [&] {
    std::smatch m;
    const std::string metrics = request(port(), "GET", "/metrics").raw;
    EXPECT_TRUE(std::regex_search(metrics, m, std::regex("\nmaum_batch_size_count ([0-9]+)")));
    return m.empty() ? 0L : std::stol(m[1]);
  };
  const long before = batches();
  std::vector<Reply> replies(texts.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < texts.size(); ++i)
    clients.emplace_back([&, i] { replies[i] = post(port(), "/analyze_emotion", {{"text", texts[i]}}); });
  for (auto& t : clients) t.join();
  for (size_t i = 0; i < texts.size(); ++i) {
    ASSERT_EQ(replies[i].status, 200) << replies[i].raw;
    for (const auto& [label, p] : expected[i]["labels"].items())
      EXPECT_NEAR(replies[i].body["emotions"][label].get<double>(), p.get<double>(), 1e-6);
  }
  // 24 texts arriving together took fewer forward passes than texts.
  EXPECT_LT(batches() - before, static_cast<long>(texts.size()));
}

TEST_F(Serve, BadRequestsGetJsonErrors) {
  const int p = port();
  expect_error(request(p, "POST", "/analyze_emotion", "{\"text\": "), 400, "malformed_json");
  expect_error(request(p, "POST", "/analyze_emotion", "[\"text\"]"), 400, "wrong_type");
  expect_error(post(p, "/analyze_emotion", {{"text", 5}}), 400, "wrong_type");
  expect_error(post(p, "/analyze_emotion", {{"txt", "a"}}), 400, "missing_field");
  expect_error(post(p, "/predict", {{"q", "a"}}), 400, "missing_field");
  expect_error(post(p, "/v1/classify", {{"texts", "a"}}), 400, "wrong_type");
  expect_error(post(p, "/v1/classify", {{"texts", {"a", 1}}}), 400, "wrong_type");
  expect_error(post(p, "/v1/classify", {{"texts", {"a"}}, {"split", "words"}}), 400, "wrong_type");
  expect_error(post(p, "/analyze_emotion", {{"text", "a"}, {"model", "nope"}}), 400,
               "unknown_model");
  // Invalid UTF-8 in the body (a lone continuation byte inside the string).
  expect_error(request(p, "POST", "/analyze_emotion", "{\"text\": \"a\x80z\"}"), 400,
               "invalid_utf8");
  // Over --max-body (64 KiB here).
  expect_error(post(p, "/analyze_emotion", {{"text", std::string(70 * 1024, 'a')}}), 413,
               "payload_too_large");
  expect_error(request(p, "GET", "/no/such/route"), 404, "not_found");
  Reply wrong = request(p, "GET", "/analyze_emotion");
  expect_error(wrong, 405, "method_not_allowed");
  EXPECT_EQ(wrong.headers.find("Allow")->second, "POST");
  expect_error(request(p, "DELETE", "/v1/models"), 405, "method_not_allowed");

  // Empty text: a defined result, the model's output for [CLS] [SEP] as classify gives it.
  const json e = classify(ko_, {""})[0];
  Reply r = post(p, "/analyze_emotion", {{"text", ""}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["dominant"], e["top"]);
  for (const auto& [label, prob] : e["labels"].items())
    EXPECT_NEAR(r.body["emotions"][label].get<double>(), prob.get<double>(), 1e-6);

  // Longer than the model's 512 positions: truncated as classify truncates, and flagged.
  const std::string text = long_text(0);
  const json lt = classify(ko_, {text})[0];
  r = post(p, "/analyze_emotion", {{"text", text}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["truncated"], true);
  for (const auto& [label, prob] : lt["labels"].items())
    EXPECT_NEAR(r.body["emotions"][label].get<double>(), prob.get<double>(), 1e-6);
  r = post(p, "/v1/classify", {{"texts", {text, "짧아요"}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["results"][0]["truncated"], true);
  EXPECT_EQ(r.body["results"][0]["tokens"], 512);
  EXPECT_EQ(r.body["results"][1]["truncated"], false);

  // The server is still fine.
  EXPECT_EQ(request(p, "GET", "/healthz").status, 200);
}

TEST_F(Serve, CorsHeaders) {
  Reply r = post(port(), "/analyze_emotion", {{"text", "안녕하세요"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.find("Access-Control-Allow-Origin")->second, "https://app.example");
  // Errors carry it too, or a browser could not read them.
  r = request(port(), "GET", "/nope");
  ASSERT_NE(r.headers.find("Access-Control-Allow-Origin"), r.headers.end());
  // Preflight.
  r = request(port(), "OPTIONS", "/predict",
              "", {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.headers.find("Access-Control-Allow-Origin")->second, "https://app.example");
  EXPECT_NE(r.headers.find("Access-Control-Allow-Methods")->second.find("POST"), std::string::npos);
  EXPECT_NE(r.headers.find("Access-Control-Allow-Headers")->second.find("Content-Type"),
            std::string::npos);
}

TEST_F(Serve, HealthReadyMetrics) {
  EXPECT_EQ(request(port(), "GET", "/healthz").body["status"], "ok");
  EXPECT_EQ(request(port(), "GET", "/readyz").body["status"], "ready");
  ASSERT_EQ(post(port(), "/predict", {{"text", "좋아요"}}).status, 200);
  Reply m = request(port(), "GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.headers.find("Content-Type")->second.find("text/plain"), std::string::npos);
  for (const char* needle :
       {"maum_http_requests_total{route=\"/predict\",status=\"200\"} ",
        "maum_http_request_duration_seconds_bucket{route=\"/predict\",le=\"+Inf\"} ",
        "maum_batch_size_bucket{le=\"1\"} ", "maum_queue_depth 0", "maum_cache_hits_total ",
        "maum_cache_misses_total ", "maum_model_load_seconds{model=\"ko\"} ",
        "maum_model_load_seconds{model=\"en\"} ", "# TYPE maum_batch_size histogram"})
    EXPECT_NE(m.raw.find(needle), std::string::npos) << needle;
}

int connect_loopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

TEST_F(Serve, MalformedHttpGetsJson400) {
  const int fd = connect_loopback(port());
  ASSERT_GE(fd, 0);
  const std::string garbage = "GARBAGE\r\n\r\n";
  ASSERT_EQ(send(fd, garbage.data(), garbage.size(), 0), static_cast<ssize_t>(garbage.size()));
  timeval tv{20, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string response;
  char buf[1024];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) {
    response.append(buf, static_cast<size_t>(n));
    if (response.find("}}") != std::string::npos) break;
  }
  close(fd);
  EXPECT_EQ(response.rfind("HTTP/1.1 400", 0), 0u) << response;
  EXPECT_NE(response.find("{\"error\":{\"code\":\"bad_request\""), std::string::npos) << response;
}

TEST_F(Serve, StalledAndIdleClientsDoNotStarveOthers) {
  // A client that sends half a request and stalls is dropped after --timeout (2 s).
  const int stalled = connect_loopback(port());
  ASSERT_GE(stalled, 0);
  const std::string partial = "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"te";
  ASSERT_EQ(send(stalled, partial.data(), partial.size(), 0), static_cast<ssize_t>(partial.size()));
  // Hundreds of connections that never send anything (more than the connection threads).
  std::vector<int> idle;
  for (int i = 0; i < 400; ++i) {
    const int fd = connect_loopback(port());
    if (fd >= 0) idle.push_back(fd);
  }
  EXPECT_GE(idle.size(), 300u);
  const auto started = std::chrono::steady_clock::now();
  Reply r = post(port(), "/predict", {{"text", "괜찮아요"}});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_LT(seconds, 20.0);
  timeval tv{20, 0};
  setsockopt(stalled, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[512];
  const auto stall_started = std::chrono::steady_clock::now();
  while (recv(stalled, buf, sizeof buf, 0) > 0) {
  }
  EXPECT_LT(std::chrono::steady_clock::now() - stall_started, std::chrono::seconds(15))
      << "the stalled connection was not closed";
  close(stalled);
  for (int fd : idle) close(fd);
  EXPECT_EQ(request(port(), "GET", "/healthz").status, 200);
}

TEST_F(Serve, ThousandsOfIdleConnectionsDoNotDelayOthers) {
  // 1,500 connections that never send a byte, kept open past --timeout. The kernel holds them back
  // about that long (TCP_DEFER_ACCEPT); then the server takes them in, one connection thread each
  // (up to --io-threads), and drops them after --timeout. Requests made meanwhile on new
  // connections must not queue behind them. (With 256 connection threads and no deferral, each
  // request waited ~1,500 / 256 rounds of --timeout, 5 s or more here.)
  rlimit files{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &files), 0);
  const rlim_t wanted = 2000;
  if (files.rlim_cur < wanted && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = std::min(files.rlim_max, wanted);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &files), 0);
  }
  const size_t idle_count = std::min<size_t>(1500, files.rlim_cur > 300 ? files.rlim_cur - 300 : 0);
  if (idle_count < 700)
    GTEST_SKIP() << "RLIMIT_NOFILE allows " << files.rlim_cur << " descriptors; this test needs 1,000";
  ServeProcess s("--model " + quote(ko_) + " --timeout 1 --threads 1 --cache 0", dir_, "idle");
  ASSERT_GT(s.port(), 0);
  std::vector<int> idle;
  for (size_t i = 0; i < idle_count; ++i) {
    const int fd = connect_loopback(s.port());
    if (fd >= 0) idle.push_back(fd);
  }
  EXPECT_GE(idle.size(), idle_count * 9 / 10);
  // For 8 s (the deferral ends after a few s, then the idle ones arrive), a request every 100 ms.
  using Clock = std::chrono::steady_clock;
  const auto until = Clock::now() + std::chrono::seconds(8);
  double slowest = 0;
  int answered = 0;
  while (Clock::now() < until) {
    const auto started = Clock::now();
    Reply r = post(s.port(), "/predict", {{"text", "괜찮아요"}});
    slowest = std::max(slowest, std::chrono::duration<double>(Clock::now() - started).count());
    EXPECT_EQ(r.status, 200) << r.raw;
    ++answered;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (int fd : idle) close(fd);
  EXPECT_GE(answered, 20);
  EXPECT_LT(slowest, 2.0) << "a request waited behind " << idle.size() << " idle connections";
  EXPECT_EQ(s.stop(), 0) << s.err();
}

TEST_F(Serve, OverloadAnswers503WithRetryAfter) {
  ServeProcess small("--model " + quote(ko_) + " --queue 2 --max-batch 1 --threads 1 --cache 0",
                     dir_, "overload");
  ASSERT_GT(small.port(), 0);
  std::vector<Reply> replies(24);
  std::vector<std::thread> clients;
  for (size_t i = 0; i < replies.size(); ++i)
    clients.emplace_back([&, i] {
      replies[i] = post(small.port(), "/analyze_emotion", {{"text", long_text(static_cast<int>(i))}});
    });
  for (auto& t : clients) t.join();
  size_t ok = 0, overloaded = 0;
  for (const Reply& r : replies) {
    if (r.status == 200) {
      ++ok;
    } else {
      expect_error(r, 503, "overloaded");
      ASSERT_NE(r.headers.find("Retry-After"), r.headers.end());
      EXPECT_EQ(r.headers.find("Retry-After")->second, "1");
      ++overloaded;
    }
  }
  EXPECT_GE(ok, 1u);
  EXPECT_GE(overloaded, 1u);
  EXPECT_EQ(small.stop(), 0) << small.err();
}

TEST_F(Serve, SigtermFinishesRequestsInFlight) {
  ServeProcess s("--model " + quote(ko_) + " --max-batch 1 --threads 1", dir_, "sigterm");
  ASSERT_GT(s.port(), 0);
  std::vector<std::string> texts;
  for (int i = 0; i < 12; ++i) texts.push_back(long_text(100 + i));
  Reply reply;
  std::thread client([&] { reply = post(s.port(), "/v1/classify", {{"texts", texts}}); });
  // Wait until the request is being worked on (its texts missed the cache), then SIGTERM.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    std::smatch m;
    const std::string metrics = request(s.port(), "GET", "/metrics").raw;
    if (std::regex_search(metrics, m, std::regex("\nmaum_cache_misses_total ([0-9]+)")) &&
        std::stol(m[1]) >= 12)
      break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(s.stop(SIGTERM), 0) << s.err();
  client.join();
  ASSERT_EQ(reply.status, 200) << reply.raw;
  EXPECT_EQ(reply.body["results"].size(), texts.size());
  EXPECT_NE(s.err().find("SIGTERM"), std::string::npos);
  // Nothing listens any more.
  EXPECT_EQ(connect_loopback(s.port()), -1);
}

TEST_F(Serve, SigintExitsZero) {
  ServeProcess s("--model " + quote(ko_), dir_, "sigint");
  ASSERT_GT(s.port(), 0);
  EXPECT_EQ(request(s.port(), "GET", "/readyz").status, 200);
  EXPECT_EQ(s.stop(SIGINT), 0) << s.err();
}

TEST_F(Serve, UsageErrors) {
  RunResult r = run("serve --model " + quote(dir_ + "/missing.safetensors") + " --port 0");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("maum: error: "), std::string::npos) << r.err;
  r = run("serve --model " + quote(ko_) + " --port 70000");
  EXPECT_EQ(r.status, 2) << r.err;
  r = run("serve --model " + quote(ko_) + " --max-body lots");
  EXPECT_EQ(r.status, 2) << r.err;
}

// `serve --precision bf16` loads every model at bf16: /analyze_emotion equals `classify --precision
// bf16` (a row's result does not depend on its batch-mates), /v1/models says bf16, the start-up
// line names it; an int8 model at bf16 is a usage error naming the file.
TEST_F(Serve, PrecisionBf16) {
  ServeProcess bf16("--model ko=" + quote(ko_) + " --precision bf16 --threads 2", dir_, "bf16");
  ASSERT_GT(bf16.port(), 0);
  EXPECT_NE(bf16.err().find("precision bf16"), std::string::npos) << bf16.err();
  Reply m = request(bf16.port(), "GET", "/v1/models");
  ASSERT_EQ(m.status, 200) << m.raw;
  EXPECT_EQ(m.body["models"][0]["precision"], "bf16");
  const std::vector<std::string> texts = korean_sentences(4);
  const auto expected = classify(ko_, texts, "--precision bf16");
  const auto fp32 = classify(ko_, texts);
  double largest_change = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    Reply r = post(bf16.port(), "/analyze_emotion", {{"text", texts[i]}});
    ASSERT_EQ(r.status, 200) << r.raw;
    for (const auto& [label, p] : expected[i]["labels"].items()) {
      EXPECT_NEAR(r.body["emotions"][label].get<double>(), p.get<double>(), 1e-6) << label;
      largest_change = std::max(largest_change, std::fabs(p.get<double>() -
                                                          fp32[i]["labels"][label].get<double>()));
    }
  }
  EXPECT_GT(largest_change, 0.0) << "bf16 answered exactly what fp32 does";
  EXPECT_LT(largest_change, 0.01);
  EXPECT_EQ(bf16.stop(), 0);
  RunResult r = run("serve --model " + quote(model("ko-emotion7-small", "--quantize int8")) +
                    " --precision bf16 --port 0");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_EQ(r.err.rfind("maum: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("int8"), std::string::npos) << r.err;
}

// The web page in a real browser: headless Debian chromium types a Korean sentence (the page's
// #type= hook sends one input event per character and presses Analyze) and the test reads the
// bars, the dominant emotion and the sentence rows back from the DOM.
TEST_F(Serve, WebPageInHeadlessChromium) {
  const std::string text = "오늘 정말 행복했어요. 그런데 내일이 걱정돼요.";
  const json e = classify(ko_, {text})[0];
  const std::string url = "http://127.0.0.1:" + std::to_string(port()) + "/#type=" + percent_encode(text);
  RunResult r = run_shell(chromium_dump_dom(url, dir_ + "/chromium-profile"));
  ASSERT_EQ(r.status, 0) << "chromium failed (scripts/setup.sh installs it): " << r.err;
  const std::string& dom = r.out;
  ASSERT_NE(dom.find("data-state=\"done\""), std::string::npos) << dom;
  std::regex bar("class=\"bar[^\"]*\" data-label=\"([^\"]+)\" data-p=\"([^\"]+)\"");
  size_t bars = 0;
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), bar); it != std::sregex_iterator();
       ++it, ++bars) {
    const std::string label = (*it)[1];
    ASSERT_TRUE(e["labels"].contains(label)) << label;
    EXPECT_NEAR(std::stod((*it)[2]), e["labels"][label].get<double>(), 1e-6) << label;
  }
  EXPECT_EQ(bars, 7u) << dom;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(dom, m, std::regex("id=\"dominant\">([^<]+)<"))) << dom;
  EXPECT_EQ(m[1], e["top"].get<std::string>());
  size_t rows = 0;
  for (size_t at = dom.find("class=\"sentence\""); at != std::string::npos;
       at = dom.find("class=\"sentence\"", at + 1))
    ++rows;
  EXPECT_EQ(rows, 2u) << dom;
  EXPECT_NE(dom.find("그런데 내일이 걱정돼요."), std::string::npos);
}

}  // namespace
}  // namespace maum
