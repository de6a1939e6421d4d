#!/usr/bin/env bash
# Fuzzes the tokenizer (libFuzzer + ASan + UBSan, clang) for SECONDS seconds (default 60), seeded
# with the golden corpora lines. Builds only the fuzz target, in build-fuzz/. Exits non-zero on a
# crash, a sanitizer report or a failed build.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
export MAUM_SHARED="${MAUM_SHARED:-$(cd .. && pwd)/shared}"
if [ ! -d "$MAUM_SHARED/vocab" ]; then
  echo "fuzz: shared material not found at $MAUM_SHARED (set MAUM_SHARED)" >&2
  exit 1
fi
cxx="$(command -v clang++ || command -v clang++-14 || true)"
if [ -z "$cxx" ]; then
  echo "fuzz: clang++ not found (scripts/setup.sh installs clang)" >&2
  exit 1
fi
cc="$(command -v clang || command -v clang-14)"
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link" \
  -DMAUM_SANITIZE=ON -DMAUM_BUILD_FUZZ=ON -DMAUM_BUILD_TESTS=ON -DMAUM_BUILD_BENCH=OFF \
  -DMAUM_SHARED_DIR="$MAUM_SHARED" >/dev/null
cmake --build build-fuzz --target fuzz_tokenizer -j"$(nproc)"

# Seed corpus: one file per line of the golden corpora (bounded), plus a few malformed byte strings.
seeds=build-fuzz/fuzz-seeds
rm -rf "$seeds" && mkdir -p "$seeds"
for f in "$MAUM_SHARED"/golden/corpora/*.txt; do
  base="$(basename "$f" .txt)"
  head -n 300 "$f" | split -l 1 -a 4 - "$seeds/$base-"
done
printf 'abc\xff\xfe' > "$seeds/invalid-1"
printf '\xe0\xa0 [SEP]\xed\xa0\x80' > "$seeds/invalid-2"
printf '\xf4\x90\x80\x80[CLS]' > "$seeds/invalid-3"

mkdir -p build-fuzz/artifacts
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
echo "fuzz: running fuzz_tokenizer for ${seconds}s" >&2
build-fuzz/tests/fuzz/fuzz_tokenizer -max_total_time="$seconds" -max_len=4096 -timeout=10 \
  -artifact_prefix=build-fuzz/artifacts/ -print_final_stats=1 "$seeds"
echo "fuzz: clean after ${seconds}s" >&2
