#!/usr/bin/env bash
# Corpus scoring throughput (docs/PERF.md "Corpus scoring"): `maum classify` against ONNX Runtime +
# Hugging Face tokenizers (../shared/tools/corpus_ort.js: length-sorted batches of 32, tokenization
# included, the load excluded) on the same NSMC reviews, the same model (ko-emotion7-small, fp32 and
# int8: ONNX Runtime's dynamic-int8 export from ../shared/tools/quantize_onnx_int8.py), the same
# thread count and --max-length 128, interleaved ROUNDS times. Precision int7 is maum's int8 file
# with 7-bit weights (`convert --reduce-range`), against the same ONNX Runtime int8. maum's figure is its own "classified
# N texts in T ms" (-v), which likewise starts after the model is loaded.
#
#   bench/corpus.sh                 # TEXTS=100000 THREADS="1 2" ROUNDS=1
# Needs: a Release build (build/bin/maum or $MAUM); node with $NPMREF from
# ../shared/tools/setup-ref.sh; /usr/bin/python3 with python3-torch and python3-onnx for the export.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${MAUM_SHARED:-../shared}
MAUM=${MAUM:-build/bin/maum}
TEXTS=${TEXTS:-100000}
THREADS=${THREADS:-1 2}
ROUNDS=${ROUNDS:-1}
MODEL_DIR=$SHARED/models/ko-emotion7-small

die() { echo "corpus: $*" >&2; exit 1; }
[ -x "$MAUM" ] || die "no maum binary at $MAUM (build it, or set MAUM)"
[ -d "$MODEL_DIR" ] || die "missing $MODEL_DIR (set MAUM_SHARED)"
[ -n "${NPMREF:-}" ] && [ -d "$NPMREF/node_modules/onnxruntime-node" ] ||
  die "NPMREF is not set up: source $SHARED/tools/setup-ref.sh"
/usr/bin/python3 -c 'import torch, onnx' 2>/dev/null ||
  die "/usr/bin/python3 lacks torch/onnx (apt-get install python3-torch python3-onnx)"

work=$(mktemp -d /tmp/maum-corpus.XXXXXX)
trap 'rm -rf "$work"' EXIT
. bench/report_common.sh
machine_line

nsmc_reviews "$TEXTS" > "$work/texts.txt"
count=$(wc -l < "$work/texts.txt")
"$MAUM" convert "$MODEL_DIR" "$work/fp32.safetensors" >/dev/null 2>&1 || die "maum convert failed"
"$MAUM" convert "$MODEL_DIR" "$work/int8.safetensors" --quantize int8 >/dev/null 2>&1 || die "maum convert failed"
"$MAUM" convert "$MODEL_DIR" "$work/int7.safetensors" --quantize int8 --reduce-range >/dev/null 2>&1 ||
  die "maum convert failed"
/usr/bin/python3 "$SHARED/tools/export_onnx.py" "$MODEL_DIR" "$work/fp32.onnx" >/dev/null 2>&1
/usr/bin/python3 "$SHARED/tools/quantize_onnx_int8.py" "$work/fp32.onnx" "$work/int8.onnx" >/dev/null
echo "# $count NSMC reviews, ko-emotion7-small, batch 32, max length 128; texts/s (higher is better)"
echo "| round | threads | precision | ONNX Runtime | maum | maum / ORT |"
echo "|---|---|---|---|---|---|"

ort() {  # precision threads -> texts/s (int7: ONNX Runtime's int8)
  node "$SHARED/tools/corpus_ort.js" "$work/${1/int7/int8}.onnx" "$MODEL_DIR/tokenizer.json" "$work/texts.txt" "$2" 32 128 |
    sed -n 's/.*"texts_per_s":\([0-9.]*\).*/\1/p'
}
maum() {  # precision threads -> texts/s
  "$MAUM" classify -v --model "$work/$1.safetensors" --threads "$2" --batch 32 --max-length 128 \
    < "$work/texts.txt" 2>&1 >/dev/null | classified_texts_per_s
}
for round in $(seq "$ROUNDS"); do
  for t in $THREADS; do
    for p in int8 int7 fp32; do
      o=$(ort "$p" "$t")
      m=$(maum "$p" "$t")
      echo "| $round | $t | $p | $(printf %.0f "$o") | $(printf %.0f "$m") | $(awk -v a="$m" -v b="$o" 'BEGIN { printf "%.2f", a / b }') |"
    done
  done
done
