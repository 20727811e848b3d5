#!/usr/bin/env bash
# Stops the daemons that tests/slurm/start-cluster.sh started, by their recorded PIDs (never by name).
# Keeps $SLURM_TEST_DIR (logs) and /etc/slurm/slurm.conf; the next start-cluster.sh overwrites both.
set -euo pipefail

STATE=${SLURM_TEST_DIR:-/tmp/patchseq-slurm}
PIDS=$STATE/pids
[ -s "$PIDS" ] || { echo "[slurm-test] nothing recorded in $PIDS" >&2; exit 0; }

# slurmd first, then slurmctld, munged last (both SLURM daemons authenticate through it while shutting down)
for name in slurmd slurmctld munged; do
    while read -r n pid; do
        [ "$n" = "$name" ] && kill "$pid" 2>/dev/null || true
    done <"$PIDS"
done
for _ in $(seq 100); do
    alive=0
    while read -r _ pid; do kill -0 "$pid" 2>/dev/null && alive=1; done <"$PIDS"
    [ "$alive" = 0 ] && break
    sleep 0.1
done
while read -r n pid; do
    if kill -0 "$pid" 2>/dev/null; then
        echo "[slurm-test] $n ($pid) still alive after 10 s: SIGKILL" >&2
        kill -9 "$pid" 2>/dev/null || true
    fi
done <"$PIDS"
: >"$PIDS"
echo "[slurm-test] stopped" >&2
