#!/usr/bin/env bash
# A local cluster by hand, for chaos tests and for seeing failover: three coordinators, two
# workers and a Postgres, run by `naksha dev` in the background (data and logs in
# $NAKSHA_DEV_DIR, default .naksha/dev).
#
#   cluster/local.sh up                 start it (or reuse the running one)
#   cluster/local.sh down               stop everything
#   cluster/local.sh status             endpoints, processes, the Raft leader
#   cluster/local.sh kill NODE          kill -9 one process (c1 c2 c3 w1 w2 …, or leader)
#   cluster/local.sh restart NODE       start it again (stopping it first if it runs)
#   cluster/local.sh pause NODE         SIGSTOP it (a hung process: no crash, no answers)
#   cluster/local.sh resume NODE        SIGCONT it
set -euo pipefail
cd "$(dirname "$0")/.."
NAKSHA=${NAKSHA:-.build/debug/naksha}
DIR=${NAKSHA_DEV_DIR:-.naksha/dev}
# The leader is asked over the client protocol, which tries every coordinator in turn.
leader_id() { "$NAKSHA" cluster status --json 2>/dev/null | sed -n 's/.*"leader":\([0-9]*\).*/\1/p'; }

die() { echo "local.sh: $*" >&2; exit 1; }
[[ -x $NAKSHA ]] || die "$NAKSHA is not built; run make build"

# The pid of NODE (c1…, w1…, leader) from the running dev cluster's process table.
pid_of() {
    local node=$1
    [[ -f $DIR/dev.ready ]] || die "no dev cluster runs in $DIR (cluster/local.sh up)"
    if [[ $node == leader ]]; then
        local leader
        leader=$(leader_id)
        [[ -n $leader ]] || die "no leader known right now"
        node=c$leader
    fi
    case $node in
        c[0-9]*) awk -v id="${node#c}" '$1 == "coordinator" && $2 == id { print $3 }' "$DIR/dev.ready" ;;
        w[0-9]*) awk -v id="$node" '$1 == "worker" && $2 == id { print $3 }' "$DIR/dev.ready" ;;
        *) die "unknown node $node (c1 c2 c3 w1 w2 … or leader)" ;;
    esac
}

name_of() { [[ $1 == leader ]] && echo "c$(leader_id)" || echo "$1"; }

case ${1:-} in
    up) exec "$NAKSHA" dev up --detach --reuse --data-dir "$DIR" ;;
    down) exec "$NAKSHA" dev stop --data-dir "$DIR" ;;
    status) exec "$NAKSHA" dev status --data-dir "$DIR" ;;
    kill|pause|resume)
        [[ -n ${2:-} ]] || die "$1 needs a node (c1 c2 c3 w1 w2 … or leader)"
        name=$(name_of "$2"); pid=$(pid_of "$name")
        [[ -n $pid ]] || die "no process $name"
        case $1 in
            kill) kill -9 "$pid"; echo "killed $name (pid $pid) with SIGKILL" ;;
            pause) kill -STOP "$pid"; echo "paused $name (pid $pid); resume it with: cluster/local.sh resume $name" ;;
            resume) kill -CONT "$pid"; echo "resumed $name (pid $pid)" ;;
        esac ;;
    restart)
        [[ -n ${2:-} ]] || die "restart needs a node (c1 c2 c3 w1 w2 …)"
        name=$(name_of "$2")
        if pid=$(pid_of "$name" 2>/dev/null) && [[ -n $pid ]]; then kill -CONT "$pid" 2>/dev/null || true; fi
        exec "$NAKSHA" dev restart "$name" --data-dir "$DIR" ;;
    *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
