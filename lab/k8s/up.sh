#!/usr/bin/env bash
# Stand up the Kubernetes NetworkPolicy lab: two nodes and nine pods in
# network namespaces, from the Kubernetes YAML in lab/k8s/cluster/, with
# BIRD in each node and `netc apply` converging both (no policy yet).
# Usage: lab/k8s/up.sh [nftables|iptables]
#
#   $LAB-fabric          the underlay bridge br0 (192.168.30.0/24)
#   $LAB-<node>          eth0 on br0, a default route via .1, ip_forward=1,
#                        BIRD, netc's state
#   $LAB-<ns>-<pod>      a pod: eth0 = <podIP>/32, default via 169.254.1.1
#                        onlink; its host side is Calico's cali<sha1…>
#                        name in the node's namespace
#
# The script plays the CNI plugin only: the veth, the pod's address and
# routes. netc programs the node side: the /32 route to the veth, the veth's
# kernel parameters (proxy ARP, …) and the policy. lab/k8s/down.sh removes it all.
source "$(dirname "$0")/lib.sh"

FW=${1:-nftables}
trap 'log "up.sh failed; lab/k8s/down.sh removes what was created"' ERR

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
for c in ip bird birdc nft iptables-restore python3 sysctl; do
  command -v "$c" >/dev/null || die "missing command: $c"
done
python3 -c 'import yaml' 2>/dev/null || die "python3 lacks PyYAML (Debian: apt-get install python3-yaml)"
find_netc
if ip netns list | grep -q "^$LAB-" || [ -e "$STATE" ]; then
  die "a lab named '$LAB' is already up (or left over): run lab/k8s/down.sh first"
fi
mkdir -p "$STATE"
TOPO=$(k8s_topology)
printf '%s\n' "$TOPO" >"$STATE/topology"

F=$(fabric_ns)
ip netns add "$F"
ip -n "$F" link set lo up
ip -n "$F" link add br0 type bridge
ip -n "$F" link set br0 up

while read -r _ node cidr; do
  ns=$(node_ns "$node")
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ns" link add eth0 type veth peer name "$node" netns "$F"
  ip -n "$F" link set "$node" master br0 up
  ip -n "$ns" addr add "$cidr" dev eth0
  ip -n "$ns" link set eth0 up
  # Proxy ARP answers only for destinations the node can route
  # (docs/lab-facts.md, "VXLAN, Calico style"), the pods' gateway 169.254.1.1 included: a default
  # route, as every real node has (nobody answers at .1; nothing needs to).
  ip -n "$ns" route add default via "$(python3 -c 'import ipaddress,sys; print(next(ipaddress.ip_interface(sys.argv[1]).network.hosts()))' "$cidr")" dev eth0
  ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
  mkdir -p "$(node_dir "$node")"
  printf 'router id %s;\nprotocol device {\n}\n' "${cidr%/*}" >"$(bird_conf "$node")"
  ip netns exec "$ns" bird -c "$(bird_conf "$node")" -s "$(bird_sock "$node")" -P "$(bird_pid "$node")" \
    </dev/null >/dev/null 2>"$(node_dir "$node")/bird.stderr"
  log "node $node: $cidr on eth0, namespace $ns"
done < <(awk '$1 == "node"' <<<"$TOPO")

udp_args=$(for p in $K8S_UDP; do printf 'udp:%s ' "$p"; done)
while read -r _ kns pod node ip iface; do
  ns=$(node_ns "$node")
  p=$(pod_ns "$kns" "$pod")
  ip netns add "$p"
  ip -n "$p" link set lo up
  ip -n "$p" link add eth0 type veth peer name "$iface" netns "$ns"
  ip -n "$ns" link set "$iface" address ee:ee:ee:ee:ee:ee up
  ip -n "$p" addr add "$ip/32" dev eth0
  ip -n "$p" link set eth0 up
  ip -n "$p" route add default via 169.254.1.1 dev eth0 onlink
  # shellcheck disable=SC2086
  ip netns exec "$p" python3 "$LAB_DIR/probe.py" listen $K8S_TCP $udp_args \
    </dev/null >"$STATE/nodes/$node/listen-$iface.log" 2>&1 &
  echo $! >"$STATE/nodes/$node/listen-$iface.pid"
  log "pod $kns/$pod: $ip on $node ($iface), namespace $p"
done < <(awk '$1 == "pod"' <<<"$TOPO")

for node in $(awk '$1 == "node" { print $2 }' <<<"$TOPO"); do
  for _ in $(seq 50); do
    [ -S "$(bird_sock "$node")" ] && break
    sleep 0.1
  done
  [ -S "$(bird_sock "$node")" ] || die "BIRD did not start in $(node_ns "$node")"
done
for f in "$STATE"/nodes/*/listen-*.pid; do
  for _ in $(seq 50); do
    grep -q listening "${f%.pid}.log" 2>/dev/null && break
    kill -0 "$(cat "$f")" 2>/dev/null || die "listener $f died: $(cat "${f%.pid}.log")"
    sleep 0.1
  done
done

k8s_apply_all none "$FW"
cat >&2 <<EOT
[lab] up: 2 nodes, 9 pods, no NetworkPolicy ($FW). Look around:
  cat $STATE/topology
  ip -n $(node_ns k1) route
  ip netns exec $(pod_ns frontend fe-a) ping -c1 10.60.0.77
  lab/k8s/apply.sh 01-deny-ingress-data     # a scenario (lab/k8s/scenarios/)
  lab/k8s/down.sh
EOT
