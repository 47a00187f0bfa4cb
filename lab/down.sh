#!/usr/bin/env bash
# Remove everything lab/up.sh created: BIRD daemons and listeners (by their
# pid files), any other process left inside the lab's namespaces, the
# namespaces (and with them every link, address and route of the lab), and
# $STATE. Idempotent: safe to run when the lab is half up or already gone.
# Exit status 0 when nothing of the lab remains.
source "$(dirname "$0")/lib.sh"
set +e

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"

lab_namespaces() { ip netns list 2>/dev/null | awk '{ print $1 }' | grep "^$LAB-"; }

for f in "$STATE"/nodes/*/bird.pid; do
  [ -e "$f" ] && stop_pidfile "$f" bird
done
for f in "$STATE"/nodes/*/listen-*.pid; do
  [ -e "$f" ] && stop_pidfile "$f" python3
done

# Anything else still running in a lab namespace was started in it by the lab
# or its tests (pingers, probes, a BIRD whose pid file was lost).
for sig in TERM KILL; do
  pids=$(for ns in $(lab_namespaces); do ip netns pids "$ns" 2>/dev/null; done | sort -u)
  [ -n "$pids" ] || break
  log "stopping leftover processes ($sig): $(echo $pids)"
  kill -"$sig" $pids 2>/dev/null
  for _ in $(seq 30); do
    alive=""
    for p in $pids; do [ -e "/proc/$p" ] && alive=1; done
    [ -z "$alive" ] && break
    sleep 0.1
  done
done

for ns in $(lab_namespaces); do
  ip netns del "$ns" || log "could not delete namespace $ns"
done
rm -rf "$STATE"

left=$(lab_namespaces)
if [ -n "$left" ] || [ -e "$STATE" ]; then
  log "left behind: namespaces [$(echo $left)] state [$( [ -e "$STATE" ] && echo "$STATE")]"
  exit 1
fi
log "down: no namespaces, processes or files of lab '$LAB' remain"
