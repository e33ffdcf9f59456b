#!/usr/bin/env bash
# Issue 16's benchmarks, interleaved in one run (A B C … per round, ROUNDS rounds):
#   1. `naksha bench jobs --nodes 1`: a one-node no-op graph, submit → complete, 3 coordinators
#      (fsync on) and 2 workers, 64 closed-loop callers;
#   2. NATS JetStream, 3 nodes, R3 work-queue stream, publish → pull → confirmed ack, 64
#      closed-loop callers, `sync_interval: always` (Naksha's durability), then its default;
#   3. `naksha bench jobs --nodes 3` (per-node overhead) and LangGraph invoking the same
#      three-node graph in process, without and with its in-memory checkpointer.
# Prints each round's figures and same-round ratios; the last line is JSON.
#
# Usage: benchmarks/peers/jobs-comparison.sh [ROUNDS] — environment: DURATION=10 (seconds)
#   NAKSHA=.build/release/naksha INVOCATIONS=3000
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-5}
DURATION=${DURATION:-10}
INVOCATIONS=${INVOCATIONS:-3000}
NAKSHA=${NAKSHA:-.build/release/naksha}
[[ -x $NAKSHA ]] || { echo "build it first: swift build -c release --product naksha" >&2; exit 1; }
python3 -c 'import langgraph' 2>/dev/null || python3 -m pip install -q langgraph
echo "# $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
rows=()
for round in $(seq 1 "$ROUNDS"); do
    one=$("$NAKSHA" bench jobs --nodes 1 --duration "${DURATION}s" | tail -1)
    nats=$(DURATION=$DURATION bash benchmarks/peers/nats/run.sh --sync both | grep '^nats-')
    always=$(echo "$nats" | sed -n 's/^nats-always //p')
    default=$(echo "$nats" | sed -n 's/^nats-default //p')
    three=$("$NAKSHA" bench jobs --nodes 3 --duration "${DURATION}s" | tail -1)
    graph=$(python3 benchmarks/peers/langgraph/run.py --nodes 3 --invocations "$INVOCATIONS" | tail -1)
    row=$(python3 - "$round" "$one" "$always" "$default" "$three" "$graph" <<'PY'
import json, sys
round_, one, always, default, three, graph = int(sys.argv[1]), *[json.loads(a) for a in sys.argv[2:]]
o, t = one["rounds"][0], three["rounds"][0]
plain, saved = graph["results"]
row = {
    "round": round_,
    "naksha_1node_jobs_per_s": o["jobs_per_s"], "naksha_1node_p50_ms": o["p50_ms"], "naksha_1node_p99_ms": o["p99_ms"],
    "nats_always_jobs_per_s": always["jobs_per_s"], "nats_always_p50_ms": always["p50_ms"], "nats_always_p99_ms": always["p99_ms"],
    "nats_default_jobs_per_s": default["jobs_per_s"], "nats_default_p50_ms": default["p50_ms"], "nats_default_p99_ms": default["p99_ms"],
    "naksha_3node_jobs_per_s": t["jobs_per_s"], "naksha_3node_p50_ms": t["p50_ms"], "naksha_3node_ms_per_node": t["ms_per_node_p50"],
    "langgraph_jobs_per_s": plain["invocations_per_s"], "langgraph_us_per_node": plain["us_per_node"],
    "langgraph_saver_jobs_per_s": saved["invocations_per_s"], "langgraph_saver_us_per_node": saved["us_per_node"],
}
row["ratio_jobs_vs_nats_always"] = round(o["jobs_per_s"] / max(always["jobs_per_s"], 0.1), 2)
row["ratio_jobs_vs_nats_default"] = round(o["jobs_per_s"] / max(default["jobs_per_s"], 0.1), 2)
row["ratio_3node_throughput_vs_langgraph_saver"] = round(t["jobs_per_s"] / saved["invocations_per_s"], 2)
row["ratio_node_latency_vs_langgraph_saver"] = round(t["ms_per_node_p50"] * 1000 / saved["us_per_node"], 2)
print(json.dumps(row, sort_keys=True))
PY
)
    echo "round $round: $row"
    rows+=("$row")
done
printf '%s\n' "${rows[@]}" | python3 benchmarks/peers/summarize_rounds.py
