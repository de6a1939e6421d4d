#!/usr/bin/env bash
# Sets up, builds (Release) and runs every test: unit, conformance (against ../shared/golden),
# CLI end-to-end, consumers (find_package, add_subdirectory, pkg-config, C API), Python; then the
# same tests on the portable build (-DMAUM_SIMD=OFF: Eigen kernels, no x86 code, what an ARM machine
# builds); then short libFuzzer runs (ASan/UBSan) of every parser of untrusted input (scripts/fuzz.sh,
# 45 s each, 3 min in all); and ends by re-printing both ctest summaries.
set -euo pipefail
cd "$(dirname "$0")/.."
export MAUM_SHARED="${MAUM_SHARED:-$(cd .. && pwd)/shared}"
if [ ! -d "$MAUM_SHARED/golden" ]; then
  echo "test: shared material not found at $MAUM_SHARED (set MAUM_SHARED)" >&2
  exit 1
fi
scripts/setup.sh -DMAUM_SHARED_DIR="$MAUM_SHARED" -DMAUM_BUILD_PYTHON=ON
ctest --test-dir build --output-on-failure -j"$(nproc)" | tee build/ctest-summary.log
cmake -S . -B build-portable -G Ninja -DCMAKE_BUILD_TYPE=Release -DMAUM_SIMD=OFF -DMAUM_BUILD_BENCH=OFF \
  -DMAUM_BUILD_PYTHON=ON -DMAUM_SHARED_DIR="$MAUM_SHARED" >/dev/null
cmake --build build-portable -j"$(nproc)"
ctest --test-dir build-portable --output-on-failure -j"$(nproc)" | tee build-portable/ctest-summary.log
if [ -x scripts/fuzz.sh ]; then scripts/fuzz.sh 45; fi
echo
echo "test: ctest summaries (the fuzz runs above are clean):"
echo "portable build (-DMAUM_SIMD=OFF):"
grep -E "tests passed|tests failed|Total Test time" build-portable/ctest-summary.log
echo "default build:"
grep -E "tests passed|tests failed|Total Test time" build/ctest-summary.log
