#!/usr/bin/env bash
# Drives the real pre-commit (from PyPI) against netc's .pre-commit-hooks.yaml.
# Called by tests/precommit.rs, which asserts on what this leaves in OUT.
#
#   run.sh REPO NETC_BIN_DIR VENV WORK [MODE]
#
# REPO          this repository (its .pre-commit-hooks.yaml and examples/)
# NETC_BIN_DIR  directory holding the netc binary under test (put on PATH)
# VENV          virtualenv with pre-commit; created if missing, reused if there
# WORK          empty scratch directory; results go to WORK/out/<scenario>.{txt,rc}
# MODE          `system` (default): the -system hooks, netc from NETC_BIN_DIR;
#               `rust`: the rust hooks, which pre-commit builds with
#               `cargo install` from a snapshot of REPO (slow: a release build;
#               set CARGO_TARGET_DIR to reuse one)
#
# Exit 0: every scenario ran (pass or fail is for the Rust test to judge).
# Exit 77: pre-commit could not be installed from PyPI (no network).
# Anything else: the set-up itself failed.
set -euo pipefail
repo=$1 bindir=$2 venv=$3 work=$4 mode=${5:-system}
out=$work/out
mkdir -p "$out"

command -v git >/dev/null || { echo "git is not installed" >&2; exit 3; }

# --- pre-commit from PyPI, in a virtualenv cached across runs ---------------
if ! "$venv/bin/pre-commit" --version >/dev/null 2>&1; then
  rm -rf "$venv"
  python3 -m venv "$venv" || { echo "python3 -m venv failed (is python3-venv installed?)" >&2; exit 3; }
  if ! "$venv/bin/python" -m pip install --disable-pip-version-check --retries 1 --timeout 30 -q \
      'pre-commit>=3,<5' >"$work/pip.log" 2>&1; then
    cat "$work/pip.log" >&2
    rm -rf "$venv"
    exit 77
  fi
fi
"$venv/bin/pre-commit" --version

git_() { git -c user.name=netc-test -c user.email=netc-test@example.invalid -c init.defaultBranch=main -c commit.gpgsign=false "$@"; }

# --- the hook repository -----------------------------------------------------
# system: the `-system` hooks run the netc on PATH, so the hook repository
#   needs only the manifest.
# rust: pre-commit builds netc from the hook repository, so it holds the
#   sources: every file git knows or would add in REPO.
# Either way it is the working copy's state, committed or not.
hooks=$work/hooks
mkdir -p "$hooks"
if [ "$mode" = rust ]; then
  hook_id=netc-validate
  (cd "$repo" && git ls-files -z --cached --others --exclude-standard \
     | tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$hooks"
else
  hook_id=netc-validate-system
  cp "$repo/.pre-commit-hooks.yaml" "$hooks/"
fi
git_ -C "$hooks" init -q
git_ -C "$hooks" add -A
git_ -C "$hooks" commit -q -m "netc hooks"
rev=$(git -C "$hooks" rev-parse HEAD)

# --- a user's repository: a netc tree plus unrelated YAML --------------------
sample=$work/sample
mkdir -p "$sample/network" "$sample/.github/workflows" "$sample/deploy"
cp "$repo"/examples/*.yaml "$repo/examples/netc.lock" "$sample/network/"
cat >"$sample/.github/workflows/ci.yml" <<'YAML'
name: ci
on: [push, pull_request]
jobs:
  validate:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: netc validate --format github network/
YAML
# Unrelated YAML outside the tree: not a Calico resource, never validated.
cat >"$sample/deploy/values.yml" <<'YAML'
replicas: 3
image: example/app:1.0
YAML
cat >"$sample/.pre-commit-config.yaml" <<YAML
repos:
  - repo: $hooks
    rev: $rev
    hooks:
      - id: $hook_id
        args: [network/]
YAML
git_ -C "$sample" init -q
git_ -C "$sample" add -A
git_ -C "$sample" commit -q -m "cluster"

if [ "$mode" = system ]; then
  export PATH="$bindir:$PATH"
fi
export PRE_COMMIT_HOME=$work/pre-commit-home
export PRE_COMMIT_COLOR=never
run() { # scenario-name pre-commit-args...
  local name=$1; shift
  local rc=0
  (cd "$sample" && "$venv/bin/pre-commit" run "$@") >"$out/$name.txt" 2>&1 || rc=$?
  echo "$rc" >"$out/$name.rc"
  echo "--- $name (exit $rc)"; cat "$out/$name.txt"
}

# 1. the valid tree passes
run valid --all-files
# 2. only one file changed, which refers to resources in others
#    (BGPPeer rack2-tor names node rack2-node1 from nodes.yaml): still passes
run one-file --files network/bgp.yaml
# 3. only unrelated YAML changed: the hook does not run
run unrelated --files .github/workflows/ci.yml .pre-commit-config.yaml
# 4. a broken resource fails, with the diagnostic's code and file:line:column
sed -i 's|cidr: 10.244.0.0/16|cidr: 10.244.0.1/16|' "$sample/network/pools.yaml"
grep -q 'cidr: 10.244.0.1/16' "$sample/network/pools.yaml"
git_ -C "$sample" add -A
run broken --all-files
# 5. a change that breaks a cross-resource rule, seen from another file:
#    remove the node that bgp.yaml's peer names, change only nodes.yaml
git_ -C "$sample" checkout -q HEAD -- network/pools.yaml
sed -i 's/rack2-node1/rack2-node9/' "$sample/network/nodes.yaml"
grep -q 'rack2-node9' "$sample/network/nodes.yaml"
git_ -C "$sample" add -A
run cross --files network/nodes.yaml
