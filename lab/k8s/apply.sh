#!/usr/bin/env bash
# Apply one scenario's NetworkPolicies (lab/k8s/scenarios/SCENARIO.yaml, or
# "none" for no policy) on both nodes of the running k8s lab.
# Usage: lab/k8s/apply.sh SCENARIO [nftables|iptables]
source "$(dirname "$0")/lib.sh"
SCENARIO=${1:?usage: lab/k8s/apply.sh SCENARIO|none [nftables|iptables]}
FW=${2:-nftables}
case $FW in nftables | iptables) ;; *) die "firewall must be nftables or iptables" ;; esac
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
[ -f "$STATE/topology" ] || die "lab '$LAB' is not up: run lab/k8s/up.sh first"
find_netc
k8s_apply_all "$SCENARIO" "$FW"
