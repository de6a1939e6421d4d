// The SQLite history in temporary files: round trips byte-exact, hostile ids rejected, texts not
// stored unless asked, migration from schema 1, erase (and the erased bytes gone from the file),
// read-only and full databases (typed error, nothing acknowledged is lost), concurrent appends.
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "maum/error.h"
#include "maum/flow.h"
#include "maum/history.h"
#include "tests/common/temp_dir.h"

namespace maum {
namespace {

class HistoryTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    path_ = dir_ + "/h.db";
  }

  // Every byte of the database and its log, to look for text that must not be there.
  std::string file_bytes() const {
    std::string all;
    for (const char* suffix : {"", "-wal"}) {
      std::ifstream f(path_ + suffix, std::ios::binary);
      std::stringstream s;
      s << f.rdbuf();
      all += s.str();
    }
    return all;
  }

  static TurnRecord make(const std::string& conversation, const std::string& text,
                         const std::string& user = "u1", const std::string& speaker = "user") {
    TurnRecord t;
    t.conversation_id = conversation;
    t.user_id = user;
    t.speaker = speaker;
    t.ts_ms = 1795773600000;  // 2026-11-27T10:00:00Z
    t.model = "test-model";
    t.labels = {"happy", "sad"};
    t.probs = {0.25, 0.75};
    t.dominant = "sad";
    t.label = "sad";
    t.flags = {"complex_emotion"};
    t.text = text;
    return t;
  }

  std::string path_;
};

const std::vector<std::string> kHostile = {
    "'; DROP TABLE turns; --",
    "\" OR 1=1 --",
    "Robert'); DELETE FROM meta; --",
    "%s%n%x",
    "<script>alert(1)</script>",
    "\xEC\x95\x88\xEB\x85\x95\xED\x95\x98\xEC\x84\xB8\xEC\x9A\x94",          // 안녕하세요
    "e\xCC\x81 \xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB",                        // e + combining, NFD 한
    "\xE2\x80\xAE\xE2\x80\x8B\xEF\xBB\xBF",                                  // RLO, ZWSP, BOM
    "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7",  // ZWJ family
    "\xF4\x8F\xBF\xBF",                                                      // U+10FFFF
    std::string("nul\0inside", 10),
    "",
};

TEST_F(HistoryTest, RoundTripIsByteExactForHostileTextAndSpeakers) {
  HistoryOptions o;
  o.store_text = true;
  History h = History::open(path_, o);
  EXPECT_EQ(h.schema_version(), History::kSchemaVersion);
  for (const auto& s : kHostile) {
    const bool speaker_ok = s.find('\0') == std::string::npos && s.size() <= kMaxIdBytes;
    h.append(make("c1", s, "u1", speaker_ok ? s : "x"));
  }
  const auto turns = h.conversation("c1");
  ASSERT_EQ(turns.size(), kHostile.size());
  for (size_t i = 0; i < kHostile.size(); ++i) {
    EXPECT_EQ(turns[i].seq, static_cast<int64_t>(i));
    ASSERT_TRUE(turns[i].text.has_value());
    EXPECT_EQ(*turns[i].text, kHostile[i]);
    if (kHostile[i].find('\0') == std::string::npos) {
      EXPECT_EQ(turns[i].speaker, kHostile[i]);
    }
    EXPECT_EQ(turns[i].probs, (std::vector<double>{0.25, 0.75}));
    EXPECT_EQ(turns[i].labels, (std::vector<std::string>{"happy", "sad"}));
    EXPECT_EQ(turns[i].flags, (std::vector<std::string>{"complex_emotion"}));
    EXPECT_EQ(turns[i].ts_ms, 1795773600000);
  }
  EXPECT_EQ(h.integrity_check(), "ok");
  // The tables are all still there.
  EXPECT_EQ(h.user_turns("u1", std::nullopt, std::nullopt).size(), kHostile.size());
}

TEST_F(HistoryTest, HostileIdsAndBadFieldsAreRejectedAndNothingIsStored) {
  History h = History::open(path_);
  for (const std::string& bad : {std::string("'; DROP TABLE turns; --"), std::string("a b"),
                                std::string(""), std::string("../x"), std::string(129, 'a'),
                                std::string("\xEC\x95\x88")}) {
    EXPECT_THROW(h.append(make(bad, "t")), InvalidArgument) << bad;
    EXPECT_THROW(h.append(make("c1", "t", bad == "" ? "-" : bad)), InvalidArgument) << bad;
    if (!bad.empty()) {
      EXPECT_THROW(h.conversation(bad), InvalidArgument);
      EXPECT_THROW(h.erase_user(bad), InvalidArgument);
    }
  }
  EXPECT_THROW(h.append(make("c1", "t", "u1", "line\nbreak")), InvalidArgument);
  EXPECT_THROW(h.append(make("c1", "bad \xff utf8")), InvalidArgument);
  TurnRecord wrong = make("c1", "t");
  wrong.probs = {0.5};
  EXPECT_THROW(h.append(wrong), InvalidArgument);
  wrong.probs = {0.5, 1.5};
  EXPECT_THROW(h.append(wrong), InvalidArgument);
  // A batch with one bad turn stores none.
  std::vector<TurnRecord> batch = {make("c1", "ok"), make("bad id", "x")};
  EXPECT_THROW(h.append(batch), InvalidArgument);
  EXPECT_TRUE(h.conversation("c1").empty());
  EXPECT_FALSE(h.has_user("u1"));
}

TEST_F(HistoryTest, TextIsOnlyAHashUnlessAsked) {
  const std::string secret = "my very secret sentence 12345";
  {
    History h = History::open(path_);
    const TurnRecord a = h.append(make("c1", secret));
    const TurnRecord b = h.append(make("c1", secret));
    const TurnRecord c = h.append(make("c1", secret + "!"));
    EXPECT_FALSE(a.text.has_value());
    EXPECT_EQ(a.text_sha256.size(), 64u);
    EXPECT_EQ(a.text_sha256, b.text_sha256);  // same text, same hash (within a database)
    EXPECT_NE(a.text_sha256, c.text_sha256);
    const auto turns = h.conversation("c1");
    EXPECT_FALSE(turns[0].text.has_value());
    EXPECT_EQ(turns[0].text_sha256, a.text_sha256);
  }
  EXPECT_EQ(file_bytes().find(secret), std::string::npos);
}

TEST_F(HistoryTest, MigratesFromSchemaVersion1) {
  {  // A database as schema version 1 wrote it (the 0 -> 1 migration, verbatim).
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    const char* v1 =
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE turns(id INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL, seq INTEGER "
        "NOT NULL, user_id TEXT NOT NULL, speaker TEXT NOT NULL, ts_ms INTEGER NOT NULL, model "
        "TEXT NOT NULL, probs TEXT NOT NULL, dominant TEXT NOT NULL, label TEXT NOT NULL, "
        "fallback INTEGER NOT NULL, text TEXT, text_sha256 TEXT NOT NULL, "
        "UNIQUE(conversation_id, seq));"
        "INSERT INTO meta VALUES('text_salt', '00112233445566778899aabbccddeeff');"
        "INSERT INTO turns(conversation_id, seq, user_id, speaker, ts_ms, model, probs, dominant, "
        "label, fallback, text, text_sha256) VALUES('old', 0, 'u9', 'user', 1000, 'm', "
        "'{\"happy\":0.9,\"sad\":0.1}', 'happy', 'happy', 0, NULL, 'abc');"
        "PRAGMA user_version=1;";
    ASSERT_EQ(sqlite3_exec(db, v1, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  History h = History::open(path_);
  EXPECT_EQ(h.schema_version(), History::kSchemaVersion);
  const auto old = h.conversation("old");
  ASSERT_EQ(old.size(), 1u);
  EXPECT_TRUE(old[0].flags.empty());  // the column added by version 2, defaulted
  EXPECT_EQ(old[0].probs, (std::vector<double>{0.9, 0.1}));
  ConversationTotals totals;
  EXPECT_EQ(h.append(make("old", "next"), &totals).seq, 1);
  EXPECT_EQ(totals.turns, 2);
  EXPECT_EQ(totals.counts.at("happy"), 1);  // the version-1 turn
  EXPECT_EQ(totals.next_seq, 2);
  EXPECT_EQ(h.totals("old").to_json(), totals.to_json());
  EXPECT_EQ(h.user_turns("u9", 0, 2000).size(), 1u);
  EXPECT_EQ(h.integrity_check(), "ok");
}

TEST_F(HistoryTest, NewerSchemaIsATypedError) {
  { History h = History::open(path_); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  try {
    History::open(path_);
    FAIL() << "opened a newer schema";
  } catch (const StorageError& e) {
    EXPECT_EQ(e.kind(), StorageError::Kind::Schema);
    EXPECT_NE(std::string(e.what()).find("99"), std::string::npos);
  }
}

TEST_F(HistoryTest, NotADatabaseIsATypedError) {
  std::ofstream(path_) << "this is not a database, just some text that is long enough to look odd";
  EXPECT_THROW(History::open(path_), StorageError);
}

TEST_F(HistoryTest, EraseConversationAndUserOverwritesTheText) {
  const std::string secret_a = "erase-me-conversation-XYZ", secret_b = "erase-me-user-QRS";
  HistoryOptions o;
  o.store_text = true;
  {
    History h = History::open(path_, o);
    h.append(make("c1", secret_a, "u1"));
    h.append(make("c1", "keep? no, same conversation", "u2"));
    h.append(make("c2", secret_b, "u2"));
    h.append(make("c3", "stays", "u3"));
    EXPECT_NE(file_bytes().find(secret_a), std::string::npos);
    EXPECT_EQ(h.erase_conversation("c1"), 2u);
    EXPECT_EQ(h.erase_conversation("c1"), 0u);
    EXPECT_EQ(h.erase_user("u2"), 1u);
    EXPECT_TRUE(h.conversation("c1").empty());
    EXPECT_TRUE(h.conversation("c2").empty());
    EXPECT_FALSE(h.has_user("u2"));
    EXPECT_EQ(h.conversation("c3").size(), 1u);
    EXPECT_EQ(h.integrity_check(), "ok");
  }
  const std::string bytes = file_bytes();
  EXPECT_EQ(bytes.find(secret_a), std::string::npos);
  EXPECT_EQ(bytes.find(secret_b), std::string::npos);
  EXPECT_NE(bytes.find("stays"), std::string::npos);
}

TEST_F(HistoryTest, ReadOnlyDatabaseRefusesWritesWithATypedError) {
  { History::open(path_).append(make("c1", "before")); }
  HistoryOptions o;
  o.read_only = true;
  History h = History::open(path_, o);
  EXPECT_EQ(h.conversation("c1").size(), 1u);
  try {
    h.append(make("c1", "after"));
    FAIL() << "appended to a read-only database";
  } catch (const StorageError& e) {
    EXPECT_EQ(e.kind(), StorageError::Kind::ReadOnly);
  }
  EXPECT_THROW(h.erase_conversation("c1"), StorageError);
  EXPECT_EQ(h.conversation("c1").size(), 1u);
}

TEST_F(HistoryTest, FullDatabaseRefusesWritesAndKeepsEveryAcknowledgedTurn) {
  HistoryOptions o;
  o.store_text = true;
  o.max_bytes = 64 * 1024;  // 16 pages of 4 KiB
  std::vector<std::string> acknowledged;
  bool full = false;
  {
    History h = History::open(path_, o);
    for (int i = 0; i < 200 && !full; ++i) {
      const std::string text = "turn " + std::to_string(i) + " " + std::string(3000, 'x');
      try {
        h.append(make("c1", text));
        acknowledged.push_back(text);
      } catch (const StorageError& e) {
        EXPECT_EQ(e.kind(), StorageError::Kind::Full) << e.what();
        full = true;
      }
    }
    ASSERT_TRUE(full) << "64 KiB never filled";
    ASSERT_FALSE(acknowledged.empty());
    // Still usable: reads work, and a write that fits after an erase succeeds.
    EXPECT_EQ(h.conversation("c1").size(), acknowledged.size());
  }
  History h = History::open(path_, HistoryOptions{true});
  const auto turns = h.conversation("c1");
  ASSERT_EQ(turns.size(), acknowledged.size());
  for (size_t i = 0; i < turns.size(); ++i) EXPECT_EQ(*turns[i].text, acknowledged[i]);
  EXPECT_EQ(h.integrity_check(), "ok");
}

TEST_F(HistoryTest, ConcurrentAppendsGetDistinctConsecutiveSeqs) {
  History h = History::open(path_);
  constexpr int kThreads = 8, kEach = 20;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) h.append(make("c1", std::to_string(t) + ":" + std::to_string(i)));
    });
  for (auto& t : threads) t.join();
  const auto turns = h.conversation("c1");
  ASSERT_EQ(turns.size(), static_cast<size_t>(kThreads * kEach));
  for (size_t i = 0; i < turns.size(); ++i) EXPECT_EQ(turns[i].seq, static_cast<int64_t>(i));
  EXPECT_EQ(h.integrity_check(), "ok");
}

// Two writers on one file (as two processes would be): each sees the other's turns in the seqs
// and in the running totals it answers with (a writer's cached totals are dropped when another
// connection has written).
TEST_F(HistoryTest, TwoWritersShareSeqsAndTotals) {
  History a = History::open(path_), b = History::open(path_);
  ConversationTotals totals;
  for (int i = 0; i < 6; ++i) {
    TurnRecord t = make("c1", std::to_string(i));
    t.label = i % 3 == 0 ? "happy" : "sad";
    EXPECT_EQ((i % 2 ? b : a).append(t, &totals).seq, i);
    EXPECT_EQ(totals.turns, i + 1);
  }
  EXPECT_EQ(totals.counts.at("happy"), 2);
  EXPECT_EQ(totals.counts.at("sad"), 4);
  EXPECT_EQ(totals.transitions.at("sad").at("happy"), 1);  // turns 2 -> 3
  EXPECT_EQ(totals.runs, 4);                               // happy, sad sad, happy, sad sad
  ConversationTotals folded;
  for (const auto& t : a.conversation("c1")) folded.add(t);
  EXPECT_EQ(folded.to_json(), totals.to_json());
  EXPECT_EQ(a.erase_conversation("c1"), 6u);
  EXPECT_EQ(b.append(make("c1", "again"), &totals).seq, 0);
  EXPECT_EQ(totals.turns, 1);
}

// append_async: every callback comes exactly once, after the commit (the turn is then readable),
// with consecutive seqs and the totals including the turn; a bad turn is refused at once.
TEST_F(HistoryTest, AsyncAppendsAreCommittedThenCalledBack) {
  History h = History::open(path_);
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<int64_t> seqs;
  std::vector<int64_t> counts;
  constexpr int kTurns = 40;
  for (int i = 0; i < kTurns; ++i)
    h.append_async(make("c1", std::to_string(i)),
                   [&](const TurnRecord* stored, const ConversationTotals* totals, std::exception_ptr e) {
                     ASSERT_FALSE(e);
                     ASSERT_TRUE(stored && totals);
                     std::lock_guard<std::mutex> lock(mutex);
                     seqs.push_back(stored->seq);
                     counts.push_back(totals->turns);
                     EXPECT_EQ(totals->turns, stored->seq + 1);
                     cv.notify_all();
                   });
  {
    std::unique_lock<std::mutex> lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return seqs.size() == kTurns; }));
  }
  std::sort(seqs.begin(), seqs.end());
  for (int i = 0; i < kTurns; ++i) EXPECT_EQ(seqs[i], i);
  EXPECT_EQ(h.conversation("c1").size(), static_cast<size_t>(kTurns));
  bool refused = false;
  h.append_async(make("bad id!", "x"), [&](const TurnRecord* stored, const ConversationTotals*,
                                            std::exception_ptr e) {
    EXPECT_EQ(stored, nullptr);
    EXPECT_THROW(std::rethrow_exception(e), InvalidArgument);
    refused = true;
  });
  EXPECT_TRUE(refused);  // at once, on this thread
}

// Erases run while appends keep coming (an erase holds the write connection, not the queue):
// every append completes, with consecutive seqs in the conversation that is not erased.
TEST_F(HistoryTest, ErasesAndAppendsInterleave) {
  History h = History::open(path_);
  std::atomic<bool> done{false};
  std::thread eraser([&] {
    while (!done) {
      h.append(make("gone", "x", "u2"));
      h.erase_conversation("gone");
      h.erase_user("u2");
    }
  });
  for (int i = 0; i < 30; ++i) EXPECT_EQ(h.append(make("kept", std::to_string(i))).seq, i);
  done = true;
  eraser.join();
  EXPECT_EQ(h.conversation("kept").size(), 30u);
  EXPECT_TRUE(h.conversation("gone").empty());
  EXPECT_EQ(h.totals("kept").turns, 30);
}

TEST_F(HistoryTest, UserTurnsRespectSinceAndUntil) {
  History h = History::open(path_);
  for (int i = 0; i < 5; ++i) {
    TurnRecord t = make("c" + std::to_string(i), "x");
    t.ts_ms = 1000 * i;
    h.append(t);
  }
  EXPECT_EQ(h.user_turns("u1", 1000, 3000).size(), 2u);  // 1000 and 2000
  EXPECT_EQ(h.user_turns("u1", std::nullopt, 1000).size(), 1u);
  EXPECT_EQ(h.user_turns("u1", 4000, std::nullopt).size(), 1u);
  EXPECT_TRUE(h.user_turns("nobody", std::nullopt, std::nullopt).empty());
}

}  // namespace
}  // namespace maum
