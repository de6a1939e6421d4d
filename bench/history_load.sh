#!/usr/bin/env bash
# Throughput cost of the emotion history (docs/HISTORY.md): wrk, 16 connections, distinct short
# Korean sentences from ../shared/data/ko_single7, against two `maum serve` processes on the same
# fp32 ko-emotion7-small, caches off (every request runs the model):
#   analyze: POST /analyze_emotion on a server without --db
#   turns:   POST /v1/conversations/{id}/turns on a server with --db (SQLite, WAL, synchronous=FULL;
#            each answer carries the conversation's running summary), over 256 conversations
# interleaved ROUNDS times; prints each run (req/s, latency, errors, and the server's CPU time per
# request, which a busy shared machine disturbs less than req/s), the medians and turns/analyze.
#
#   bench/history_load.sh          # DURATION=10 ROUNDS=3 CONNECTIONS=16 THREADS=2 DB_SYNC=full
# Needs wrk and a Release build (build/bin/maum or $MAUM). Loopback only; the servers it starts
# are stopped when it ends. On a shared machine, run with nice.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${MAUM_SHARED:-../shared}
MAUM=${MAUM:-build/bin/maum}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
command -v wrk >/dev/null || { echo "history_load: wrk is not installed" >&2; exit 1; }
[ -x "$MAUM" ] || { echo "history_load: no maum binary at $MAUM" >&2; exit 1; }

. bench/load_common.sh
"$MAUM" convert "$SHARED/models/ko-emotion7-small" "$work/m.safetensors" >/dev/null

# TARGET=analyze|turns; each wrk thread walks the sentences from its own offset.
cat > "$work/load.lua" <<'LUA'
local bodies = {}
for line in io.lines(os.getenv("BODIES")) do bodies[#bodies + 1] = line end
local target = os.getenv("TARGET")
local counter = 0
function setup(thread)
  thread:set("offset", counter)
  counter = counter + 1
end
local i, n = 0, 0
function init(args) i = math.floor((offset + 2 * tonumber(os.getenv("ROUND"))) * #bodies / 16) end
function request()
  i = i % #bodies + 1
  n = n + 1
  local path = "/analyze_emotion"
  if target == "turns" then path = "/v1/conversations/load-" .. offset .. "-" .. (n % 128) .. "/turns" end
  return wrk.format("POST", path, {["Content-Type"] = "application/json"}, bodies[i])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT rps=%.1f p50_ms=%.2f p99_ms=%.2f errors=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.connect + e.read + e.write + e.timeout, e.status))
end
LUA
export BODIES="$work/bodies.txt"

start() {  # port, extra args
  "$MAUM" serve --model "$work/m.safetensors" --port "$1" --threads "$THREADS" --cache 0 "${@:2}" \
    >/dev/null 2>"$work/serve-$1.log" &
  pids+=($!)
  for _ in $(seq 600); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "history_load: server on $1 did not start: $(tail -2 "$work/serve-$1.log")" >&2; exit 1
}
start 18611; ANALYZE_PID=${pids[-1]}
start 18612 --db "$work/history.db" --db-sync "${DB_SYNC:-full}"; TURNS_PID=${pids[-1]}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
echo "# wrk -t2 -c$CONNECTIONS -d${DURATION}s; ROUNDS=$ROUNDS; database $work/history.db (WAL, --db-sync ${DB_SYNC:-full})"
declare -A rps cpu
hz=$(getconf CLK_TCK)
for round in $(seq "$ROUNDS"); do
  for target in analyze turns; do
    port=18611; pid=$ANALYZE_PID
    [ "$target" = turns ] && { port=18612; pid=$TURNS_PID; }
    before=$(cpu_ticks "$pid")
    line=$(TARGET=$target ROUND=$round wrk -t2 -c"$CONNECTIONS" -d"$DURATION"s --timeout 10s \
             -s "$work/load.lua" "http://127.0.0.1:$port" | grep '^RESULT')
    r=$(sed -n 's/.*rps=\([0-9.]*\).*/\1/p' <<<"$line")
    c=$(awk -v t=$(( $(cpu_ticks "$pid") - before )) -v hz="$hz" -v r="$r" -v d="$DURATION" \
          'BEGIN {printf "%.3f", 1000 * t / hz / (r * d)}')
    echo "round $round $target $line cpu_ms_per_request=$c"
    rps[$target]="${rps[$target]:-} $r"
    cpu[$target]="${cpu[$target]:-} $c"
  done
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
a=$(median "${rps[analyze]}"); t=$(median "${rps[turns]}")
echo "median rps: analyze=$a turns=$t ratio turns/analyze=$(awk -v a="$a" -v t="$t" 'BEGIN {printf "%.3f", t / a}')"
a=$(median "${cpu[analyze]}"); t=$(median "${cpu[turns]}")
echo "median server CPU ms per request: analyze=$a turns=$t ratio analyze/turns=$(awk -v a="$a" -v t="$t" 'BEGIN {printf "%.3f", a / t}')"
batch() { curl -s "http://127.0.0.1:$1/metrics" | awk '/^maum_batch_size_sum/ {s=$2} /^maum_batch_size_count/ {c=$2} END {printf "%.1f", s / c}'; }
echo "mean batch size: analyze=$(batch 18611) turns=$(batch 18612)"
echo "stored turns: $(sqlite3 "$work/history.db" 'SELECT count(*) FROM turns' 2>/dev/null || echo '?')"
