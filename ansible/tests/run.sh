#!/usr/bin/env bash
# The fleet test: the netc.netc collection rolls a cluster out to
# the namespace lab (lab/up.sh) for real, with ansible-core from PyPI.
#
#   ansible/tests/run.sh            as root; tests/fleet_ansible.rs runs it
#
# Inventory: the lab's four nodes r1n1 r1n2 r2n1 r2n2, `ansible_connection:
# local`, each with `netc_netns` = its namespace. The cluster is lab/cluster/base
# with a node-mesh BGP password (secretKeyRef) whose value is in an
# ansible-vault encrypted group_vars file. Desired states:
#   v0  base + mesh password                         (bootstrap)
#   v1  v0 + policy for app db/legacy                (changes r1n2, r2n2 only)
#   v2  v1 + policy for every workload               (changes all four)
# Scenarios:
#   0  bootstrap v0 through the playbook (wait disabled: the mesh password
#      cannot come up until every peer has it), then every session Established
#   A  --check --diff to v1: netc_apply reports changed on r1n2 and r2n2 only,
#      the diff is the plan, and nothing changes on any node
#   B  the rollout converges v1: r1n2, r2n2 applied and confirmed
#   C  a second run: changed=0 on every host
#   D  v2 with r2n1 broken (a wrong BGP password in its host_vars): batch 1
#      (r1n1) is applied and confirmed; batch 2 (r1n2, r2n1) is applied, r2n1's
#      sessions never come up, the wait fails and max_fail_percentage: 0 stops
#      the rollout; nothing confirms batch 2, so both revert by themselves to
#      v1; r2n2 is never touched; the sessions all come back
#   E  netc_plan: drift detection, and a failure carries netc's diagnostic
#   F  contrib/systemd/netc-drift writes the drift metric (0 on r1n1, 1 on r2n2)
#   and the vaulted password never appears in any output (one run is -vvv).
#
# Exit: 0 pass, 77 skipped (not root, or no PyPI outside CI), else failure.
# Everything (namespaces, BIRD, reverters, files) is removed on exit, also on
# failure. Environment: NETC (binary), FLEET_VENV (venv, cached), CI.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
export NETC_LAB=netcfleet
export NETC_LAB_STATE=/tmp/netcfleet
STATE=$NETC_LAB_STATE
WORK=/tmp/netcfleet-work
CONFIRM_WITHIN=30
LOGS=${FLEET_LOGS:-${CARGO_TARGET_DIR:-$REPO/target}/tmp/fleet-logs}
CI=${CI:-}

say() { printf '[fleet] %s\n' "$*" >&2; }
fail() { printf '[fleet] FAIL: %s\n' "$*" >&2; exit 1; }
skip() {
  if [ "$CI" = true ]; then fail "$* (CI=true: a skip is a failure)"; fi
  printf '[fleet] SKIP: %s\n' "$*" >&2
  exit 77
}

[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces)"
for c in ip bridge bird birdc nft iptables-restore python3; do
  command -v "$c" >/dev/null || skip "missing command: $c"
done
NETC=${NETC:-$REPO/target/debug/netc}
[ -x "$NETC" ] || fail "no netc binary at $NETC (cargo build, or set NETC)"
export NETC

# --- ansible-core in a cached venv under target/ ----------------------------
VENV=${FLEET_VENV:-${CARGO_TARGET_DIR:-$REPO/target}/fleet/venv}
ANSIBLE_SPEC='ansible-core>=2.15,<2.20'
if ! "$VENV/bin/python" -c 'import ansible' 2>/dev/null; then
  say "creating $VENV and installing $ANSIBLE_SPEC from PyPI"
  python3 -m venv "$VENV" || skip "python3 -m venv failed (python3-venv missing?)"
  "$VENV/bin/pip" install -q --disable-pip-version-check "$ANSIBLE_SPEC" \
    || { rm -rf "$VENV"; skip "pip install $ANSIBLE_SPEC failed (no PyPI?)"; }
fi
export PATH="$VENV/bin:$PATH"
say "$(ansible --version 2>&1 | sed -n 1p)"

# --- clean up everything, also on failure ------------------------------------
reverters() {
  # netc's detached reverters of this test: `netc confirm --revert-worker FILE`
  # with FILE under our NETC_STATE_DIR ($WORK/netc-state).
  grep -las -- "--revert-worker" /proc/[0-9]*/cmdline 2>/dev/null \
    | xargs -r grep -las -- "$WORK/netc-state/" 2>/dev/null | cut -d/ -f3
  return 0
}
cleanup() {
  local rc=$? p alive
  set +e
  # Keep the logs for a look afterwards.
  if [ -d "$WORK/logs" ]; then
    rm -rf "$LOGS" && mkdir -p "$(dirname "$LOGS")" && cp -r "$WORK/logs" "$LOGS" && say "logs: $LOGS"
  fi
  for p in $(reverters); do kill "$p" 2>/dev/null; done
  # Stop the lab's processes (BIRD, listeners) all at once: lab/down.sh stops
  # them one by one, which takes ~2 s each on a busy machine.
  local pids
  pids=$(for n in $(ip netns list | awk '{ print $1 }' | grep "^$NETC_LAB-"); do ip netns pids "$n"; done)
  if [ -n "$pids" ]; then
    kill -TERM $pids 2>/dev/null
    for _ in $(seq 50); do
      alive=""
      for p in $pids; do [ -e "/proc/$p" ] && alive=1 && break; done
      [ -z "$alive" ] && break
      sleep 0.1
    done
  fi
  "$REPO/lab/down.sh" >/dev/null 2>&1 || "$REPO/lab/down.sh"
  rm -rf "$WORK"
  if ip netns list | grep -q "^$NETC_LAB-" || [ -e "$STATE" ] || [ -e "$WORK" ] || [ -n "$(reverters)" ]; then
    say "cleanup left something behind"
    [ $rc -eq 0 ] && rc=1
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for p in $(reverters); do kill "$p" 2>/dev/null || true; done
"$REPO/lab/down.sh" >/dev/null 2>&1 || true
rm -rf "$WORK"
mkdir -p "$WORK"/{report,logs,tmp,ansible-home,textfile}
export NETC_STATE_DIR=$WORK/netc-state NETC_RUN_DIR=$WORK/netc-run
export ANSIBLE_HOME=$WORK/ansible-home ANSIBLE_LOCAL_TEMP=$WORK/tmp ANSIBLE_REMOTE_TEMP=$WORK/tmp
export ANSIBLE_COLLECTIONS_PATH=$WORK/collections ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0
export ANSIBLE_VAULT_PASSWORD_FILE=$WORK/vault-pass ANSIBLE_FORKS=4 ANSIBLE_DEPRECATION_WARNINGS=0 ANSIBLE_PIPELINING=1
export ANSIBLE_LOG_PATH=$WORK/logs/ansible.log
T0=$(date +%s)
elapsed() { echo "$(($(date +%s) - T0))s"; }

# --- the lab: namespaces, workloads, BIRD (lab/up.sh applies stage "mesh") ---
"$REPO/lab/up.sh" mesh 2>"$WORK/logs/up.log" || { cat "$WORK/logs/up.log" >&2; fail "lab/up.sh"; }
say "lab up ($(elapsed))"
NODES="r1n1 r1n2 r2n1 r2n2"
ns() { echo "$NETC_LAB-$1"; }
sock() { echo "$STATE/nodes/$1/bird.ctl"; }
conf() { echo "$STATE/nodes/$1/bird.conf"; }

# --- desired states ------------------------------------------------------------
PW=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20)
BAD_PW=wrong-$PW
mkdir -p "$WORK/v0"
cp "$REPO"/lab/cluster/base/* "$WORK/v0/"
cat >"$WORK/v0/bgp.yaml" <<'EOF'
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata:
  name: default
spec:
  logSeverityScreen: Info
  nodeToNodeMeshEnabled: true
  asNumber: 64512
  nodeMeshPassword:
    secretKeyRef:
      name: bgp-secrets
      key: mesh
EOF
cp -r "$WORK/v0" "$WORK/v1"
cat >"$WORK/v1/policy-db.yaml" <<'EOF'
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: db-ingress
spec:
  selector: app == 'db' || app == 'legacy'
  ingress:
  - action: Allow
    protocol: TCP
    destination:
      ports: [5432]
EOF
cp -r "$WORK/v1" "$WORK/v2"
cat >"$WORK/v2/policy-all.yaml" <<'EOF'
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: icmp-everywhere
spec:
  selector: all()
  ingress:
  - action: Allow
    protocol: ICMP
EOF
printf 'bgp-secrets:\n  mesh: %s\n' "$PW" >"$WORK/secrets.yaml"
chmod 600 "$WORK/secrets.yaml"
# The controller's working copy of the repository (`git checkout vN`).
checkout() { rm -rf "$WORK/cluster"; cp -r "$WORK/$1" "$WORK/cluster"; }

# --- the collection, built and installed as a user would ---------------------
ansible-galaxy collection build "$REPO/ansible" --output-path "$WORK" --force >"$WORK/logs/build.log"
ansible-galaxy collection install -p "$WORK/collections" "$WORK"/netc-netc-*.tar.gz --force >>"$WORK/logs/build.log"

# --- inventory, vault ---------------------------------------------------------
INV=$WORK/inventory
mkdir -p "$INV/group_vars/all" "$INV/host_vars"
head -c 24 /dev/urandom | base64 >"$WORK/vault-pass"
chmod 600 "$WORK/vault-pass"
{
  echo "netc_nodes:"
  echo "  hosts:"
  for n in $NODES; do
    cat <<EOF
    $n:
      netc_netns: $(ns "$n")
      netc_dir: $WORK/hosts/$n
      netc_bird_config: $(conf "$n")
      netc_bird_socket: $(sock "$n")
EOF
  done
  cat <<EOF
  vars:
    ansible_connection: local
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    netc_binary: $NETC
    netc_confirm_within: ${CONFIRM_WITHIN}s
    netc_wait_retries: 5
    netc_wait_delay: 2
EOF
} >"$INV/hosts.yml"
cat >"$INV/group_vars/all/main.yml" <<EOF
netc_input_src: $WORK/cluster
netc_controller_binary: $NETC
EOF
printf 'netc_bgp_secrets:\n  bgp-secrets:\n    mesh: "%s"\n' "$PW" >"$INV/group_vars/all/vault.yml"
ansible-vault encrypt "$INV/group_vars/all/vault.yml" >/dev/null 2>&1
grep -q '^\$ANSIBLE_VAULT' "$INV/group_vars/all/vault.yml" || fail "vault file not encrypted"

# run NAME [ansible-playbook args]: the rollout (wrapped in tests/report.yml),
# output in logs/NAME.log, per-node netc_apply result in report/NAME/<node>.json.
run() {
  local name=$1 rc=0
  shift
  mkdir -p "$WORK/report/$name"
  ansible-playbook -i "$INV/hosts.yml" "$HERE/report.yml" -e "fleet_report_dir=$WORK/report/$name" "$@" \
    >"$WORK/logs/$name.log" 2>&1 || rc=$?
  say "run $name: exit $rc ($(elapsed))"
  return $rc
}
show() { sed -n '/PLAY RECAP/,$p' "$WORK/logs/$1.log" >&2; }
# changed flag of the netc_apply task on NODE in run NAME
applied() { python3 -c 'import json,sys; print(str(json.load(open(sys.argv[1]))["changed"]).lower())' "$WORK/report/$1/$2.json"; }
# netc plan on NODE against desired state DIR: exit 0 (matches) or 2
plan_rc() {
  local rc=0
  "$NETC" plan --detailed-exitcode --node "$1" --netns "$(ns "$1")" --bird-config "$(conf "$1")" \
    --bird-socket "$(sock "$1")" --secrets "$WORK/secrets.yaml" "$WORK/$2" >"$WORK/logs/plan-$1-$2.log" 2>&1 || rc=$?
  echo $rc
}
expect_state() { # NODE VERSION: the node matches it exactly
  local rc
  rc=$(plan_rc "$1" "$2")
  [ "$rc" = 0 ] || { cat "$WORK/logs/plan-$1-$2.log" >&2; fail "$1 does not match $2 (plan exit $rc)"; }
}
pending() { [ -e "$NETC_STATE_DIR/netns-$(ns "$1")/pending.json" ]; }
established() { # every BGP protocol of NODE Established (and at least one)
  ip netns exec "$(ns "$1")" birdc -s "$(sock "$1")" show protocols 2>/dev/null \
    | awk '$2 == "BGP" { n++; if ($0 !~ /Established/) d++ } END { exit !(n > 0 && d == 0) }'
}
wait_established() {
  local n i
  for n in $NODES; do
    for i in $(seq 60); do established "$n" && break; sleep 1; done
    established "$n" || {
      ip netns exec "$(ns "$n")" birdc -s "$(sock "$n")" show protocols >&2
      fail "$n: BGP sessions not Established after 60s ($1)"
    }
  done
}

# --- 0: bootstrap v0 through the playbook, one batch, no wait ---------------------
checkout v0
run bootstrap -e netc_wait_command=true -e '{"netc_serial": ["100%"]}' || { show bootstrap; cat "$WORK/logs/bootstrap.log" >&2; fail "bootstrap run"; }
wait_established "after bootstrap"
for n in $NODES; do expect_state "$n" v0; pending "$n" && fail "$n: bootstrap left an unconfirmed apply"; done
for n in $NODES; do
  [ "$(stat -c %a "$WORK/hosts/$n/bgp.secrets.yaml")" = 600 ] || fail "$n: secrets file is not mode 0600"
done
say "0 bootstrap: v0 on every node, all sessions Established, secrets files 0600 ($(elapsed))"

# --- A: check mode ---------------------------------------------------------------
checkout v1
run check --check --diff -vvv || { show check; cat "$WORK/logs/check.log" >&2; fail "check-mode run"; }
for n in $NODES; do
  want=false
  case $n in r1n2 | r2n2) want=true ;; esac
  [ "$(applied check "$n")" = $want ] || { show check; fail "check mode: netc_apply changed on $n is $(applied check "$n"), want $want"; }
  expect_state "$n" v0
  diff -r -x .netc-bundle "$WORK/v0" "$WORK/hosts/$n/cluster" >/dev/null || fail "check mode changed $n's inputs"
  pending "$n" && fail "check mode left an apply pending on $n"
done
grep -q 'db-ingress' "$WORK/logs/check.log" || fail "check --diff does not show the plan (no db-ingress in the output)"
grep -q '^Plan: ' "$WORK/logs/check.log" || fail "check --diff does not show the plan summary"
say "A check mode: netc_apply changed on r1n2 r2n2 only, the diff is the plan, nothing changed ($(elapsed))"

# --- B: converge -------------------------------------------------------------------
run converge --diff || { show converge; cat "$WORK/logs/converge.log" >&2; fail "converge run"; }
for n in $NODES; do
  want=false
  case $n in r1n2 | r2n2) want=true ;; esac
  [ "$(applied converge "$n")" = $want ] || fail "converge: netc_apply changed on $n is $(applied converge "$n"), want $want"
  expect_state "$n" v1
  pending "$n" && fail "converge: $n is not confirmed"
done
for n in r1n2 r2n2; do
  python3 -c 'import json,sys; sys.exit(not json.load(open(sys.argv[1]))["pending"])' "$WORK/report/converge/$n.json" \
    || fail "converge: $n's apply was not commit-confirmed"
done
wait_established "after converge"
say "B converge: v1 on every node, r1n2 r2n2 applied and confirmed ($(elapsed))"

# --- C: idempotence ---------------------------------------------------------------
run again || { show again; fail "second run"; }
recap=$(sed -n '/PLAY RECAP/,$p' "$WORK/logs/again.log")
for n in $NODES localhost; do
  grep -Eq "^$n +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0" <<<"$recap" || { echo "$recap" >&2; fail "second run: $n is not changed=0 failed=0"; }
done
say "C second run: changed=0 on every host ($(elapsed))"

# --- D: a broken batch stops the rollout ----------------------------------------------
checkout v2
mkdir -p "$INV/host_vars/r2n1"
printf 'netc_bgp_secrets:\n  bgp-secrets:\n    mesh: "%s"\n' "$BAD_PW" >"$INV/host_vars/r2n1/vault.yml"
ansible-vault encrypt "$INV/host_vars/r2n1/vault.yml" >/dev/null 2>&1
if run broken; then show broken; fail "the rollout with a broken host succeeded"; fi
rm -rf "$INV/host_vars/r2n1"
log=$WORK/logs/broken.log
grep -q 'Wait until the node.s BGP sessions are Established' "$log" || fail "broken: the wait task did not run"
grep -Eq '^fatal: \[r2n1\]' "$log" || { show broken; fail "broken: r2n1 did not fail"; }
# r2n2, the third batch, was never started.
grep -Eq '^(ok|changed|skipping|fatal|failed): \[r2n2[] ]' "$log" && fail "broken: r2n2 (a later batch) was touched"
diff -r -x .netc-bundle "$WORK/v1" "$WORK/hosts/r2n2/cluster" >/dev/null || fail "broken: r2n2's inputs changed"
expect_state r2n2 v1
# r1n1, the canary, is done: v2, confirmed.
expect_state r1n1 v2
pending r1n1 && fail "broken: r1n1 (canary) is not confirmed"
# Batch 2 was applied and never confirmed: it reverts by itself.
for n in r1n2 r2n1; do
  pending "$n" || fail "broken: $n has no pending apply (was it applied? confirmed?)"
done
say "D broken batch: rollout stopped, r1n1 kept v2, r2n2 untouched, r1n2 r2n1 waiting to revert ($(elapsed))"
for i in $(seq $((CONFIRM_WITHIN + 30))); do
  pending r1n2 || pending r2n1 || break
  sleep 1
done
for n in r1n2 r2n1; do
  pending "$n" && fail "broken: $n did not revert within ${CONFIRM_WITHIN}s + 30s"
  expect_state "$n" v1
  grep -qi 'revert' "$NETC_STATE_DIR/netns-$(ns "$n")/revert.log" || fail "$n: no revert in revert.log"
done
wait_established "after the revert"
say "D reverted: r1n2 r2n1 back on v1 by themselves, all sessions Established ($(elapsed))"

# --- E: netc_plan: drift, and netc's diagnostics in failures -------------------
adhoc() { ansible -i "$INV/hosts.yml" "$1" -m netc.netc.netc_plan -a "$2" >"$WORK/logs/$3.log" 2>&1; }
# JSON module arguments: `secrets` is the vaulted dict itself (the module
# writes it to a private temporary file).
args() { # NODE SRC
  printf '{"node": "%s", "src": ["%s"], "binary": "%s", "netns": "%s", "bird_config": "%s", "bird_socket": "%s", "secrets": "{{ netc_bgp_secrets }}"}' \
    "$1" "$2" "$NETC" "$(ns r2n2)" "$(conf r2n2)" "$(sock r2n2)"
}
adhoc r2n2 "$(args r2n2 "$WORK/v2")" drift || { cat "$WORK/logs/drift.log" >&2; fail "netc_plan drift"; }
grep -q '"changed": true' "$WORK/logs/drift.log" || fail "netc_plan: r2n2 vs v2 should report changed (drift)"
adhoc r2n2 "$(args r2n2 "$WORK/v1")" nodrift || { cat "$WORK/logs/nodrift.log" >&2; fail "netc_plan no drift"; }
grep -q '"changed": false' "$WORK/logs/nodrift.log" || fail "netc_plan: r2n2 vs v1 should report changed=false"
if adhoc r2n2 "$(args nosuchnode "$WORK/v1")" diag; then fail "netc_plan with an unknown node succeeded"; fi
grep -q 'node `nosuchnode` is not declared' "$WORK/logs/diag.log" || { cat "$WORK/logs/diag.log" >&2; fail "the failure does not carry netc's diagnostic"; }
ls /tmp/netc-*.secrets.yaml >/dev/null 2>&1 && fail "netc_plan left a secrets file in /tmp"
say "E netc_plan: drift reported as changed, failures carry netc's diagnostic ($(elapsed))"

# --- F: the systemd drift wrapper -------------------------------------------------
drift_metric() { # NODE VERSION -> prints netc_drift value
  NETC_NODE=$1 NETC_INPUT=$WORK/$2 NETC_TEXTFILE_DIR=$WORK/textfile \
    NETC_ARGS="--netns $(ns "$1") --bird-config $(conf "$1") --bird-socket $(sock "$1") --secrets $WORK/secrets.yaml" \
    "$REPO/contrib/systemd/netc-drift" >"$WORK/logs/drift-$1.log" 2>&1 || { cat "$WORK/logs/drift-$1.log" >&2; fail "netc-drift on $1"; }
  awk '$1 ~ /^netc_drift\{/ { print $2 }' "$WORK/textfile/netc.prom"
}
[ "$(drift_metric r1n1 v2)" = 0 ] || fail "netc-drift: r1n1 vs v2 should be 0"
[ "$(drift_metric r2n2 v2)" = 1 ] || { cat "$WORK/textfile/netc.prom" >&2; fail "netc-drift: r2n2 vs v2 should be 1"; }
grep -q 'drift' "$WORK/logs/drift-r2n2.log" || fail "netc-drift did not log the drift"
say "F netc-drift: metric 0 on r1n1, 1 on r2n2 ($(elapsed))"

# --- the password is never logged ----------------------------------------------------
if grep -rl -- "$PW" "$WORK/logs" "$WORK/report"; then fail "the BGP password appears in the output above"; fi
say "the vaulted password appears in no output (one run at -vvv) ($(elapsed))"
say "PASS ($(elapsed))"
