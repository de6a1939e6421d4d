#!/usr/bin/env bash
# maum against ONNX Runtime on a random BERT-base, where ONNX Runtime comes from Python (the
# onnxruntime wheel, e.g. a GPU machine's image) instead of node: docs/PERF.md "Measurements with
# AMX" was made this way on Emerald Rapids. Batch 1 (seq 24 and 128; ROUNDS rounds at 1 thread, one
# at 2), then corpus scoring of TEXTS NSMC reviews, then the cold start of one sentence. Every
# process pinned with taskset (1 thread: core CORE; 2 threads: CORE and CORE+1).
#   ratio = maum time / ORT time (< 1: maum faster); int8 (the selected table, AMX where usable; and
#   MAUM_ISA=avx512vnni where the CPU has it) against ORT int8, fp32 and bf16 against ORT fp32.
#
#   bench/vs_ort_python.sh         # ROUNDS=3 TEXTS=1000 CORE=2
# Needs: python3 with torch, onnx, onnxruntime, tokenizers, numpy (../shared/tools' exporters);
# a Release build (build/bin/maum or $MAUM).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${MAUM_SHARED:-../shared}
MAUM=${MAUM:-build/bin/maum}
ROUNDS=${ROUNDS:-3}
TEXTS=${TEXTS:-1000}
CORE=${CORE:-2}
PY=${PYTHON:-python3}
die() { echo "vs_ort_python: $*" >&2; exit 1; }
[ -x "$MAUM" ] || die "no maum binary at $MAUM (build it, or set MAUM)"
[ -d "$SHARED/tools" ] || die "missing $SHARED/tools (set MAUM_SHARED)"
"$PY" -c 'import torch, onnx, onnxruntime, tokenizers, numpy' 2>/dev/null ||
  die "$PY lacks one of torch, onnx, onnxruntime, tokenizers, numpy"
[ "$(nproc)" -gt $((CORE + 1)) ] || CORE=0

work=$(mktemp -d /tmp/maum-vs-ort.XXXXXX)
trap 'rm -rf "$work"' EXIT
. bench/report_common.sh
machine_line "onnxruntime $("$PY" -c 'import onnxruntime; print(onnxruntime.__version__)')"
"$MAUM" --version --verbose | sed 's/^/# /'

# The model: random BERT-base with the klue vocab; ONNX through torch's TorchScript exporter where
# this torch still has it (the one the other PERF.md figures used), then ORT's dynamic int8.
"$PY" "$SHARED/tools/make_random_bert.py" "$work/bertbase" --vocab-dir "$SHARED/vocab/klue-bert-base" >/dev/null
"$PY" - "$SHARED/tools" "$work/bertbase" "$work/fp32.onnx" >/dev/null 2>&1 <<'PY' || die "ONNX export failed"
import runpy, sys, torch
tools, model_dir, out = sys.argv[1:4]
export = torch.onnx.export
def legacy(*a, **k):
    try:
        return export(*a, dynamo=False, **k)
    except TypeError:
        return export(*a, **k)
torch.onnx.export = legacy
sys.path.insert(0, tools)
sys.argv = [tools + "/export_onnx.py", model_dir, out]
runpy.run_path(sys.argv[0], run_name="__main__")
PY
"$PY" "$SHARED/tools/quantize_onnx_int8.py" "$work/fp32.onnx" "$work/int8.onnx" >/dev/null
"$MAUM" convert "$work/bertbase" "$work/fp32.safetensors" >/dev/null
"$MAUM" convert "$work/bertbase" "$work/int8.safetensors" --quantize int8 >/dev/null
vnni=$(MAUM_ISA=avx512vnni "$MAUM" --version >/dev/null 2>&1 && echo 1 || echo 0)

median() { "$PY" -c 'import json, sys; print(json.load(sys.stdin)["median_ms"])'; }
ort() { taskset -c "$1" "$PY" bench/ort_python.py latency "$work/$2.onnx" "$3" 1 "$4" "$5" | median; }
mb() {  # cores model threads seq iters [env...] [-- maum options]
  local cores=$1 model=$2 threads=$3 seq=$4 iters=$5
  shift 5
  env "$@" taskset -c "$cores" "$MAUM" bench --model "$work/$model.safetensors" --threads "$threads" \
    --seq "$seq" --iters "$iters" --json ${PRECISION:-} | median
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "| round | threads | seq | ORT int8 ms | maum int8 | ratio | VNNI ratio | ORT fp32 | maum fp32 | ratio | maum bf16 | ratio |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
runs=$(seq "$ROUNDS" | sed "s/\$/ $CORE 1/"; echo "1 $CORE,$((CORE + 1)) 2")
while read -r round cores threads; do
  for seq in 24 128; do
    iters=$([ "$seq" = 24 ] && echo 40 || echo 20)
    o8=$(ort "$cores" int8 "$threads" "$seq" "$iters")
    m8=$(mb "$cores" int8 "$threads" "$seq" "$iters")
    v8=-
    [ "$vnni" = 1 ] && v8=$(ratio "$(mb "$cores" int8 "$threads" "$seq" "$iters" MAUM_ISA=avx512vnni)" "$o8")
    of=$(ort "$cores" fp32 "$threads" "$seq" "$iters")
    mf=$(mb "$cores" fp32 "$threads" "$seq" "$iters")
    mbf=$(PRECISION="--precision bf16" mb "$cores" fp32 "$threads" "$seq" "$iters")
    printf '| %s | %s | %s | %.2f | %.2f | %s | %s | %.2f | %.2f | %s | %.2f | %s |\n' "$round" "$threads" "$seq" \
      "$o8" "$m8" "$(ratio "$m8" "$o8")" "$v8" "$of" "$mf" "$(ratio "$mf" "$of")" "$mbf" "$(ratio "$mbf" "$of")"
  done
done <<< "$runs"

nsmc_reviews "$TEXTS" > "$work/texts.txt"
echo
echo "# corpus: $(wc -l < "$work/texts.txt") NSMC reviews, batch 32, max length 128, tokenization included; texts/s"
echo "| threads | ORT int8 | maum int8 | maum / ORT | maum bf16 |"
echo "|---|---|---|---|---|"
for threads in 1 2; do
  cores=$([ "$threads" = 1 ] && echo "$CORE" || echo "$CORE,$((CORE + 1))")
  o=$(taskset -c "$cores" "$PY" bench/ort_python.py corpus "$work/int8.onnx" "$work/bertbase/tokenizer.json" \
      "$work/texts.txt" "$threads" 32 128 | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["texts_per_s"])')
  m=$(taskset -c "$cores" "$MAUM" classify -v --model "$work/int8.safetensors" --threads "$threads" --batch 32 \
      --max-length 128 < "$work/texts.txt" 2>&1 >/dev/null | classified_texts_per_s)
  b=$(taskset -c "$cores" "$MAUM" classify -v --model "$work/fp32.safetensors" --precision bf16 --threads "$threads" \
      --batch 32 --max-length 128 < "$work/texts.txt" 2>&1 >/dev/null | classified_texts_per_s)
  printf '| %s | %.1f | %s | %s | %s |\n' "$threads" "$o" "$m" "$(ratio "$m" "$o")" "$b"
done

echo
echo "# cold start: maum classify of one sentence, --threads 1, wall seconds"
for model in int8 fp32; do
  for i in 1 2 3; do
    start=$(date +%s.%N)
    taskset -c "$CORE" "$MAUM" classify --threads 1 --model "$work/$model.safetensors" "정말 기쁜 하루였어요!" >/dev/null
    echo "$model $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')"
  done
done
