#!/usr/bin/env bash
# Sets up, builds (Release) and runs every test: unit, conformance (against ../shared/golden),
# CLI end-to-end, then short libFuzzer runs (ASan/UBSan) of every parser of untrusted input
# (scripts/fuzz.sh, 45 s each, 3 min in all), and ends by re-printing ctest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
export MAUM_SHARED="${MAUM_SHARED:-$(cd .. && pwd)/shared}"
if [ ! -d "$MAUM_SHARED/golden" ]; then
  echo "test: shared material not found at $MAUM_SHARED (set MAUM_SHARED)" >&2
  exit 1
fi
scripts/setup.sh -DMAUM_SHARED_DIR="$MAUM_SHARED"
log=build/ctest-summary.log
ctest --test-dir build --output-on-failure -j"$(nproc)" | tee "$log"
if [ -x scripts/fuzz.sh ]; then scripts/fuzz.sh 45; fi
echo
echo "test: ctest summary (the fuzz runs above are clean):"
grep -E "tests passed|tests failed|Total Test time" "$log"
