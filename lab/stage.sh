#!/usr/bin/env bash
# Move the running lab to another stage (lab/cluster/stages): compose the
# stage's YAML, build it, and `netc apply` it on every node.
#   lab/stage.sh STAGE [nftables|iptables]          apply
#   lab/stage.sh --plan STAGE [nftables|iptables]   show each node's `netc plan`, change nothing
source "$(dirname "$0")/lib.sh"

PLAN=""
if [ "${1:-}" = "--plan" ]; then PLAN=1; shift; fi
STAGE=${1:?usage: lab/stage.sh [--plan] STAGE [nftables|iptables]}
FW=${2:-nftables}
case $FW in nftables | iptables) ;; *) die "firewall must be nftables or iptables" ;; esac

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
[ -d "$STATE/nodes" ] || die "lab '$LAB' is not up: run lab/up.sh first"
find_netc

if [ -n "$PLAN" ]; then
  build_stage "$STAGE"
  for node in $(nodes_of "$STAGE"); do
    echo "### $node"
    "$NETC" plan --node "$node" --netns "$(node_ns "$node")" --firewall "$FW" \
      --bird-config "$(bird_conf "$node")" --bird-socket "$(bird_sock "$node")" \
      "$STATE/stages/$STAGE" || true
  done
  exit 0
fi

build_stage "$STAGE"
plumb_v6 "$STAGE"
for node in $(nodes_of "$STAGE"); do
  apply_node "$STAGE" "$node" "$FW"
done
echo "$STAGE" >"$STATE/stage"
log "stage '$STAGE' ($FW) applied on every node"
