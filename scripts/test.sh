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
# lab/k8s reads the lab's Kubernetes YAML with PyYAML (tests/e2e_k8s_lab.rs).
python3 -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
# tests/precommit.rs and tests/fleet_ansible.rs install pre-commit and
# ansible-core from PyPI into virtualenvs. (Debian's python3 has the venv
# module but not ensurepip's wheels: try it.)
venv_probe=$(mktemp -d)
python3 -m venv "$venv_probe/v" >/dev/null 2>&1 || need+=(python3-venv)
rm -rf "$venv_probe"
command -v git >/dev/null || need+=(git)
# tests/fleet_ansible.rs checks the systemd units with systemd-analyze.
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
