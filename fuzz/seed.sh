#!/usr/bin/env bash
# Build the seed corpora of the fuzz targets under fuzz/corpus/<target>/
# (git-ignored; $FUZZ_CORPUS_ROOT/<target>/ when set) from the repository's own inputs: golden/*/input,
# examples/ and tests/errors/*.yaml. Idempotent; small (a few hundred KB).
#   fuzz/seed.sh            # every target
#   fuzz/seed.sh selector   # one target
set -euo pipefail
cd "$(dirname "$0")"
root=..
targets=("${@:-load selector pipeline structured structured_tools}")
# shellcheck disable=SC2206
targets=(${targets[@]})

yaml_files() {
  find "$root/golden" -path '*/input/*' -name '*.yaml' -not -name '*.secrets.yaml'
  find "$root/examples" -maxdepth 1 -name '*.yaml' -not -name '*.secrets.yaml'
  find "$root/tests/errors" -maxdepth 1 -name '*.yaml'
}

seed_file() { # dir file: copy under a content-derived name
  local h
  h=$(sha1sum "$2" | cut -c1-16)
  cp "$2" "$1/$h"
}

for t in "${targets[@]}"; do
  d=${FUZZ_CORPUS_ROOT:-corpus}/$t
  mkdir -p "$d"
  case $t in
    load | pipeline)
      while IFS= read -r f; do seed_file "$d" "$f"; done < <(yaml_files)
      # Whole golden cases and the example cluster as one file each: the
      # pipeline target compiles a cluster, not a single resource.
      for c in "$root"/golden/*/input "$root/examples"; do
        tmp=$(mktemp)
        find "$c" -name '*.yaml' -not -name '*.secrets.yaml' | sort |
          while IFS= read -r f; do cat "$f"; printf '\n---\n'; done >"$tmp"
        seed_file "$d" "$tmp"
        rm -f "$tmp"
      done
      ;;
    selector)
      # Every selector-valued field of the inputs, one per file.
      yaml_files | xargs grep -hoE '(selector|Selector|notSelector): .*' |
        sed -E 's/^[A-Za-z]+: //; s/^"(.*)"$/\1/; s/^'"'"'(.*)'"'"'$/\1/' | sort -u |
        while IFS= read -r s; do
          tmp=$(mktemp)
          printf '%s' "$s" >"$tmp"
          seed_file "$d" "$tmp"
          rm -f "$tmp"
        done
      ;;
    structured | structured_tools)
      # Byte strings for `arbitrary`: a few fixed patterns; libFuzzer grows
      # the rest (YAML files are not meaningful seeds here).
      for i in 0 1 2 3 4 5 6 7; do
        head -c 2048 /dev/zero | tr '\0' "\\$(printf '%03o' $((i * 31 + 1)))" >"$d/fixed-$i"
      done
      ;;
    *) echo "unknown target $t" >&2; exit 2 ;;
  esac
  echo "$t: $(find "$d" -type f | wc -l) seeds"
done
