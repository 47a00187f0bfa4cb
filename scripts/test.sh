#!/usr/bin/env bash
# The test command (README "Set-up", step 2; .ci/run calls it too).
# Installs the real tools the tests check artifacts with and apply to network
# namespaces — nftables, iptables, iproute2, BIRD 2 — then runs every test.
# Needs root for the namespace tests; with CI=true they fail instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v nft >/dev/null || need+=(nftables)
command -v iptables-restore >/dev/null || need+=(iptables)
command -v ip >/dev/null || need+=(iproute2)
command -v bridge >/dev/null || need+=(iproute2)
command -v bird >/dev/null || need+=(bird2)
command -v ping >/dev/null || need+=(iputils-ping)
command -v python3 >/dev/null || need+=(python3)
# tests/fleet_ansible.rs: a venv for ansible-core, systemd-analyze for the units.
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
command -v systemd-analyze >/dev/null || need+=(systemd)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: ${need[*]} (run as root, or install them)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The bird2 package may start a system daemon; tests run their own.
  (systemctl stop bird 2>/dev/null || true)
fi

cargo test --workspace --all-targets "$@"
