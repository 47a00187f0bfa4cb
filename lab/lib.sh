# shellcheck shell=bash
# Shared by lab/up.sh, lab/stage.sh and lab/down.sh. Sourced, not run.
#
# Environment (all optional):
#   NETC_LAB        name prefix of every namespace the lab creates (default netclab)
#   NETC_LAB_STATE  directory for the lab's files: composed YAML, artifacts,
#                   BIRD configs, sockets, pid files (default /tmp/$NETC_LAB)
#   NETC            the netc binary (default: target/{release,debug}/netc, then PATH)

set -euo pipefail

LAB=${NETC_LAB:-netclab}
case $LAB in
  *[!a-z0-9]* | "") echo "NETC_LAB must be [a-z0-9]+ (got '$LAB')" >&2; exit 1 ;;
esac
STATE=${NETC_LAB_STATE:-/tmp/$LAB}
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$LAB_DIR/.." && pwd)
CLUSTER=$LAB_DIR/cluster

# TCP ports every workload listens on (the policy matrix probes them).
LISTEN_PORTS="80 5432 8000 8100 8101"

log() { printf '[lab] %s\n' "$*" >&2; }
die() { printf '[lab] error: %s\n' "$*" >&2; exit 1; }

find_netc() {
  if [ -n "${NETC:-}" ]; then
    [ -x "$NETC" ] || die "NETC=$NETC is not executable"
    return
  fi
  local c
  for c in "$REPO/target/release/netc" "$REPO/target/debug/netc"; do
    if [ -x "$c" ]; then NETC=$c; return; fi
  done
  NETC=$(command -v netc || true)
  [ -n "$NETC" ] || die "no netc binary: run 'cargo build' first or set NETC"
}

# Namespace names. Workload namespaces are named after the host-side veth:
# interfaceName cali-r1n1-w1 -> $LAB-r1n1-w1.
fabric_ns() { echo "$LAB-fabric"; }
router_ns() { echo "$LAB-router"; }
node_ns() { echo "$LAB-$1"; }
wl_ns() { echo "$LAB-${1#cali-}"; }

node_dir() { echo "$STATE/nodes/$1"; }
bird_conf() { echo "$STATE/nodes/$1/bird.conf"; }
bird_sock() { echo "$STATE/nodes/$1/bird.ctl"; }
bird_pid() { echo "$STATE/nodes/$1/bird.pid"; }

# The directories that make up STAGE (lab/cluster/stages).
stage_layers() {
  local layers
  layers=$(awk -v s="$1" '$0 !~ /^#/ && $1 == s { $1 = ""; print }' "$CLUSTER/stages")
  [ -n "$layers" ] || die "unknown stage '$1' (see $CLUSTER/stages)"
  echo $layers
}

# Compose STAGE's cluster into $STATE/stages/STAGE and print that directory.
compose_stage() {
  local stage=$1 dir=$STATE/stages/$1 layer
  rm -rf "$dir"
  mkdir -p "$dir"
  for layer in $(stage_layers "$stage"); do
    cp "$CLUSTER/$layer"/*.yaml "$dir"/
    # The lock of the last layer that has one (a stage adding a pool has its own).
    if [ -f "$CLUSTER/$layer/netc.lock" ]; then cp "$CLUSTER/$layer/netc.lock" "$dir/netc.lock"; fi
  done
  echo "$dir"
}

# Compile STAGE's artifacts into $STATE/build/STAGE/<node>/ (--locked: the
# committed lab/cluster/base/netc.lock must already be current).
build_stage() {
  local stage=$1 dir
  dir=$(compose_stage "$stage")
  rm -rf "$STATE/build/$stage"
  "$NETC" build --locked --ir -o "$STATE/build/$stage" "$dir" >&2
}

# The topology netc compiled for STAGE, one line per item:
#   subnet INDEX NETWORK/LEN ROUTER-ADDRESS   (the router takes the first host address)
#   node NAME ADDRESS PREFIXLEN UNDERLAY-IFACE SUBNET-INDEX
#   workload NODE IFACE ADDRESS
#   subnet6 / node6 / workload6 …   the same for IPv6, where the stage has it
topology() {
  python3 - "$STATE/build/$1" <<'EOF'
import ipaddress, json, os, sys
root = sys.argv[1]
nodes = []
for node in sorted(os.listdir(root)):
    p = os.path.join(root, node, "ir.json")
    if not os.path.exists(p):
        continue
    ir = json.load(open(p))
    # "address" is the node's ipv4Address with its prefix, e.g. "10.0.0.1/24".
    a, u = ipaddress.ip_interface(ir["address"]), ir["underlay"]
    net = a.network
    nodes.append((ir["node"], str(a.ip), a.network.prefixlen, u["interface"], net))
subnets = sorted({n[4] for n in nodes})
for i, net in enumerate(subnets):
    print("subnet", i, net, next(net.hosts()))
for name, addr, plen, iface, net in nodes:
    print("node", name, addr, plen, iface, subnets.index(net))
# IPv6 underlay ("address_v6": the node's ipv6Address), where the stage has one.
nodes6 = []
for node in sorted(os.listdir(root)):
    p = os.path.join(root, node, "ir.json")
    if os.path.exists(p) and json.load(open(p)).get("address_v6"):
        ir = json.load(open(p))
        a = ipaddress.ip_interface(ir["address_v6"])
        nodes6.append((node, str(a.ip), a.network.prefixlen, ir["underlay"]["interface"], a.network))
subnets6 = sorted({n[4] for n in nodes6})
for i, net in enumerate(subnets6):
    print("subnet6", i, net, next(net.hosts()))
for name, addr, plen, iface, net in nodes6:
    print("node6", name, addr, plen, iface, subnets6.index(net))
for node in sorted(os.listdir(root)):
    p = os.path.join(root, node, "ir.json")
    if not os.path.exists(p):
        continue
    for r in json.load(open(p))["routes"]:
        if r.get("origin") == "workload" and r["kind"]["type"] == "dev":
            kind = "workload6" if ":" in r["dst"] else "workload"
            print(kind, node, r["kind"]["dev"], r["dst"].split("/")[0])
EOF
}

# IPv6 plumbing for a stage that has it (idempotent; nothing for an IPv4-only
# stage): the router's ::1 leg on each IPv6 underlay subnet, each node's
# ipv6Address on its underlay interface with a default route via the router,
# and, playing the CNI, each workload's /128 with a default route via
# fe80::ecee:eeff:feee:eeee (the host side's link-local: up.sh gives it the
# MAC ee:ee:ee:ee:ee:ee). DAD is off in every lab namespace (up.sh), and the
# addresses are added nodad, so nothing waits on it.
plumb_v6() {
  local topo r
  topo=$(topology "$1")
  r=$(router_ns)
  grep -q '^subnet6 ' <<<"$topo" || return 0
  ip netns exec "$r" sysctl -qw net.ipv6.conf.all.forwarding=1
  while read -r _ idx net gw; do
    ip -n "$r" -6 addr replace "$gw/${net#*/}" dev "eth$idx" nodad
  done < <(awk '$1 == "subnet6"' <<<"$topo")
  while read -r _ node addr plen iface idx; do
    local ns gw
    ns=$(node_ns "$node")
    gw=$(awk -v i="$idx" '$1 == "subnet6" && $2 == i { print $4 }' <<<"$topo")
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.forwarding=1
    ip -n "$ns" -6 addr replace "$addr/$plen" dev "$iface" nodad
    ip -n "$ns" -6 route replace default via "$gw" dev "$iface"
  done < <(awk '$1 == "node6"' <<<"$topo")
  while read -r _ node ifname addr; do
    local w
    w=$(wl_ns "$ifname")
    ip -n "$w" -6 addr replace "$addr/128" dev eth0 nodad
    ip -n "$w" -6 route replace default via fe80::ecee:eeff:feee:eeee dev eth0
  done < <(awk '$1 == "workload6"' <<<"$topo")
}

nodes_of() { topology "$1" | awk '$1 == "node" { print $2 }'; }

# Converge NODE's namespace to STAGE with netc. FIREWALL: nftables | iptables.
# This is the only place the lab changes a node's network state. The full
# plan/apply output goes to $STATE/nodes/NODE/apply.log; its summary to stderr.
apply_node() {
  local stage=$1 node=$2 fw=${3:-nftables} log
  log=$(node_dir "$node")/apply.log
  echo "### netc apply $stage ($fw) on $node" >>"$log"
  if ! "$NETC" apply --node "$node" --netns "$(node_ns "$node")" --auto-approve --locked \
    --firewall "$fw" --bird-config "$(bird_conf "$node")" --bird-socket "$(bird_sock "$node")" \
    "$STATE/stages/$stage" >>"$log" 2>&1; then
    sed -n '/^### netc apply '"$stage"' ('"$fw"') on '"$node"'$/,$p' "$log" >&2
    die "netc apply $stage on $node failed (full log: $log)"
  fi
  log "apply $stage ($fw) -> $node: $(grep -E '^(Apply complete|No changes)' "$log" | tail -1)"
}

apply_stage() {
  local stage=$1 fw=${2:-nftables} node
  build_stage "$stage"
  for node in $(nodes_of "$stage"); do
    apply_node "$stage" "$node" "$fw"
  done
}

# Is PID alive and running COMMAND (by /proc/PID/comm)?
pid_is() {
  local pid=$1 comm=$2
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ]
}

# Stop the process in PIDFILE if it is still COMMAND: TERM, then KILL after 5 s.
stop_pidfile() {
  local pidfile=$1 comm=$2 pid i
  [ -f "$pidfile" ] || return 0
  pid=$(tr -dc 0-9 <"$pidfile")
  if pid_is "$pid" "$comm"; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do
      pid_is "$pid" "$comm" || break
      sleep 0.1
    done
    if pid_is "$pid" "$comm"; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$pidfile"
}
