// The SQLite-backed emotion history (maum/history.h; schema and durability in docs/HISTORY.md).
#include "maum/history.h"

#include <sqlite3.h>
#include <openssl/evp.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "maum/error.h"
#include "maum/tokenizer.h"

namespace maum {
namespace {

using OrderedJson = nlohmann::ordered_json;

// ---------------------------------------------------------------------------------------------
// Schema. Each migration brings user_version from its index to index + 1; they run in order in
// one transaction. Never edit a released step: add one.
const char* const kMigrations[] = {
    // 0 -> 1: turns and the text-hash salt.
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE turns("
    " id INTEGER PRIMARY KEY,"
    " conversation_id TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " user_id TEXT NOT NULL,"
    " speaker TEXT NOT NULL,"
    " ts_ms INTEGER NOT NULL,"
    " model TEXT NOT NULL,"
    " probs TEXT NOT NULL,"  // JSON object {label: p} in the model's label order
    " dominant TEXT NOT NULL,"
    " label TEXT NOT NULL,"
    " fallback INTEGER NOT NULL,"
    " text TEXT,"
    " text_sha256 TEXT NOT NULL,"
    " UNIQUE(conversation_id, seq));",
    // 1 -> 2: the policy's flags; per-user queries by time.
    "ALTER TABLE turns ADD COLUMN flags TEXT NOT NULL DEFAULT '[]';"
    "CREATE INDEX turns_user_ts ON turns(user_id, ts_ms);",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == History::kSchemaVersion,
              "one migration per schema version");

const char* const kTurnColumns =
    "conversation_id, seq, user_id, speaker, ts_ms, model, probs, dominant, label, fallback, "
    "flags, text, text_sha256";

[[noreturn]] void throw_sqlite(sqlite3* db, int rc, const std::string& what) {
  const int primary = rc & 0xff;
  const std::string message =
      "history database: " + what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  using Kind = StorageError::Kind;
  Kind kind = Kind::Other;
  if (primary == SQLITE_FULL) kind = Kind::Full;
  else if (primary == SQLITE_READONLY) kind = Kind::ReadOnly;
  else if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) kind = Kind::Busy;
  else if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) kind = Kind::Corrupt;
  throw StorageError(kind, message);
}

// A prepared statement, finalized on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    const int rc = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
    if (rc != SQLITE_OK) throw_sqlite(db, rc, "prepare");
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void bind(int i, const std::string& s) {
    check(sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT));
  }
  void bind(int i, int64_t v) { check(sqlite3_bind_int64(stmt_, i, v)); }
  void bind_null(int i) { check(sqlite3_bind_null(stmt_, i)); }
  // Steps once: true when a row is available.
  bool step(const std::string& what) {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw_sqlite(db_, rc, what);
  }
  void run(const std::string& what) {
    while (step(what)) {
    }
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : "";
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) throw_sqlite(db_, rc, "bind");
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Runs constant SQL (each statement prepared in turn; none contain caller data).
void exec(sqlite3* db, const std::string& sql, const std::string& what) {
  const char* rest = sql.c_str();
  while (rest && *rest) {
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(db, rest, -1, &stmt, &tail);
    if (rc != SQLITE_OK) throw_sqlite(db, rc, what);
    if (stmt) {
      while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      }
      sqlite3_finalize(stmt);
      if (rc != SQLITE_DONE) throw_sqlite(db, rc, what);
    }
    rest = tail;
  }
}

std::string pragma_text(sqlite3* db, const char* sql) {
  Statement s(db, sql);
  return s.step(sql) ? s.text(0) : "";
}

sqlite3* open_connection(const std::string& path, const HistoryOptions& options) {
  sqlite3* db = nullptr;
  const int flags = (options.read_only ? SQLITE_OPEN_READONLY
                                       : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    if ((rc & 0xff) == SQLITE_CANTOPEN)
      throw IoError("history database: cannot open " + path + ": " + message);
    throw StorageError(StorageError::Kind::Other,
                       "history database: cannot open " + path + ": " + message);
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  try {
    // Durability: in WAL mode, synchronous=FULL syncs the log at every commit, so a committed
    // turn survives a process kill and a power loss; NORMAL only survives the former.
    exec(db, options.sync_every_commit ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
         "configure");
    exec(db, "PRAGMA secure_delete=ON", "configure");
    if (options.max_bytes) {
      const int64_t page = std::stoll(pragma_text(db, "PRAGMA page_size"));
      const int64_t pages = std::max<int64_t>(1, static_cast<int64_t>(options.max_bytes) / page);
      // An integer computed here, not caller text: PRAGMA takes no bound parameters.
      exec(db, "PRAGMA max_page_count=" + std::to_string(pages), "limit size");
    }
  } catch (...) {
    sqlite3_close(db);
    throw;
  }
  return db;
}

std::string hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

std::string sha256_hex(const std::string& salt, const std::string& text) {
  // Fetched once (an implicit fetch at every digest costs more than the digest of a short text).
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = ctx && sha256 && EVP_DigestInit_ex(ctx, sha256, nullptr) &&
                  EVP_DigestUpdate(ctx, salt.data(), salt.size()) &&
                  EVP_DigestUpdate(ctx, text.data(), text.size()) &&
                  EVP_DigestFinal_ex(ctx, digest, &size);
  EVP_MD_CTX_free(ctx);
  if (!ok) throw Error("history: SHA-256 failed");
  return hex(digest, size);
}

bool valid_utf8(const std::string& s) { return replace_invalid_utf8(s) == s; }

bool has_control(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  // C1 controls U+0080..U+009F are C2 80..C2 9F in UTF-8.
  for (size_t i = 0; i + 1 < s.size(); ++i)
    if (static_cast<unsigned char>(s[i]) == 0xC2 && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
        static_cast<unsigned char>(s[i + 1]) <= 0x9F)
      return true;
  return false;
}

TurnRecord read_turn(const Statement& s) {
  TurnRecord t;
  t.conversation_id = s.text(0);
  t.seq = s.integer(1);
  t.user_id = s.text(2);
  t.speaker = s.text(3);
  t.ts_ms = s.integer(4);
  t.model = s.text(5);
  const OrderedJson probs = OrderedJson::parse(s.text(6), nullptr, /*allow_exceptions=*/false);
  if (!probs.is_object())
    throw StorageError(StorageError::Kind::Corrupt, "history database: malformed probabilities");
  for (auto it = probs.begin(); it != probs.end(); ++it) {
    t.labels.push_back(it.key());
    t.probs.push_back(it.value().is_number() ? it.value().get<double>() : NAN);
  }
  t.dominant = s.text(7);
  t.label = s.text(8);
  t.fallback = s.integer(9) != 0;
  const nlohmann::json flags = nlohmann::json::parse(s.text(10), nullptr, false);
  if (flags.is_array())
    for (const auto& f : flags)
      if (f.is_string()) t.flags.push_back(f.get<std::string>());
  if (!s.is_null(11)) t.text = s.text(11);
  t.text_sha256 = s.text(12);
  return t;
}

// A conversation's totals folded from its turns; `select` takes the conversation id as ?1 and
// returns kTurnColumns in seq order.
ConversationTotals fold_totals(Statement& select, const std::string& conversation_id) {
  ConversationTotals c;
  c.conversation_id = conversation_id;
  select.reset();
  select.bind(1, conversation_id);
  while (select.step("read conversation")) c.add(read_turn(select));
  select.reset();
  return c;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Running totals

void ConversationTotals::add(const TurnRecord& t) {
  const double i = static_cast<double>(turns);
  if (turns == 0) {
    conversation_id = t.conversation_id;
    labels = t.labels;
    first_ts_ms = t.ts_ms;
  }
  last_ts_ms = t.ts_ms;
  ++counts[t.label];
  for (size_t j = 0; j < t.labels.size() && j < t.probs.size(); ++j) {
    prob_sum[t.labels[j]] += t.probs[j];
    index_prob_sum[t.labels[j]] += i * t.probs[j];
  }
  if (recent.empty()) {
    runs = 1;
    run_first = 0;
  } else {
    ++transitions[recent.back().label][t.label];
    if (recent.back().label != t.label) {
      ++runs;
      run_first = turns;
    }
  }
  recent.push_back({t.label, t.labels, t.probs});
  if (recent.size() > 2) recent.erase(recent.begin());
  ++turns;
  next_seq = std::max(next_seq, t.seq + 1);
}

std::string ConversationTotals::to_json() const {
  nlohmann::json j;
  j["conversation_id"] = conversation_id;
  j["turns"] = turns;
  j["next_seq"] = next_seq;
  j["labels"] = labels;
  j["first_ts_ms"] = first_ts_ms;
  j["last_ts_ms"] = last_ts_ms;
  j["counts"] = counts;
  j["prob_sum"] = prob_sum;
  j["index_prob_sum"] = index_prob_sum;
  j["transitions"] = transitions;
  j["runs"] = runs;
  j["run_first"] = run_first;
  j["recent"] = nlohmann::json::array();
  for (const Turn& r : recent)
    j["recent"].push_back({{"label", r.label}, {"labels", r.labels}, {"probs", r.probs}});
  return j.dump(-1, ' ', false);
}

// ---------------------------------------------------------------------------------------------
// Ids and timestamps

bool valid_id(const std::string& id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != ':' && c != '-'))) return false;
  }
  return true;
}

void check_id(const std::string& id, const std::string& what) {
  if (!valid_id(id))
    throw InvalidArgument(what + " must be 1-" + std::to_string(kMaxIdBytes) +
                          " ASCII letters, digits, '.', '_', ':' or '-', starting with a letter "
                          "or digit");
}

void check_speaker(const std::string& speaker) {
  if (speaker.size() > kMaxIdBytes)
    throw InvalidArgument("speaker must be at most " + std::to_string(kMaxIdBytes) + " bytes");
  if (!valid_utf8(speaker)) throw InvalidArgument("speaker is not valid UTF-8");
  if (has_control(speaker)) throw InvalidArgument("speaker must not contain control characters");
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t parse_timestamp(const std::string& text) {
  const auto bad = [&]() -> InvalidArgument {
    return InvalidArgument("timestamp \"" + (text.size() > 40 ? text.substr(0, 40) + "..." : text) +
                           "\" is not RFC 3339 (2026-11-27T10:00:00Z) or a date (2026-11-27)");
  };
  size_t pos = 0;
  auto digits = [&](size_t n) -> int {
    if (pos + n > text.size()) throw bad();
    int v = 0;
    for (size_t i = 0; i < n; ++i) {
      const char c = text[pos + i];
      if (c < '0' || c > '9') throw bad();
      v = v * 10 + (c - '0');
    }
    pos += n;
    return v;
  };
  auto expect = [&](char c) {
    if (pos >= text.size() || text[pos] != c) throw bad();
    ++pos;
  };
  std::tm tm{};
  const int year = digits(4);
  expect('-');
  const int month = digits(2);
  expect('-');
  const int day = digits(2);
  int hour = 0, minute = 0, second = 0, millis = 0, offset_min = 0;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') throw bad();
    ++pos;
    hour = digits(2);
    expect(':');
    minute = digits(2);
    expect(':');
    second = digits(2);
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      size_t n = 0;
      int scale = 100;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        if (n < 3) millis += (text[pos] - '0') * scale;
        scale /= 10;
        ++pos;
        ++n;
      }
      if (n == 0) throw bad();
    }
    if (pos >= text.size()) throw bad();  // a time needs its offset
    if (text[pos] == 'Z' || text[pos] == 'z') {
      ++pos;
    } else if (text[pos] == '+' || text[pos] == '-') {
      const int sign = text[pos] == '-' ? -1 : 1;
      ++pos;
      const int oh = digits(2);
      expect(':');
      const int om = digits(2);
      if (oh > 23 || om > 59) throw bad();
      offset_min = sign * (oh * 60 + om);
    } else {
      throw bad();
    }
  }
  if (pos != text.size()) throw bad();
  static const int days_in[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > days_in[month - 1] || hour > 23 ||
      minute > 59 || second > 60)
    throw bad();
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && day == 29 && !leap) throw bad();
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const int64_t seconds = static_cast<int64_t>(timegm(&tm)) - int64_t{offset_min} * 60;
  return seconds * 1000 + millis;
}

std::string format_timestamp(int64_t ms) {
  const int64_t floor_s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  const std::time_t seconds = static_cast<std::time_t>(floor_s);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms - floor_s * 1000));
  return buf;
}

// ---------------------------------------------------------------------------------------------
// History

struct History::Impl {
  std::string path;
  HistoryOptions options;
  std::string salt;

  // The writer: one connection, used by the writer thread (and erases) only. Appends queue their
  // turns; the writer thread commits everything queued in one transaction (group commit: one log
  // sync), then answers each append: a waiting caller is woken, an asynchronous one called back.
  sqlite3* writer = nullptr;
  struct Pending {
    TurnRecord* turn = nullptr;
    ConversationTotals* totals = nullptr;  // where to copy the conversation's totals, if wanted
    std::exception_ptr error;
    bool done = false;
    std::function<void()> on_done;         // append_async: called (once) instead of waking anyone
  };
  std::mutex write_mutex;
  std::condition_variable write_done;      // a commit finished
  std::condition_variable wake;            // turns queued, or stopping
  std::deque<Pending*> queue;
  bool committing = false;
  bool stopping = false;
  std::thread writer_thread;

  void writer_loop() {
    std::unique_lock<std::mutex> lock(write_mutex);
    for (;;) {
      // `committing` is also set while an erase has the connection.
      wake.wait(lock, [&] { return (!queue.empty() && !committing) || (stopping && queue.empty()); });
      if (queue.empty()) return;  // stopping, nothing left to commit
      committing = true;
      std::vector<Pending*> batch(queue.begin(), queue.end());
      queue.clear();
      lock.unlock();
      commit_batch(batch);
      std::vector<Pending*> async;
      lock.lock();
      for (Pending* p : batch) {
        if (p->on_done) async.push_back(p);
        else p->done = true;
      }
      committing = false;
      write_done.notify_all();
      lock.unlock();
      for (Pending* p : async) {  // each may free its p
        try {
          p->on_done();
        } catch (...) {  // a callback must not throw (AppendDone); the writer goes on regardless
        }
      }
      lock.lock();
    }
  }

  void validate(TurnRecord& turn) const;  // the checks and the text hash of an append
  void check_writable() const;

  void stop_writer() {
    if (!writer_thread.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(write_mutex);
      stopping = true;
    }
    wake.notify_all();
    writer_thread.join();
  }

  // Readers: idle connections, reused (WAL lets them read while the writer commits).
  mutable std::mutex reader_mutex;
  mutable std::vector<sqlite3*> idle_readers;

  ~Impl() {
    stop_writer();  // commits what is queued first
    insert_turn.reset();
    select_conversation.reset();
    data_version.reset();
    for (sqlite3* r : idle_readers) sqlite3_close(r);
    if (writer) sqlite3_close(writer);
  }

  struct Reader {
    const Impl* impl;
    sqlite3* db;
    ~Reader() {
      std::lock_guard<std::mutex> lock(impl->reader_mutex);
      impl->idle_readers.push_back(db);
    }
  };
  Reader reader() const {
    {
      std::lock_guard<std::mutex> lock(reader_mutex);
      if (!idle_readers.empty()) {
        sqlite3* db = idle_readers.back();
        idle_readers.pop_back();
        return Reader{this, db};
      }
    }
    HistoryOptions ro = options;
    return Reader{this, open_connection(path, ro)};
  }

  void migrate() {
    const int version = static_cast<int>(std::stoll(pragma_text(writer, "PRAGMA user_version")));
    if (version > kSchemaVersion)
      throw StorageError(StorageError::Kind::Schema,
                         "history database " + path + " has schema version " +
                             std::to_string(version) + ", newer than this maum's " +
                             std::to_string(kSchemaVersion));
    if (version == kSchemaVersion) return;
    if (options.read_only)
      throw StorageError(StorageError::Kind::Schema,
                         "history database " + path + " has schema version " +
                             std::to_string(version) + " and is opened read-only: open it "
                             "read-write once to migrate it to " + std::to_string(kSchemaVersion));
    exec(writer, "BEGIN IMMEDIATE", "migrate");
    try {
      for (int v = version; v < kSchemaVersion; ++v) exec(writer, kMigrations[v], "migrate");
      if (version == 0) {
        unsigned char bytes[16];
        sqlite3_randomness(sizeof bytes, bytes);
        Statement s(writer, "INSERT INTO meta(key, value) VALUES('text_salt', ?1)");
        s.bind(1, hex(bytes, sizeof bytes));
        s.run("migrate");
      }
      exec(writer, "PRAGMA user_version=" + std::to_string(kSchemaVersion), "migrate");
      exec(writer, "COMMIT", "migrate");
    } catch (...) {
      if (!sqlite3_get_autocommit(writer)) sqlite3_exec(writer, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  // The writer's prepared statements (finalized before the connection closes).
  std::unique_ptr<Statement> insert_turn, select_conversation, data_version;
  // The running totals of the conversations this writer appended to, as of its last commit, so
  // that an append reads nothing back: the turns are the only stored state and a conversation's
  // totals are rebuilt from them when they are not here. Valid while no other connection has
  // written (PRAGMA data_version, checked in each write transaction); cleared by erases and when
  // more than kCachedTotals conversations are held.
  static constexpr size_t kCachedTotals = 4096;
  std::map<std::string, ConversationTotals> cached_totals;
  int64_t cached_version = -1;

  // A conversation's totals: from the cache, else from its turns (in the writer's transaction).
  ConversationTotals load_totals(const std::string& conversation_id) {
    auto cached = cached_totals.find(conversation_id);
    if (cached != cached_totals.end()) return cached->second;
    return fold_totals(*select_conversation, conversation_id);
  }

  // Inserts a batch of validated turns in one transaction (the writer thread's work): one commit, one
  // log sync for all of them. Each turn's conversation totals are updated in memory and kept once
  // the commit succeeded.
  void commit_batch(const std::vector<Pending*>& batch) {
    try {
      exec(writer, "BEGIN IMMEDIATE", "begin");
      if (!insert_turn) {
        static const std::string insert_sql = std::string("INSERT INTO turns(") + kTurnColumns +
                                              ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
                                              "?11, ?12, ?13)";
        static const std::string conversation_sql =
            std::string("SELECT ") + kTurnColumns + " FROM turns WHERE conversation_id = ?1 ORDER BY seq";
        insert_turn = std::make_unique<Statement>(writer, insert_sql.c_str());
        select_conversation = std::make_unique<Statement>(writer, conversation_sql.c_str());
        data_version = std::make_unique<Statement>(writer, "PRAGMA data_version");
      }
      data_version->reset();
      if (!data_version->step("read data version"))
        throw StorageError(StorageError::Kind::Other, "history database: no data_version");
      const int64_t version = data_version->integer(0);
      data_version->reset();
      if (version != cached_version) cached_totals.clear();  // another connection wrote
      cached_version = version;
      std::map<std::string, ConversationTotals> touched;
      Statement& insert = *insert_turn;
      for (Pending* p : batch) {
        TurnRecord& t = *p->turn;
        auto it = touched.find(t.conversation_id);
        if (it == touched.end())
          it = touched.emplace(t.conversation_id, load_totals(t.conversation_id)).first;
        ConversationTotals& totals = it->second;
        t.seq = totals.next_seq;
        OrderedJson probs = OrderedJson::object();
        for (size_t i = 0; i < t.labels.size(); ++i) probs[t.labels[i]] = t.probs[i];
        insert.reset();
        insert.bind(1, t.conversation_id);
        insert.bind(2, t.seq);
        insert.bind(3, t.user_id);
        insert.bind(4, t.speaker);
        insert.bind(5, t.ts_ms);
        insert.bind(6, t.model);
        insert.bind(7, probs.dump(-1, ' ', false));
        insert.bind(8, t.dominant);
        insert.bind(9, t.label);
        insert.bind(10, int64_t{t.fallback ? 1 : 0});
        insert.bind(11, nlohmann::json(t.flags).dump(-1, ' ', false));
        if (t.text) insert.bind(12, *t.text);
        else insert.bind_null(12);
        insert.bind(13, t.text_sha256);
        insert.run("insert");
        totals.add(t);
        if (p->totals) *p->totals = totals;
      }
      insert.reset();
      exec(writer, "COMMIT", "commit");
      if (cached_totals.size() + touched.size() > kCachedTotals) cached_totals.clear();
      for (auto& kv : touched) cached_totals[kv.first] = std::move(kv.second);
    } catch (...) {
      for (auto* st : {insert_turn.get(), select_conversation.get(), data_version.get()})
        if (st) st->reset();
      if (!sqlite3_get_autocommit(writer)) sqlite3_exec(writer, "ROLLBACK", nullptr, nullptr, nullptr);
      const std::exception_ptr error = std::current_exception();
      for (Pending* p : batch) p->error = error;
    }
  }

  // Erases the turns `sql` selects by `id`; returns how many. Holds the connection, not the
  // mutex, so that appends (from the inference thread too) still queue meanwhile.
  size_t erase(const char* sql, const std::string& id) {
    {
      std::unique_lock<std::mutex> lock(write_mutex);
      write_done.wait(lock, [&] { return !committing; });
      committing = true;  // the writer thread starts no commit meanwhile
    }
    struct Release {
      Impl* im;
      ~Release() {
        {
          std::lock_guard<std::mutex> lock(im->write_mutex);
          im->committing = false;
        }
        im->write_done.notify_all();
        im->wake.notify_all();
      }
    } release{this};
    cached_totals.clear();
    Statement s(writer, sql);
    s.bind(1, id);
    s.run("erase");
    const size_t erased = static_cast<size_t>(sqlite3_changes(writer));
    // Old page versions of the erased rows may still sit in the write-ahead log: copy the log
    // into the database and truncate it (best effort: a concurrent reader may hold it back).
    if (erased) sqlite3_wal_checkpoint_v2(writer, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    return erased;
  }
};

History::History(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
History::History(History&&) noexcept = default;
History& History::operator=(History&&) noexcept = default;
History::~History() = default;

History History::open(const std::string& path, const HistoryOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->options = options;
  impl->writer = open_connection(path, options);
  if (!options.read_only) {
    const std::string mode = pragma_text(impl->writer, "PRAGMA journal_mode=WAL");
    if (mode != "wal")
      throw StorageError(StorageError::Kind::Other,
                         "history database " + path + ": cannot use WAL mode (got " + mode + ")");
  }
  impl->migrate();
  if (!options.read_only) {
    Impl* im = impl.get();
    im->writer_thread = std::thread([im] { im->writer_loop(); });
  }
  Statement salt(impl->writer, "SELECT value FROM meta WHERE key = 'text_salt'");
  if (!salt.step("read salt"))
    throw StorageError(StorageError::Kind::Corrupt, "history database " + path + " has no text salt");
  impl->salt = salt.text(0);
  return History(std::move(impl));
}

TurnRecord History::append(TurnRecord turn, ConversationTotals* totals) {
  std::vector<TurnRecord> one;
  one.push_back(std::move(turn));
  return std::move(append_impl(std::move(one), totals).front());
}

std::vector<TurnRecord> History::append(std::vector<TurnRecord> turns) {
  return append_impl(std::move(turns), nullptr);
}

void History::Impl::validate(TurnRecord& turn) const {
  check_id(turn.conversation_id, "conversation id");
  if (!turn.user_id.empty()) check_id(turn.user_id, "user id");
  check_speaker(turn.speaker);
  if (turn.labels.empty() || turn.labels.size() != turn.probs.size())
    throw InvalidArgument("history: a turn needs one probability per label");
  for (double p : turn.probs)
    if (!std::isfinite(p) || p < 0 || p > 1)
      throw InvalidArgument("history: probabilities must be in [0, 1]");
  if (turn.ts_ms < 0) throw InvalidArgument("history: timestamps before 1970 are not supported");
  const std::string text = turn.text.value_or("");
  if (!valid_utf8(text)) throw InvalidArgument("text is not valid UTF-8");
  turn.text_sha256 = sha256_hex(salt, text);
  if (!options.store_text) turn.text.reset();
}

void History::Impl::check_writable() const {
  if (options.read_only)
    throw StorageError(StorageError::Kind::ReadOnly, "history database " + path + " is open read-only");
}

std::vector<TurnRecord> History::append_impl(std::vector<TurnRecord> turns,
                                             ConversationTotals* last_totals) {
  for (TurnRecord& turn : turns) impl_->validate(turn);
  impl_->check_writable();
  if (turns.empty()) return turns;

  Impl& im = *impl_;
  std::vector<Impl::Pending> mine(turns.size());
  for (size_t i = 0; i < turns.size(); ++i) mine[i].turn = &turns[i];
  ConversationTotals scratch;
  mine.back().totals = last_totals ? &scratch : nullptr;
  {
    std::unique_lock<std::mutex> lock(im.write_mutex);
    for (auto& p : mine) im.queue.push_back(&p);  // taken together: one transaction
    im.wake.notify_one();
    im.write_done.wait(lock, [&] { return mine.back().done; });
  }
  for (const auto& p : mine)
    if (p.error) std::rethrow_exception(p.error);
  if (last_totals) *last_totals = std::move(scratch);
  return turns;
}

void History::append_async(TurnRecord turn, AppendDone done) {
  struct Job {
    TurnRecord turn;
    ConversationTotals totals;
    Impl::Pending pending;
    AppendDone done;
  };
  try {
    impl_->validate(turn);
    impl_->check_writable();
  } catch (...) {
    done(nullptr, nullptr, std::current_exception());
    return;
  }
  auto* job = new Job{std::move(turn), {}, {}, std::move(done)};
  job->pending.turn = &job->turn;
  job->pending.totals = &job->totals;
  job->pending.on_done = [job] {
    std::unique_ptr<Job> owned(job);
    if (job->pending.error) job->done(nullptr, nullptr, job->pending.error);
    else job->done(&job->turn, &job->totals, nullptr);
  };
  Impl& im = *impl_;
  std::lock_guard<std::mutex> lock(im.write_mutex);
  im.queue.push_back(&job->pending);
  im.wake.notify_one();
}

ConversationTotals History::totals(const std::string& conversation_id) const {
  check_id(conversation_id, "conversation id");
  const auto r = impl_->reader();
  static const std::string sql = std::string("SELECT ") + kTurnColumns +
                                 " FROM turns WHERE conversation_id = ?1 ORDER BY seq";
  Statement s(r.db, sql.c_str());
  return fold_totals(s, conversation_id);
}

std::vector<TurnRecord> History::conversation(const std::string& conversation_id) const {
  check_id(conversation_id, "conversation id");
  const auto r = impl_->reader();
  static const std::string sql = std::string("SELECT ") + kTurnColumns +
                                 " FROM turns WHERE conversation_id = ?1 ORDER BY seq";
  Statement s(r.db, sql.c_str());
  s.bind(1, conversation_id);
  std::vector<TurnRecord> turns;
  while (s.step("read conversation")) turns.push_back(read_turn(s));
  return turns;
}

std::vector<TurnRecord> History::user_turns(const std::string& user_id,
                                            std::optional<int64_t> since,
                                            std::optional<int64_t> until) const {
  check_id(user_id, "user id");
  const auto r = impl_->reader();
  static const std::string sql = std::string("SELECT ") + kTurnColumns +
                                 " FROM turns WHERE user_id = ?1 AND ts_ms >= ?2 AND ts_ms < ?3 "
                                 "ORDER BY ts_ms, id";
  Statement s(r.db, sql.c_str());
  s.bind(1, user_id);
  s.bind(2, since.value_or(INT64_MIN));
  s.bind(3, until.value_or(INT64_MAX));
  std::vector<TurnRecord> turns;
  while (s.step("read user")) turns.push_back(read_turn(s));
  return turns;
}

bool History::has_user(const std::string& user_id) const {
  check_id(user_id, "user id");
  const auto r = impl_->reader();
  Statement s(r.db, "SELECT 1 FROM turns WHERE user_id = ?1 LIMIT 1");
  s.bind(1, user_id);
  return s.step("read user");
}

size_t History::erase_conversation(const std::string& conversation_id) {
  check_id(conversation_id, "conversation id");
  if (impl_->options.read_only)
    throw StorageError(StorageError::Kind::ReadOnly, "history database " + impl_->path + " is open read-only");
  return impl_->erase("DELETE FROM turns WHERE conversation_id = ?1", conversation_id);
}

size_t History::erase_user(const std::string& user_id) {
  check_id(user_id, "user id");
  if (impl_->options.read_only)
    throw StorageError(StorageError::Kind::ReadOnly, "history database " + impl_->path + " is open read-only");
  return impl_->erase("DELETE FROM turns WHERE user_id = ?1", user_id);
}

int History::schema_version() const {
  const auto r = impl_->reader();
  return static_cast<int>(std::stoll(pragma_text(r.db, "PRAGMA user_version")));
}

std::string History::integrity_check() const {
  const auto r = impl_->reader();
  return pragma_text(r.db, "PRAGMA integrity_check");
}

const std::string& History::path() const { return impl_->path; }
bool History::stores_text() const { return impl_->options.store_text; }

}  // namespace maum
