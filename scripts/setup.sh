#!/usr/bin/env bash
# Installs the Debian packages maum builds with (if missing) and builds it in Release into build/.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(build-essential cmake ninja-build pkg-config libeigen3-dev
      nlohmann-json3-dev libcli11-dev libzip-dev zlib1g-dev libhdf5-dev libcpp-httplib-dev libgtest-dev libgmock-dev
      libbenchmark-dev clang libclang-rt-14-dev python3-numpy python3-h5py
      pybind11-dev python3-pybind11 python3-pytest python3-fastapi python3-httpx python3-setuptools
      python3-pip dpkg-dev chromium wrk libsqlite3-dev libssl-dev unicode-data)
# chromium: the web page test (tests/server) and the timeline SVG test (tests/history); wrk:
# bench/serve_load.sh, bench/history_load.sh; libsqlite3-dev, libssl-dev (SHA-256): the emotion
# history; libhdf5-dev: maum convert's tf_model.h5 reader; python3-h5py: the HDF5 fuzz seeds
# (tests/fuzz/make_h5_seeds.py); unicode-data: the tokenizer's Unicode tables test (tests/tokenizer). The seed server that bench/serve_load.sh compares against also needs python3-torch
# python3-uvicorn (large; not installed here, the script says when they are missing).
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j"$(nproc)"
