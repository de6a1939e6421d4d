#!/usr/bin/env bash
# Regenerates tokenizer/src/{hf_unicode_tables,unicode_data_tables}.inc from the pinned Unicode 15.0
# data (Debian unicode-data) and diffs them with the committed files: the tables must be exactly
# what tokenizer/tools/gen_hf_unicode_tables.py makes of that data.
#   unicode_tables_test.sh REPO_ROOT [UCD_DIR]
set -euo pipefail
root="$1"
ucd="${2:-/usr/share/unicode}"
if [ ! -f "$ucd/UnicodeData.txt" ] || [ ! -f "$ucd/DerivedAge.txt" ]; then
  echo "SKIP: $ucd/UnicodeData.txt not found (Debian package unicode-data, see scripts/setup.sh)"
  exit 77
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
/usr/bin/python3 "$root/tokenizer/tools/gen_hf_unicode_tables.py" "$ucd" "$out"
status=0
for f in hf_unicode_tables.inc unicode_data_tables.inc; do
  if ! diff -u "$root/tokenizer/src/$f" "$out/$f" | head -40; then status=1; fi
  cmp -s "$root/tokenizer/src/$f" "$out/$f" || { echo "FAIL: tokenizer/src/$f differs from the regenerated one"; status=1; }
done
[ $status -eq 0 ] && echo "unicode tables: both files regenerate identically from $ucd"
exit $status
