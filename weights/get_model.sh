#!/usr/bin/env bash
# Usage: weights/get_model.sh HUB_ID_OR_LOCAL_DIR [OUT.safetensors]
# Converts a Hugging Face model folder into one maum model file. Given a local folder, converts it
# as is; given a hub id (e.g. "someone/koelectra-emotion"), first downloads the files a classifier
# needs from https://huggingface.co/<id>/resolve/main/ with curl (set HF_TOKEN for private models),
# into weights/<id with / -> __>/, then converts. The maum binary: $MAUM, else build/bin/maum.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 HUB_ID_OR_LOCAL_DIR [OUT.safetensors]" >&2
  exit 2
fi
src="$1"
maum="${MAUM:-$here/../build/bin/maum}"
if [ ! -x "$maum" ]; then
  echo "error: $maum not found; build first (scripts/setup.sh) or set MAUM" >&2
  exit 1
fi

if [ -d "$src" ]; then
  dir="$src"
  name="$(basename "$(cd "$src" && pwd)")"
else
  case "$src" in
    */*) ;;
    *) echo "error: '$src' is neither a folder nor a hub id of the form owner/name" >&2; exit 2 ;;
  esac
  name="${src//\//__}"
  dir="$here/$name"
  mkdir -p "$dir"
  base="https://huggingface.co/$src/resolve/main"
  auth=()
  [ -n "${HF_TOKEN:-}" ] && auth=(-H "Authorization: Bearer $HF_TOKEN")
  fetch() {  # fetch FILE REQUIRED(0/1): 404 is fine for optional files
    local code
    code=$(curl -sSL "${auth[@]}" -o "$dir/$1.part" -w '%{http_code}' "$base/$1") || code=000
    if [ "$code" = 200 ]; then
      mv "$dir/$1.part" "$dir/$1"
      return 0
    fi
    rm -f "$dir/$1.part"
    if [ "$2" = 1 ]; then echo "error: could not download $base/$1 (HTTP $code)" >&2; exit 1; fi
    return 1
  }
  fetch config.json 1
  fetch model.safetensors 0 || fetch pytorch_model.bin 1
  fetch vocab.txt 0 || true
  fetch tokenizer.json 0 || true
  [ -f "$dir/vocab.txt" ] || [ -f "$dir/tokenizer.json" ] || { echo "error: $src has neither vocab.txt nor tokenizer.json" >&2; exit 1; }
  for f in tokenizer_config.json special_tokens_map.json calibration.json; do fetch "$f" 0 || true; done
fi

out="${2:-$here/$name.safetensors}"
"$maum" convert "$dir" "$out" ${MAUM_CONVERT_FLAGS:-}
echo "$out"
