#!/usr/bin/env bash
# Large-input check (RELIABILITY.md, "Large inputs"): generates three inputs
# in a temp directory and times `netc validate` on each (wall time, peak RSS,
# bytes written to stderr).
#   scripts/large-inputs.sh [path/to/netc]   (default: target/release/netc)
set -euo pipefail
netc=${1:-target/release/netc}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
python3 - "$d" <<'PY'
import os, sys
d = sys.argv[1]
os.makedirs(f"{d}/ten", exist_ok=True)
for f in range(10):  # 10 files, ~3.8 MB each
    with open(f"{d}/ten/f{f}.yaml", "w") as o:
        for i in range(2000):
            o.write(f"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: s-{f}-{i}\nspec:\n  nets:\n")
            for j in range(100):
                o.write(f"  - 10.{f}.{(i*100+j)//256%256}.{j}/32\n")
with open(f"{d}/one.yaml", "w") as o:  # one ~39 MB file, ~2 M nodes, no alias
    for i in range(20000):
        o.write(f"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: s-{i}\nspec:\n  nets:\n")
        for j in range(100):
            o.write(f"  - 10.{i//256%256}.{i%256}.{j}/32\n")
with open(f"{d}/value.yaml", "w") as o:  # one 50 MB (invalid) value
    o.write("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: x\nspec:\n  nets:\n  - " + "a" * 50_000_000 + "\n")
PY
for t in ten one.yaml value.yaml; do
  /usr/bin/time -f "$t: %e s, %M KiB peak RSS" "$netc" validate "$d/$t" 2>"$d/err" >/dev/null || true
  echo "$(tail -1 "$d/err"); stderr $(($(wc -c <"$d/err"))) bytes"
done
