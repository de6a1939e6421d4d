# Sourced by every bench script: what they all report the same way.

# The line each report starts with: the time, lscpu's model name, family and model, the CPU count
# and load average, then "; $1" when given (e.g. the rival's version).
machine_line() {
  echo "# $(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p'), family $(lscpu | sed -n 's/^CPU family: *//p') model $(lscpu | sed -n 's/^Model: *//p'), $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)${1:+; $1}"
}

# The first $1 non-empty NSMC reviews in $SHARED, one per line (corpus_ort.js drops empty lines;
# maum would answer them), so that maum and ONNX Runtime score the same texts.
nsmc_reviews() {
  awk -F'\t' -v n="$1" 'NR > 1 && $1 != "" { print $1; if (++k == n) exit }' \
    "$SHARED/data/nsmc/reviews100k.tsv"
}

# texts/s from `maum classify -v`'s stderr (its "maum: classified N texts in T ms" line, which
# counts from after the model is loaded), read on stdin.
classified_texts_per_s() {
  sed -n 's/^maum: classified \([0-9]*\) texts in \([0-9.]*\) ms$/\1 \2/p' |
    awk '{ printf "%.1f\n", $1 / ($2 / 1000) }'
}
