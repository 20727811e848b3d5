#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, for the SLURM integration test (tests/integration/test_slurm.py).
# Debian 12, run as root, no systemd needed. Idempotent: installs slurm-wlm + munge only when missing, and returns
# at once when the cluster of this script is already up. Stop it with tests/slurm/stop-cluster.sh.
#
# Job status: squeue (no accounting database). Run Snakemake with `--slurm-status-command squeue` and
# `--slurm-init-seconds-before-status-checks <= 200` (MinJobAge=7200 below must be >= 3x that value, or the plugin
# falls back to sacct, which hangs without accounting). See tests/slurm/README.md.
#
# Environment: SLURM_TEST_DIR (state, logs, PIDs; default /tmp/patchseq-slurm), SLURM_TEST_PARTITION (default
# "test"), SLURM_TEST_TIMEOUT (seconds to wait for the node, default 60).
set -euo pipefail

START=$(date +%s.%N)
STATE=${SLURM_TEST_DIR:-/tmp/patchseq-slurm}
PARTITION=${SLURM_TEST_PARTITION:-test}
TIMEOUT=${SLURM_TEST_TIMEOUT:-60}
CONF=/etc/slurm/slurm.conf   # jobs lose SLURM_CONF (the jobstep plugin strips it): the config must be here
MARKER="# written by patchseq tests/slurm/start-cluster.sh"
PIDS=$STATE/pids

log() { printf '[slurm-test] %s\n' "$*" >&2; }
elapsed() { awk -v s="$START" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }

if [ "$(id -u)" -ne 0 ]; then
    log "must run as root (installs packages, writes $CONF, runs slurmd)"
    exit 1
fi

node_state() { sinfo -h -o %T 2>/dev/null | head -n1 | tr -d '*~#!%$@^-'; }

running() {  # every recorded daemon alive
    [ -s "$PIDS" ] || return 1
    local pid
    while read -r _ pid; do kill -0 "$pid" 2>/dev/null || return 1; done <"$PIDS"
}

if running && [[ "$(node_state)" =~ ^(idle|mixed|allocated)$ ]]; then
    log "already running (state in $STATE); elapsed $(elapsed) s"
    exit 0
fi

# --- packages ---------------------------------------------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    log "installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

# --- configuration ----------------------------------------------------------------------------------------------
if [ -f "$CONF" ] && ! grep -qF "$MARKER" "$CONF"; then
    log "$CONF exists and was not written by this script: refusing to overwrite a real cluster's configuration"
    exit 1
fi
# Left over from an earlier run (killed, or a previous container state): stop it before starting afresh.
if [ -s "$PIDS" ]; then
    "$(dirname "$0")/stop-cluster.sh" || true
fi
mkdir -p "$STATE"/{ctld,spool,log,run} /etc/slurm
HOST=$(hostname -s)
NODE_LINE=$(slurmd -C | head -n1)   # NodeName=<host> CPUs=... RealMemory=...
NODE_NAME=$(sed -E 's/^NodeName=([^ ]+).*/\1/' <<<"$NODE_LINE")
cat >"$CONF.tmp" <<EOF
$MARKER -- a throw-away single-node cluster for tests.
ClusterName=patchseqtest
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MailProg=/bin/true
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
ReturnToService=2
# Finished jobs stay visible to squeue for 2 h: the plugin's squeue status needs MinJobAge >= 3x its first delay, and
# the test lists every job of a run that can itself take > 10 min on a busy 2-core machine (600 s lost the first ones).
MinJobAge=7200
MpiDefault=none
SchedulerType=sched/backfill
$NODE_LINE State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE_NAME Default=YES MaxTime=INFINITE State=UP
EOF
mv "$CONF.tmp" "$CONF"

# --- munge ------------------------------------------------------------------------------------------------------
if [ ! -s /etc/munge/munge.key ]; then
    log "creating the munge key"
    if command -v mungekey >/dev/null; then mungekey --create --force; else
        dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
fi
mkdir -p /run/munge
chown munge:munge /run/munge
MUNGED_PID=""   # recorded (and later stopped) only when this script starts munged
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged   # refuses to run as root ("Logfile is insecure"); daemonises itself
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
    MUNGED_PID=$(cat /run/munge/munged.pid)
fi

# --- daemons ----------------------------------------------------------------------------------------------------
: >"$PIDS"
[ -n "$MUNGED_PID" ] && echo "munged $MUNGED_PID" >>"$PIDS"
setsid slurmctld -D -f "$CONF" >>"$STATE/log/slurmctld.out" 2>&1 </dev/null &
echo "slurmctld $!" >>"$PIDS"
setsid slurmd -D -f "$CONF" >>"$STATE/log/slurmd.out" 2>&1 </dev/null &
echo "slurmd $!" >>"$PIDS"

DEADLINE=$(($(date +%s) + TIMEOUT))
until [ "$(node_state)" = idle ]; do
    if [ "$(date +%s)" -ge "$DEADLINE" ] || ! running; then
        log "node not idle after ${TIMEOUT}s (state: '$(node_state)'); logs in $STATE/log"
        tail -n 20 "$STATE"/log/*.log >&2 || true
        exit 1
    fi
    sleep 0.5
done
log "cluster up: partition $PARTITION on $NODE_NAME ($(sed -E 's/.*(CPUs=[0-9]+).*(RealMemory=[0-9]+).*/\1 \2/' \
    <<<"$NODE_LINE")); state in $STATE"
echo "SLURM set-up: $(elapsed) s"
