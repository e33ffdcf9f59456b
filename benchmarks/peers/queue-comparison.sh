#!/usr/bin/env bash
# Issue 15's queue benchmark, interleaved in one run: `naksha bench queue` (3 coordinators
# with fsync on, scripted workers in process calling ClusterEndpoint, 64 closed-loop callers)
# against NATS JetStream R3 (benchmarks/peers/nats) with `sync_interval: always` and with its
# default, ROUNDS rounds. Prints each round and the same-round ratios; the last line is JSON.
# Usage: benchmarks/peers/queue-comparison.sh [ROUNDS] — environment: DURATION=10
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-5}
DURATION=${DURATION:-10}
NAKSHA=${NAKSHA:-.build/release/naksha}
[[ -x $NAKSHA ]] || { echo "build it first: swift build -c release --product naksha" >&2; exit 1; }
echo "# $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
rows=()
for round in $(seq 1 "$ROUNDS"); do
    queue=$("$NAKSHA" bench queue --duration "${DURATION}s" | tail -1)
    nats=$(DURATION=$DURATION bash benchmarks/peers/nats/run.sh --sync both | grep '^nats-')
    row=$(python3 - "$round" "$queue" "$(echo "$nats" | sed -n 's/^nats-always //p')" "$(echo "$nats" | sed -n 's/^nats-default //p')" <<'PY'
import json, sys
round_, queue, always, default = int(sys.argv[1]), *[json.loads(a) for a in sys.argv[2:]]
print(json.dumps({
    "round": round_, "naksha_jobs_per_s": queue["jobs_per_s"], "naksha_p50_ms": queue["p50_ms"], "naksha_p99_ms": queue["p99_ms"],
    "nats_always_jobs_per_s": always["jobs_per_s"], "nats_always_p50_ms": always["p50_ms"], "nats_always_p99_ms": always["p99_ms"],
    "nats_default_jobs_per_s": default["jobs_per_s"], "nats_default_p50_ms": default["p50_ms"], "nats_default_p99_ms": default["p99_ms"],
    "ratio_vs_nats_always": round(queue["jobs_per_s"] / max(always["jobs_per_s"], 0.1), 2),
    "ratio_vs_nats_default": round(queue["jobs_per_s"] / max(default["jobs_per_s"], 0.1), 2),
}, sort_keys=True))
PY
)
    echo "round $round: $row"
    rows+=("$row")
done
printf '%s\n' "${rows[@]}" | python3 benchmarks/peers/summarize_rounds.py
