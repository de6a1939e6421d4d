// `maum flow` end to end on the shared ko-emotion7-small: per-turn results equal `maum classify`,
// summaries follow from the per-turn labels, --db keeps turns across runs (and only a hash of
// each text unless --store-text), bad input lines are named, and the timeline SVG opens in
// headless chromium with one series per label and visible pixels.
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/common/cli.h"
#include "tests/common/png.h"

namespace maum::testing {
namespace {

using nlohmann::json;

class FlowCliTest : public CliSandbox {};

const char* kPolicy = MAUM_SOURCE_DIR "/analysis/examples/ko7_valence_policy.json";

std::string turns_jsonl() {
  return R"({"conversation_id":"c1","speaker":"user","user_id":"u1","text":"오늘 너무 슬퍼요","ts":"2026-11-27T10:00:00Z"}
{"conversation_id":"c1","speaker":"bot","text":"무슨 일 있었어요?","ts":"2026-11-27T10:00:05Z"}
{"conversation_id":"c2","speaker":"user","user_id":"u1","text":"정말 기쁜 하루였어요!","ts":1795773600}

{"conversation_id":"c1","speaker":"user","user_id":"u1","text":"친구가 선물을 줘서 기뻤어요","ts":"2026-11-27T10:01:00Z"}
{"conversation_id":"c1","speaker":"user","text":"'; DROP TABLE turns; -- 😀"}
)";
}

std::vector<json> lines_of(const std::string& out) {
  std::vector<json> lines;
  size_t start = 0;
  for (size_t nl; (nl = out.find('\n', start)) != std::string::npos; start = nl + 1)
    lines.push_back(json::parse(out.substr(start, nl - start)));
  return lines;
}

TEST_F(FlowCliTest, TurnsMatchClassifyAndSummariesFollowFromThem) {
  const std::string m = model("ko-emotion7-small");
  const std::string db = dir_ + "/flow.db";
  RunResult r = run("flow --model " + shell_quote(m) + " --policy " + shell_quote(kPolicy) +
                        " --db " + shell_quote(db),
                    turns_jsonl());
  ASSERT_EQ(r.status, 0) << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 5u + 2u);  // 5 turns, then 2 conversations
  // The same texts through `maum classify` (same model, same temperature: no policy temperature).
  RunResult c = run("classify --model " + shell_quote(m),
                    "오늘 너무 슬퍼요\n무슨 일 있었어요?\n정말 기쁜 하루였어요!\n친구가 선물을 줘서 기뻤어요\n'; DROP TABLE turns; -- 😀\n");
  ASSERT_EQ(c.status, 0) << c.err;
  const auto classified = lines_of(c.out);
  std::map<std::string, std::vector<std::string>> labels_by_conversation;
  for (size_t i = 0; i < 5; ++i) {
    const json& turn = lines[i]["turn"];
    for (auto it = classified[i]["labels"].begin(); it != classified[i]["labels"].end(); ++it)
      EXPECT_NEAR(turn["labels"][it.key()].get<double>(), it.value().get<double>(), 1e-6);
    EXPECT_EQ(turn["dominant"], classified[i]["top"]);
    EXPECT_FALSE(turn.contains("text"));  // not stored without --store-text
    EXPECT_EQ(turn["text_sha256"].get<std::string>().size(), 64u);
    labels_by_conversation[turn["conversation_id"]].push_back(turn["label"]);
  }
  EXPECT_EQ(lines[0]["turn"]["seq"], 0);
  EXPECT_EQ(lines[3]["turn"]["seq"], 2);
  EXPECT_EQ(lines[2]["turn"]["ts"], "2026-11-27T10:00:00.000Z");
  EXPECT_EQ(lines[4]["turn"]["speaker"], "user");
  // Summaries: shares are label counts / turns; transitions count consecutive pairs.
  EXPECT_EQ(lines[5]["conversation_id"], "c1");
  const json& s = lines[5]["summary"];
  const auto& c1 = labels_by_conversation["c1"];
  ASSERT_EQ(s["turns"], c1.size());
  for (auto it = s["share"].begin(); it != s["share"].end(); ++it) {
    const double count = static_cast<double>(std::count(c1.begin(), c1.end(), it.key()));
    EXPECT_DOUBLE_EQ(it.value().get<double>(), count / c1.size()) << it.key();
  }
  size_t transitions = 0;
  for (auto& from : s["transitions"].items())
    for (auto& to : from.value().items()) transitions += to.value().get<size_t>();
  EXPECT_EQ(transitions, c1.size() - 1);
  ASSERT_TRUE(s["valence"].is_object());  // the policy's valence map
  EXPECT_EQ(s["valence"]["per_turn"].size(), c1.size());
  // per-turn valence = p(happiness) - p(sadness) - p(fear) - p(anger) - p(disgust)
  const json& p0 = lines[0]["turn"]["labels"];
  EXPECT_NEAR(s["valence"]["per_turn"][0].get<double>(),
              p0["happiness"].get<double>() - p0["sadness"].get<double>() - p0["fear"].get<double>() -
                  p0["anger"].get<double>() - p0["disgust"].get<double>(),
              1e-12);
  EXPECT_EQ(lines[6]["summary"]["turns"], 1);

  // A second run appends to the stored conversation: seq continues, the summary covers both runs.
  r = run("flow --model " + shell_quote(m) + " --db " + shell_quote(db),
          R"({"conversation_id":"c2","text":"무서워요"})" "\n");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto again = lines_of(r.out);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0]["turn"]["seq"], 1);
  EXPECT_EQ(again[1]["summary"]["turns"], 2);
  EXPECT_TRUE(again[1]["summary"]["valence"].is_null());  // no valence map in this run
  // Only hashes in the file.
  EXPECT_EQ(read_file(db).find("선물"), std::string::npos);
}

TEST_F(FlowCliTest, StoreTextAndBadLines) {
  const std::string m = model("ko-emotion7-small");
  const std::string db = dir_ + "/text.db";
  RunResult r = run("flow --store-text --model " + shell_quote(m) + " --db " + shell_quote(db),
                    R"({"conversation_id":"t1","text":"e\u0301 \u202e 안녕 \"quoted\""})" "\n");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(lines_of(r.out)[0]["turn"]["text"], "e\xCC\x81 \xE2\x80\xAE 안녕 \"quoted\"");
  for (const std::string& bad :
       {std::string(R"({"conversation_id":"x'; DROP TABLE turns;--","text":"a"})"),
        std::string(R"({"text":"no id"})"), std::string("not json"),
        std::string(R"({"conversation_id":"c","text":"a","ts":"tomorrow"})"),
        std::string(R"({"conversation_id":"c","text":"a","mood":"x"})"),
        std::string("{\"conversation_id\":\"c\",\"text\":\"\xff\"}")}) {
    r = run("flow --model " + shell_quote(m) + " --db " + shell_quote(db),
            R"({"conversation_id":"ok","text":"좋아요"})" "\n" + bad + "\n");
    EXPECT_EQ(r.status, 1) << bad;
    EXPECT_EQ(r.err.rfind("maum: error: stdin line 2: ", 0), 0u) << r.err;
  }
  r = run("flow --model " + shell_quote(m) + " --bogus");
  EXPECT_EQ(r.status, 2);
}

TEST_F(FlowCliTest, TimelineSvgRendersInChromiumWithOneSeriesPerLabel) {
  const std::string m = model("ko-emotion7-small");
  const std::string svg = dir_ + "/timeline.svg";
  RunResult r = run("flow --model " + shell_quote(m) + " --svg " + shell_quote(svg),
                    R"({"conversation_id":"s1","text":"오늘 너무 슬퍼요"}
{"conversation_id":"s1","text":"무슨 일 있었어요?"}
{"conversation_id":"s1","text":"정말 기쁜 하루였어요!"}
)");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string text = read_file(svg);
  size_t series = 0;
  std::set<std::string> labels;
  for (size_t p = text.find("class=\"series\" data-label=\""); p != std::string::npos;
       p = text.find("class=\"series\" data-label=\"", p + 1)) {
    ++series;
    const size_t begin = p + 27;
    labels.insert(text.substr(begin, text.find('"', begin) - begin));
  }
  EXPECT_EQ(series, 7u);
  EXPECT_EQ(labels, (std::set<std::string>{"fear", "surprise", "anger", "sadness", "neutral",
                                           "happiness", "disgust"}));

  const std::string png = dir_ + "/timeline.png";
  r = run_shell("timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
                "--disable-background-networking --disable-component-update --disable-sync "
                "--user-data-dir=" + shell_quote(dir_ + "/chromium-profile") +
                " --window-size=800,360 --screenshot=" + shell_quote(png) + " " +
                shell_quote("file://" + svg));
  ASSERT_EQ(r.status, 0) << r.err;
  Image image;
  ASSERT_TRUE(decode_png(read_file(png), image)) << "not a PNG chromium writes";
  // Non-blank: a visible share of non-white pixels, and lines in several distinct saturated colours.
  size_t ink = 0;
  std::set<uint32_t> colours;
  for (size_t i = 0; i < image.rgb.size(); i += 3) {
    const int rr = image.rgb[i], g = image.rgb[i + 1], b = image.rgb[i + 2];
    if (rr < 240 || g < 240 || b < 240) ++ink;
    if (std::max({rr, g, b}) - std::min({rr, g, b}) > 80) colours.insert((rr >> 4) << 8 | (g >> 4) << 4 | (b >> 4));
  }
  const double share = double(ink) / (image.width * image.height);
  EXPECT_GT(share, 0.01);
  EXPECT_LT(share, 0.9);
  EXPECT_GE(colours.size(), 7u);
}

}  // namespace
}  // namespace maum::testing
