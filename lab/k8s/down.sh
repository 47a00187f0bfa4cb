#!/usr/bin/env bash
# Remove everything lab/k8s/up.sh created (lab/down.sh does it for any lab
# prefix: listeners and BIRD by pid file, leftover processes, namespaces,
# the state directory). Idempotent.
export NETC_LAB=${NETC_LAB:-k8slab}
exec "$(dirname "$0")/../down.sh"
