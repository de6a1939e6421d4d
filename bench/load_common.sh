# Sourced by the HTTP load benchmarks (serve_load.sh, history_load.sh) after SHARED is set: a work
# folder $work, removed at exit together with every server whose pid was added to pids; the CPU
# line; $work/bodies.txt, one JSON body {"text": ...} per distinct short ko_single7 sentence (at
# most 90 bytes), in file order.
work=$(mktemp -d /tmp/maum-load.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

. bench/report_common.sh
machine_line
awk -F'\t' 'NR > 1 && length($2) <= 90 && !seen[$2]++ {
  t = $2; gsub(/\\/, "\\\\", t); gsub(/"/, "\\\"", t); print "{\"text\":\"" t "\"}" }' \
  "$SHARED/data/ko_single7/all.tsv" > "$work/bodies.txt"
