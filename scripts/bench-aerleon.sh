#!/usr/bin/env bash
# Policy-compile benchmark against aerleon (BENCHMARKS.md, "Build against
# aerleon"): N terms of "tcp from a /24 to a /26 on a port, accept; default
# deny", compiled to nftables by aerleon's `aclgen` (installed from PyPI into
# a venv under target/) and by `netc build` (the same terms as one Calico
# HostEndpoint's ingress policy). Both outputs are checked with `nft -c -f`
# when nft and root are available. Prints medians and the ratio.
#   scripts/bench-aerleon.sh [N...]        (default: 1000 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
netc=${NETC:-target/release/netc}
[ -x "$netc" ] || cargo build --release --quiet
venv=target/aerleon-venv
if [ ! -x "$venv/bin/aclgen" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'aerleon==1.18.0'
fi
runs=${RUNS:-3}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
secs() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N); awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f\n", (b - a) / 1e9}'; }
echo "| terms | aclgen (aerleon $("$venv/bin/pip" show aerleon | awk '/^Version/{print $2}')) | netc build | aerleon / netc |"
echo "|---:|---:|---:|---:|"
for n in "${@:-1000 10000}"; do
  for N in $n; do
    d=$(mktemp -d)
    python3 - "$d" "$N" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for sub in ("def", "policies/pol", "out", "netc"):
    os.makedirs(f"{d}/{sub}", exist_ok=True)
src = lambda i: f"10.{100 + i // 250}.{i % 250}.0/24"
dst = lambda i: f"172.16.{i // 4 % 256}.{(i % 4) * 64}/26"
port = lambda i: 10000 + i % 50000
nets, svcs = ["networks:"], ["services:"]
pol = ["filters:", "- header:", "    targets:", "      nftables: inet input", "  terms:"]
for i in range(n):
    nets += [f"  SRC{i}:", "    values:", f"      - address: {src(i)}",
             f"  DST{i}:", "    values:", f"      - address: {dst(i)}"]
    svcs += [f"  SVC{i}:", f"    - port: {port(i)}", "      protocol: tcp"]
    pol += [f"  - name: t{i}", f"    source-address: SRC{i}", f"    destination-address: DST{i}",
            f"    destination-port: SVC{i}", "    protocol: tcp", "    action: accept"]
open(f"{d}/def/networks.yaml", "w").write("\n".join(nets) + "\n")
open(f"{d}/def/services.yaml", "w").write("\n".join(svcs) + "\n")
open(f"{d}/policies/pol/bench.yaml", "w").write("\n".join(pol) + "\n")
y = ["apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: fw\nspec:\n  bgp:\n    ipv4Address: 192.0.2.1/24\n",
     "apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata:\n  name: fw-eth0\n  labels: {role: fw}\nspec:\n  node: fw\n  interfaceName: eth0\n"]
for p in range(0, n, 1000):
    rules = [f"  - action: Allow\n    protocol: TCP\n    source:\n      nets: [{src(i)}]\n    destination:\n      nets: [{dst(i)}]\n      ports: [{port(i)}]\n"
             for i in range(p, min(n, p + 1000))]
    y.append(f"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: bench-{p // 1000}\nspec:\n  order: {p // 1000}\n  selector: role == 'fw'\n  types: [Ingress]\n  ingress:\n" + "".join(rules))
open(f"{d}/netc/input.yaml", "w").write("---\n".join(y))
PY
    a=(); b=()
    for _ in $(seq "$runs"); do
      rm -rf "$d/out"/*
      a+=("$(secs "$venv/bin/aclgen" --base_directory "$d/policies" --definitions_directory "$d/def" --output_directory "$d/out" --max_renderers 1)")
      rm -rf "$d/netc/out" "$d/netc/netc.lock"
      b+=("$(secs "$netc" build -o "$d/netc/out" "$d/netc/input.yaml")")
    done
    [ -s "$d/out/bench.nft" ] || { echo "aclgen wrote nothing" >&2; exit 1; }
    [ -s "$d/netc/out/fw/nftables.nft" ] || { echo "netc wrote nothing" >&2; exit 1; }
    if command -v nft >/dev/null && [ "$(id -u)" = 0 ]; then
      nft -c -f "$d/out/bench.nft"
      nft -c -f "$d/netc/out/fw/nftables.nft"
    fi
    ma=$(printf '%s\n' "${a[@]}" | median); mb=$(printf '%s\n' "${b[@]}" | median)
    awk -v n="$N" -v a="$ma" -v b="$mb" 'BEGIN {printf "| %s | %.2f s | %.3f s | %.0f× |\n", n, a, b, a / b}'
    rm -rf "$d"
  done
done
