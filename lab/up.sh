#!/usr/bin/env bash
# Stand up the netc lab: a 4-node cluster in network namespaces, built from
# the YAML in lab/cluster/, with BIRD 2 in every node and netc applying each
# node's state. Usage: lab/up.sh [STAGE]   (default: mesh; see lab/cluster/stages)
#
#   $LAB-fabric          one bridge per underlay subnet (nothing else)
#   $LAB-router          one leg per subnet (first host address), ip_forward=1
#   $LAB-<node>          eth0 on its subnet's bridge, default route via the router,
#                        ip_forward=1, BIRD 2 (socket $STATE/nodes/<node>/bird.ctl)
#   $LAB-<node>-wN       a workload: eth0 = <address>/32, default via 169.254.1.1;
#                        the host side is the WorkloadEndpoint's interfaceName
#
# Everything lives in namespaces the script creates; the root namespace gets
# no interface, address or route. lab/down.sh removes it all.
source "$(dirname "$0")/lib.sh"

STAGE=${1:-mesh}
trap 'log "up.sh failed; lab/down.sh removes what was created"' ERR

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
for c in ip bridge bird birdc nft iptables-restore python3; do
  command -v "$c" >/dev/null || die "missing command: $c"
done
find_netc
if ip netns list | grep -q "^$LAB-" || [ -e "$STATE" ]; then
  die "a lab named '$LAB' is already up (or left over): run lab/down.sh first"
fi

mkdir -p "$STATE"
log "netc: $NETC"
build_stage "$STAGE"
TOPO=$(topology "$STAGE")

F=$(fabric_ns)
R=$(router_ns)
ip netns add "$F"
ip netns add "$R"
# No IPv6 duplicate address detection anywhere in the lab: addresses are
# usable at once (the dualstack stage), no timing flakes.
nodad() { ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0; }
nodad "$F"
nodad "$R"
ip -n "$F" link set lo up
ip -n "$R" link set lo up
ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1

# Underlay: a bridge per subnet, the router's leg on each.
while read -r _ idx net gw; do
  plen=${net#*/}
  ip -n "$F" link add "br$idx" type bridge
  ip -n "$F" link set "br$idx" up
  ip -n "$R" link add "eth$idx" type veth peer name "rt$idx" netns "$F"
  ip -n "$F" link set "rt$idx" master "br$idx" up
  ip -n "$R" addr add "$gw/$plen" dev "eth$idx"
  ip -n "$R" link set "eth$idx" up
  log "subnet $net: bridge br$idx, router $gw"
done < <(awk '$1 == "subnet"' <<<"$TOPO")

# Nodes.
while read -r _ node addr plen iface idx; do
  ns=$(node_ns "$node")
  gw=$(awk -v i="$idx" '$1 == "subnet" && $2 == i { print $4 }' <<<"$TOPO")
  ip netns add "$ns"
  nodad "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ns" link add "$iface" type veth peer name "$node" netns "$F"
  ip -n "$F" link set "$node" master "br$idx" up
  ip -n "$ns" addr add "$addr/$plen" dev "$iface"
  ip -n "$ns" link set "$iface" up
  ip -n "$ns" route add default via "$gw"
  ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
  mkdir -p "$(node_dir "$node")"
  log "node $node: $addr/$plen on $iface, namespace $ns"
done < <(awk '$1 == "node"' <<<"$TOPO")

# Workloads: what a CNI plugin does (Calico style). The host side gets
# proxy ARP, so the workload's gateway 169.254.1.1 resolves to it; netc
# programs the /32 route to it.
while read -r _ node ifname addr; do
  ns=$(node_ns "$node")
  w=$(wl_ns "$ifname")
  ip netns add "$w"
  nodad "$w"
  ip -n "$w" link set lo up
  ip -n "$w" link add eth0 type veth peer name "$ifname" netns "$ns"
  # Calico's host-side MAC: its link-local fe80::ecee:eeff:feee:eeee is the
  # workload's IPv6 gateway (plumb_v6).
  ip -n "$ns" link set "$ifname" address ee:ee:ee:ee:ee:ee
  ip netns exec "$ns" sysctl -qw "net.ipv4.conf.$ifname.proxy_arp=1" \
    "net.ipv4.neigh.$ifname.proxy_delay=0" "net.ipv4.conf.$ifname.forwarding=1"
  ip -n "$ns" link set "$ifname" up
  ip -n "$w" addr add "$addr/32" dev eth0
  ip -n "$w" link set eth0 up
  ip -n "$w" route add 169.254.1.1 dev eth0 scope link
  ip -n "$w" route add default via 169.254.1.1 dev eth0
  # A listener on every port the policy matrix probes.
  ip netns exec "$w" python3 "$LAB_DIR/probe.py" listen $LISTEN_PORTS \
    </dev/null >"$STATE/nodes/$node/listen-$ifname.log" 2>&1 &
  echo $! >"$STATE/nodes/$node/listen-$ifname.pid"
  log "workload $addr on $node ($ifname), namespace $w"
done < <(awk '$1 == "workload"' <<<"$TOPO")

plumb_v6 "$STAGE"

# BIRD 2 in every node, started on a minimal config; netc apply installs the
# real one and reconfigures the running daemon.
while read -r _ node addr _; do
  ns=$(node_ns "$node")
  printf 'router id %s;\nprotocol device {\n}\n' "$addr" >"$(bird_conf "$node")"
  ip netns exec "$ns" bird -c "$(bird_conf "$node")" -s "$(bird_sock "$node")" -P "$(bird_pid "$node")" \
    </dev/null >/dev/null 2>"$(node_dir "$node")/bird.stderr"
done < <(awk '$1 == "node"' <<<"$TOPO")
for node in $(awk '$1 == "node" { print $2 }' <<<"$TOPO"); do
  for _ in $(seq 50); do
    [ -S "$(bird_sock "$node")" ] && [ -s "$(bird_pid "$node")" ] && break
    sleep 0.1
  done
  [ -S "$(bird_sock "$node")" ] || die "BIRD did not start in $(node_ns "$node")"
done

# Listeners up?
for f in "$STATE"/nodes/*/listen-*.pid; do
  pid=$(cat "$f")
  for _ in $(seq 50); do
    grep -q listening "${f%.pid}.log" 2>/dev/null && break
    pid_is "$pid" python3 || die "listener $f died: $(cat "${f%.pid}.log")"
    sleep 0.1
  done
done

for node in $(nodes_of "$STAGE"); do
  apply_node "$STAGE" "$node" nftables
done
echo "$STAGE" >"$STATE/stage"

cat >&2 <<EOF
[lab] up: stage '$STAGE'. Look around:
  ip netns list | grep $LAB-
  ip netns exec $(node_ns r1n1) birdc -s $(bird_sock r1n1) show protocols
  ip -n $(node_ns r1n1) route
  ip netns exec $LAB-r1n1-w1 ping -c2 10.10.0.202
  lab/stage.sh rr        # switch to route reflectors (see lab/cluster/stages)
  lab/down.sh            # remove everything
EOF
