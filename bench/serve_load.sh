#!/usr/bin/env bash
# Load benchmark of `maum serve` (docs/SERVER.md): wrk, 32 connections, distinct short Korean
# sentences from ../shared/data/ko_single7 (each text sent once per pass through the set; the
# servers run without their caches, so every request runs the model) against
#   maum serve, ko-emotion7-small: int8, int8 with 7-bit weights (--reduce-range), fp32
#   ../shared/tools/seed_server.py        (the seeds' FastAPI + PyTorch stack, 2 torch threads, --no-cache)
# interleaved, ROUNDS times. Reports req/s, p50, p99, errors (socket errors + non-2xx), and each
# maum server's RSS before and after 100k requests; then a cache hit's time at the server.
#
#   bench/serve_load.sh            # DURATION=30 ROUNDS=1 CONNECTIONS=32 THREADS=2
# Needs: wrk (Debian wrk), a Release build (build/bin/maum or $MAUM); the seed server needs
# $PYTHON (default /usr/bin/python3) with torch, fastapi and uvicorn (Debian python3-torch,
# python3-fastapi, python3-uvicorn; not installed by scripts/setup.sh: without them the seed is
# skipped, and the script says so).
# Loopback only; every server it starts is stopped when it ends. On a shared machine, run with nice;
# on a bigger one, `taskset -c A,B bench/serve_load.sh` runs everything (servers, seed and wrk) on
# two CPUs, as on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${MAUM_SHARED:-../shared}
MAUM=${MAUM:-build/bin/maum}
DURATION=${DURATION:-30}
ROUNDS=${ROUNDS:-1}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}           # maum --threads, the seed's torch threads, wrk's threads
RSS_REQUESTS=${RSS_REQUESTS:-100000}
MODEL_DIR=$SHARED/models/ko-emotion7-small
PYTHON=${PYTHON:-/usr/bin/python3}

die() { echo "serve_load: $*" >&2; exit 1; }
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
[ -x "$MAUM" ] || die "no maum binary at $MAUM (build it, or set MAUM)"
[ -d "$MODEL_DIR" ] || die "missing $MODEL_DIR (set MAUM_SHARED)"
SEED=1
if ! "$PYTHON" -c 'import torch, fastapi, uvicorn' 2>/dev/null; then
  echo "serve_load: $PYTHON lacks torch/fastapi/uvicorn (apt-get install python3-torch" \
       "python3-fastapi python3-uvicorn): skipping the seed server" >&2
  SEED=0
fi

. bench/load_common.sh
"$MAUM" convert "$MODEL_DIR" "$work/fp32.safetensors" >/dev/null
"$MAUM" convert "$MODEL_DIR" "$work/int8.safetensors" --quantize int8 >/dev/null
"$MAUM" convert "$MODEL_DIR" "$work/int7.safetensors" --quantize int8 --reduce-range >/dev/null
echo "# $(wc -l < "$work/bodies.txt") distinct sentences; wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, POST /analyze_emotion"

# wrk: each thread walks the sentences from its own offset; done() prints one parseable line.
cat > "$work/load.lua" <<'LUA'
local bodies = {}
for line in io.lines(os.getenv("BODIES")) do bodies[#bodies + 1] = line end
local threads = {}
local counter = 0
function setup(thread)
  thread:set("offset", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
local i = 0
function init(args)
  i = math.floor(offset * #bodies / 8)
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
function request()
  i = i % #bodies + 1
  return wrk.format(nil, "/analyze_emotion", nil, bodies[i])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d rps=%.1f p50_ms=%.2f p99_ms=%.2f errors=%d non2xx=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.connect + e.read + e.write + e.timeout, e.status))
end
LUA
export BODIES="$work/bodies.txt"

wait_up() {  # url
  for _ in $(seq 600); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "server at $1 did not come up"
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
run_wrk() {  # url seconds -> RESULT line
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2"s --timeout 10s -s "$work/load.lua" "$1" | grep '^RESULT'
}

start_maum() {  # model file, port
  "$MAUM" serve --model "$1" --port "$2" --threads "$THREADS" --cache 0 >/dev/null 2>"$work/serve-$2.log" &
  pids+=($!)
  wait_up "http://127.0.0.1:$2/readyz"
}
start_seed() {  # port
  "$PYTHON" "$SHARED/tools/seed_server.py" "$MODEL_DIR" --port "$1" --threads "$THREADS" \
    --no-cache >/dev/null 2>"$work/seed.log" &
  pids+=($!)
  for _ in $(seq 600); do
    curl -sf -XPOST -H 'Content-Type: application/json' -d '{"text":"안녕"}' \
      "http://127.0.0.1:$1/analyze_emotion" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  die "the seed server did not come up: $(tail -3 "$work/seed.log")"
}

# The maum servers: target -> port, pid. int7 = int8 with 7-bit weights.
MAUM_TARGETS=(int8 int7 fp32)
declare -A port_of=([int8]=18601 [int7]=18605 [fp32]=18602) pid_of rss_before total
for target in "${MAUM_TARGETS[@]}"; do
  start_maum "$work/$target.safetensors" "${port_of[$target]}"; pid_of[$target]=${pids[-1]}
done
[ "$SEED" = 1 ] && start_seed 18603
# Warm up at full load (first touch of the weights, every connection's thread and allocator arena),
# then the RSS baseline.
for target in "${MAUM_TARGETS[@]}"; do
  wrk -t"$THREADS" -c"$CONNECTIONS" -d5s -s "$work/load.lua" "http://127.0.0.1:${port_of[$target]}" >/dev/null
  rss_before[$target]=$(rss_kb "${pid_of[$target]}"); total[$target]=0
done

for round in $(seq "$ROUNDS"); do
  for target in "${MAUM_TARGETS[@]}" seed; do
    if [ "$target" = seed ]; then
      [ "$SEED" = 1 ] || continue
      url=http://127.0.0.1:18603
    else
      url=http://127.0.0.1:${port_of[$target]}
    fi
    line=$(run_wrk "$url" "$DURATION")
    echo "round $round $target $line"
    n=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$line")
    [ "$target" = seed ] || total[$target]=$(( ${total[$target]} + n ))
  done
done

for target in "${MAUM_TARGETS[@]}"; do
  echo "rss after the timed runs: $target $(rss_kb "${pid_of[$target]}")kB after ${total[$target]} requests"
done
# Top every maum server up to RSS_REQUESTS requests, then RSS again.
for target in "${MAUM_TARGETS[@]}"; do
  port=${port_of[$target]}; pid=${pid_of[$target]}
  while [ "${total[$target]}" -lt "$RSS_REQUESTS" ]; do
    line=$(run_wrk "http://127.0.0.1:$port" 10)
    total[$target]=$(( ${total[$target]} + $(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$line") ))
  done
  echo "rss $target before=${rss_before[$target]}kB after=$(rss_kb "$pid")kB requests=${total[$target]}" \
       "mean batch=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^maum_batch_size_sum/ {s=$2}
         /^maum_batch_size_count/ {c=$2} END {printf "%.1f", s / c}')"
done

# A cache hit, timed at the server (processing_time_ms), on a server with its cache on.
"$MAUM" serve --model "$work/int8.safetensors" --port 18604 --threads "$THREADS" >/dev/null 2>&1 &
pids+=($!)
wait_up http://127.0.0.1:18604/readyz
body='{"text":"오늘 정말 기쁜 하루였어요!"}'
curl -s -XPOST -d "$body" http://127.0.0.1:18604/analyze_emotion >/dev/null
hits=$(for _ in $(seq 20); do
  curl -s -XPOST -d "$body" http://127.0.0.1:18604/analyze_emotion |
    sed -n 's/.*"processing_time_ms":\([0-9.]*\).*/\1\n/p'
done | sort -g | awk '{a[NR]=$1} END {print "median=" a[int((NR+1)/2)] "ms max=" a[NR] "ms"}')
echo "cache-hit processing_time_ms over 20 hits: $hits"
