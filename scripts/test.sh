#!/usr/bin/env bash
# Sets up, builds (Release) and runs every test: unit, conformance (against ../shared/golden),
# CLI end-to-end, and a short fuzz run of the tokenizer under ASan/UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
export MAUM_SHARED="${MAUM_SHARED:-$(cd .. && pwd)/shared}"
if [ ! -d "$MAUM_SHARED/golden" ]; then
  echo "test: shared material not found at $MAUM_SHARED (set MAUM_SHARED)" >&2
  exit 1
fi
scripts/setup.sh -DMAUM_SHARED_DIR="$MAUM_SHARED"
ctest --test-dir build --output-on-failure -j"$(nproc)"
if [ -x scripts/fuzz.sh ]; then scripts/fuzz.sh 60; fi
