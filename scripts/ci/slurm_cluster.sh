#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, for the SLURM test (tests/test_slurm.py) and CI.
#   bash scripts/ci/slurm_cluster.sh start   # install what is missing, configure, start, wait until idle
#   bash scripts/ci/slurm_cluster.sh stop    # stop the daemons this script starts (by their pid files)
#   bash scripts/ci/slurm_cluster.sh status  # exit 0 when the node is up
# `start` is idempotent: it installs Debian slurmctld, slurmd and munge and the carvis[slurm] Python extra only when
# missing, rewrites /etc/slurm/slurm.conf only when it changed, and starts only daemons that are not running.
# Daemons run directly as root (no systemd). No slurmdbd: no accounting, so snakemake needs
# `--slurm-no-account --slurm-status-command squeue`, which needs MinJobAge >= 120 s (set to 300 here).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
python="${PYTHON:-python3}"
conf=/etc/slurm/slurm.conf
logs=/var/log/slurm
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

say() { echo "slurm_cluster: $*"; }

node_up() {
    # The node answers and is usable (idle, mixed or allocated).
    sinfo --noheader --format=%t 2>/dev/null | grep -qE '^(idle|mix|alloc)'
}

install_missing() {
    local missing=()
    command -v slurmctld >/dev/null 2>&1 || missing+=(slurmctld)
    command -v slurmd >/dev/null 2>&1 || missing+=(slurmd)
    command -v sbatch >/dev/null 2>&1 || missing+=(slurm-client)
    command -v munged >/dev/null 2>&1 || missing+=(munge)
    if [ "${#missing[@]}" -gt 0 ]; then
        say "installing ${missing[*]} (Debian packages)"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    if ! "$python" -c "import snakemake_executor_plugin_slurm" >/dev/null 2>&1; then
        say "installing the carvis[slurm] extra (snakemake-executor-plugin-slurm, pip)"
        "$python" -m pip install -q --disable-pip-version-check -e "${here}[slurm]"
    fi
}

write_conf() {
    # This machine as the only node: its hostname, CPUs and memory as slurmd itself detects them.
    local host node new
    host="$(hostname -s)"
    node="$(slurmd -C | head -1 | sed "s/^NodeName=[^ ]*/NodeName=$host/")"
    new="$(cat <<EOF
# Written by carvis scripts/ci/slurm_cluster.sh: a single-node test cluster, daemons and jobs run as root.
ClusterName=carvis
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=300
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$logs/slurmctld.log
SlurmdLogFile=$logs/slurmd.log
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
)"
    if [ "$(cat "$conf" 2>/dev/null)" != "$new" ]; then
        say "writing $conf ($node)"
        $sudo mkdir -p /etc/slurm
        printf '%s\n' "$new" | $sudo tee "$conf" >/dev/null
    fi
}

running() {
    # The process in pid file $1 is alive.
    [ -s "$1" ] && $sudo kill -0 "$(cat "$1")" 2>/dev/null
}

start_daemons() {
    $sudo mkdir -p /var/spool/slurmctld /var/spool/slurmd "$logs" /run/munge
    $sudo chown munge:munge /run/munge
    if [ ! -s /etc/munge/munge.key ]; then
        $sudo mungekey --create --keyfile=/etc/munge/munge.key
        $sudo chown munge:munge /etc/munge/munge.key
        $sudo chmod 0400 /etc/munge/munge.key
    fi
    running /run/munge/munged.pid || $sudo runuser -u munge -- munged
    running /run/slurmctld.pid || $sudo slurmctld
    running /run/slurmd.pid || $sudo slurmd
}

wait_idle() {
    local waited=0
    until node_up; do
        if [ "$waited" -ge 60 ]; then
            say "the node did not come up within 60 s; sinfo says:" >&2
            sinfo >&2 || true
            tail -n 20 "$logs/slurmctld.log" "$logs/slurmd.log" >&2 || true
            exit 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    say "ready: $(sinfo --noheader --format='%P %D node(s) %c CPUs %m MB %t')"
}

stop_daemons() {
    local pidfile
    for pidfile in /run/slurmd.pid /run/slurmctld.pid /run/munge/munged.pid; do
        if running "$pidfile"; then
            $sudo kill "$(cat "$pidfile")"
            say "stopped $(basename "$pidfile" .pid)"
        fi
    done
}

case "${1:-}" in
start)
    install_missing
    write_conf
    start_daemons
    wait_idle
    ;;
stop) stop_daemons ;;
status) node_up ;;
*)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
