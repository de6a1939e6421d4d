// The emotion history: every analysed turn of a conversation stored durably in one SQLite file
// (docs/HISTORY.md). One row per turn: conversation id, user id, speaker, timestamp, model, the
// label probabilities, the dominant label and the policy's outcome, and the text only when asked
// (otherwise a salted SHA-256 of it). Thread-safe: one History serves concurrent callers; appends
// from concurrent callers are committed together (group commit), each durable before it returns.
#pragma once
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace maum {

// Ids (conversation, user): 1..128 bytes of ASCII letters, digits and . _ : -, starting with a
// letter or digit, so they are safe in URL paths, file names and logs. Speakers: valid UTF-8
// without control characters, at most 128 bytes (may be empty). Texts: valid UTF-8 (any length the
// caller accepted). The check_* functions throw InvalidArgument naming `what` and the reason.
inline constexpr size_t kMaxIdBytes = 128;
bool valid_id(const std::string& id);
void check_id(const std::string& id, const std::string& what);
void check_speaker(const std::string& speaker);

// Timestamps are milliseconds since the Unix epoch (UTC). Parsed from RFC 3339
// ("2026-11-27T10:00:00Z", "...T10:00:00.250+09:00") or a date "2026-11-27" (midnight UTC);
// written as "2026-11-27T10:00:00.000Z". parse_timestamp throws InvalidArgument.
int64_t parse_timestamp(const std::string& text);
std::string format_timestamp(int64_t ms);
int64_t now_ms();

// One analysed turn as stored.
struct TurnRecord {
  std::string conversation_id;
  int64_t seq = 0;                 // 0-based position in the conversation (set by append)
  std::string user_id;             // "" when unknown
  std::string speaker;             // "" when unknown
  int64_t ts_ms = 0;
  std::string model;               // the model's name (file or serve name)
  std::vector<std::string> labels; // the label set of `probs`
  std::vector<double> probs;
  std::string dominant;            // argmax label
  std::string label;               // the policy's outcome: dominant, or its fallback label
  bool fallback = false;
  std::vector<std::string> flags;  // the policy's flags (e.g. complex_emotion)
  std::optional<std::string> text; // stored only with HistoryOptions::store_text
  std::string text_sha256;         // hex SHA-256 of the database's salt followed by the text
};

// A conversation's running totals, updated by History::append with each turn it commits (kept in
// memory by the writer, rebuilt from the stored turns when absent), so that a turn's answer needs
// no re-reading of the conversation. They depend
// on no valence map: the valence trend is linear in the probabilities, so sums of p and of i * p
// per label give its mean and slope for any map (maum/flow.h derives every summary number from
// these totals, for the running summary and the full one alike). Turn indices are positions in
// the conversation (0-based), as in the summary.
struct ConversationTotals {
  std::string conversation_id;
  int64_t turns = 0;
  int64_t next_seq = 0;                                 // seq of the next turn
  std::vector<std::string> labels;                      // the first turn's label set
  int64_t first_ts_ms = 0, last_ts_ms = 0;
  std::map<std::string, int64_t> counts;                // reported label -> turns
  std::map<std::string, double> prob_sum;               // label -> sum over turns i of p_i(label)
  std::map<std::string, double> index_prob_sum;         // label -> sum over turns i of i * p_i(label)
  std::map<std::string, std::map<std::string, int64_t>> transitions;  // from -> to -> count
  int64_t runs = 0;                                     // maximal runs of one reported label
  int64_t run_first = 0;                                // first turn of the current run
  struct Turn {                                         // the last turns' analyses
    std::string label;
    std::vector<std::string> labels;
    std::vector<double> probs;
  };
  std::vector<Turn> recent;                             // the last two turns, oldest first

  // Adds the next turn (its seq becomes next_seq - 1).
  void add(const TurnRecord& turn);
  std::string to_json() const;  // for inspection and tests
};

struct HistoryOptions {
  bool store_text = false;  // keep turn texts (default: only their salted hash)
  bool read_only = false;   // open for reading only (appends and erases fail with StorageError)
  // Largest size the database file may grow to (0: unlimited). A write that would exceed it fails
  // with StorageError kind Full, exactly as a full disk does.
  uint64_t max_bytes = 0;
  int busy_timeout_ms = 5000;  // wait this long for another process's write lock
  // true: synchronous=FULL, the log is synced at every commit (an acknowledged turn survives a
  // process kill and a power loss). false: synchronous=NORMAL, synced only at checkpoints (it
  // survives a process kill, since the committed log is in the OS's file cache, but the last
  // turns may be lost on a power loss or kernel crash). docs/HISTORY.md.
  bool sync_every_commit = true;
};

class History {
 public:
  // Opens (creating if absent) the database file and brings its schema to the current version.
  // Throws StorageError (read-only, corrupt, newer schema, ...) or IoError.
  static History open(const std::string& path, const HistoryOptions& options = {});
  static constexpr int kSchemaVersion = 2;

  // Validates and stores one turn; returns it as stored (seq, hash; text only if stored). When it
  // returns, the turn is committed (WAL; synced to disk with sync_every_commit). Throws InvalidArgument for bad
  // ids/speaker/text/probabilities and StorageError when the database refuses the write, in which
  // case nothing of the turn is stored.
  // With `totals`, the conversation's running totals including this turn are stored there.
  TurnRecord append(TurnRecord turn, ConversationTotals* totals = nullptr);
  // The same without waiting: `done` is called exactly once, with the turn as stored and the
  // conversation's totals once it is committed (synced as append's), or with the error (nothing
  // stored): at once on the caller's thread when validation fails, else on the writer's thread
  // (keep it short; it must not call History). Turns queued together by several callers share a
  // commit. The History must outlive every pending call.
  using AppendDone = std::function<void(const TurnRecord* stored, const ConversationTotals* totals,
                                        std::exception_ptr error)>;
  void append_async(TurnRecord turn, AppendDone done);
  // Several turns in one transaction (all stored or none; validated first). Returns them as
  // stored, in order.
  std::vector<TurnRecord> append(std::vector<TurnRecord> turns);

  // A conversation's running totals, folded from its stored turns (turns == 0 if unknown): what
  // the next append starts from.
  ConversationTotals totals(const std::string& conversation_id) const;
  // The conversation's turns in order (empty if unknown).
  std::vector<TurnRecord> conversation(const std::string& conversation_id) const;
  // A user's turns with since <= ts < until (either unset: unbounded), by time.
  std::vector<TurnRecord> user_turns(const std::string& user_id, std::optional<int64_t> since,
                                     std::optional<int64_t> until) const;
  bool has_user(const std::string& user_id) const;

  // Erase everything stored for a conversation / a user; return the number of turns erased. Erased
  // rows are overwritten (secure_delete) and the write-ahead log is checkpointed and truncated.
  size_t erase_conversation(const std::string& conversation_id);
  size_t erase_user(const std::string& user_id);

  // The database's schema version (PRAGMA user_version) and PRAGMA integrity_check's answer.
  int schema_version() const;
  std::string integrity_check() const;
  const std::string& path() const;
  bool stores_text() const;

  History(History&&) noexcept;
  History& operator=(History&&) noexcept;
  ~History();

 private:
  struct Impl;
  explicit History(std::unique_ptr<Impl> impl);
  std::vector<TurnRecord> append_impl(std::vector<TurnRecord> turns, ConversationTotals* last_totals);
  std::unique_ptr<Impl> impl_;
};

}  // namespace maum
