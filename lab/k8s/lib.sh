# shellcheck shell=bash
# Shared by lab/k8s/up.sh, apply.sh and down.sh. Sourced, not run. Builds on
# lab/lib.sh (logging, finding netc, stopping processes by pid file).
#
# Environment (all optional):
#   NETC_LAB        name prefix of every namespace (default k8slab)
#   NETC_LAB_STATE  the lab's files: input YAML, logs, BIRD files, pid files
#                   (default /tmp/$NETC_LAB)
#   NETC            the netc binary (default: target/{release,debug}/netc, then PATH)

NETC_LAB=${NETC_LAB:-k8slab}
# shellcheck source=../lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"

K8S_DIR=$LAB_DIR/k8s
K8S_CLUSTER=$K8S_DIR/cluster
K8S_SCENARIOS=$K8S_DIR/scenarios
# What every pod serves (lab/probe.py listen): TCP ports, then UDP ports.
K8S_TCP="80 5432 8080 9090"
K8S_UDP="53 5353"

pod_ns() { echo "$LAB-$1-$2"; }  # namespace, pod name

# The lab's topology, read from the Kubernetes YAML, one line per item:
#   node NAME ADDRESS/PREFIXLEN
#   pod NAMESPACE NAME NODE IP HOST-IFACE
# HOST-IFACE is Calico's: "cali" + the first 11 hex digits of
# sha1("<namespace>.<pod>").
k8s_topology() {
  python3 - "$K8S_CLUSTER" <<'PY'
import glob, hashlib, sys, yaml
docs = []
for f in sorted(glob.glob(sys.argv[1] + "/*.yaml")):
    for d in yaml.safe_load_all(open(f)):
        if not d:
            continue
        docs.extend(d.get("items", []) if d.get("kind") == "List" else [d])
for d in docs:
    if d.get("kind") == "Node":
        print("node", d["metadata"]["name"], d["metadata"]["annotations"]["projectcalico.org/IPv4Address"])
for d in docs:
    if d.get("kind") == "Pod":
        m = d["metadata"]
        iface = "cali" + hashlib.sha1(f"{m['namespace']}.{m['name']}".encode()).hexdigest()[:11]
        print("pod", m["namespace"], m["name"], d["spec"]["nodeName"], d["status"]["podIPs"][0]["ip"], iface)
PY
}

# Put the cluster and SCENARIO's policies (scenarios/SCENARIO.yaml, or
# nothing for "none") in $STATE/input, the directory netc applies.
k8s_compose() {
  local scenario=$1 dir=$STATE/input
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$K8S_CLUSTER"/*.yaml "$K8S_CLUSTER/netc.lock" "$dir"/
  if [ "$scenario" != none ]; then
    [ -f "$K8S_SCENARIOS/$scenario.yaml" ] || die "no scenario $K8S_SCENARIOS/$scenario.yaml"
    cp "$K8S_SCENARIOS/$scenario.yaml" "$dir/policy.yaml"
  fi
}

# netc apply on every node at once (each node is its own namespace, state
# and lock). FW: nftables | iptables.
k8s_apply_all() {
  local scenario=$1 fw=$2 node pids=() nodes=() i rc=0
  k8s_compose "$scenario"
  while read -r _ node _; do
    local log
    log=$(node_dir "$node")/apply.log
    echo "### netc apply $scenario ($fw) on $node" >>"$log"
    "$NETC" apply --node "$node" --netns "$(node_ns "$node")" --auto-approve --locked \
      --firewall "$fw" --bird-config "$(bird_conf "$node")" --bird-socket "$(bird_sock "$node")" \
      "$STATE/input" >>"$log" 2>&1 &
    pids+=($!)
    nodes+=("$node")
  done < <(k8s_topology | awk '$1 == "node"')
  for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
      local log
      log=$(node_dir "${nodes[$i]}")/apply.log
      sed -n '/^### netc apply '"$scenario"' ('"$fw"') on '"${nodes[$i]}"'$/,$p' "$log" >&2
      rc=1
    fi
  done
  [ $rc -eq 0 ] || die "netc apply $scenario ($fw) failed (logs: $STATE/nodes/*/apply.log)"
  log "applied $scenario ($fw) on ${nodes[*]}"
}
