#!/usr/bin/env bash
# Per-node overhead, Naksha against LangGraph, interleaved on the same machine in the same run
# (A B A B …): each round runs `naksha bench jobs` (three coordinators with fsync on, two
# workers, a linear no-op graph of NODES template nodes, CLIENTS concurrent callers) and then
# LangGraph invoking the same graph in process (run.py), without and with its in-memory
# checkpointer. Prints each round's figures and the same-round ratios; the last line is JSON.
#
# Usage: benchmarks/peers/langgraph/compare.sh [ROUNDS] — environment: NODES=3 CLIENTS=64
#   DURATION=10s INVOCATIONS=3000 NAKSHA=.build/release/naksha
set -euo pipefail
cd "$(dirname "$0")/../../.."
ROUNDS=${1:-5}
NODES=${NODES:-3}
CLIENTS=${CLIENTS:-64}
DURATION=${DURATION:-10s}
INVOCATIONS=${INVOCATIONS:-3000}
NAKSHA=${NAKSHA:-.build/release/naksha}
[[ -x $NAKSHA ]] || { echo "build it first: swift build -c release --product naksha" >&2; exit 1; }
python3 -c 'import langgraph' 2>/dev/null || python3 -m pip install -q langgraph

rows=()
for round in $(seq 1 "$ROUNDS"); do
    naksha=$("$NAKSHA" bench jobs --nodes "$NODES" --clients "$CLIENTS" --duration "$DURATION" | tail -1)
    peer=$(python3 benchmarks/peers/langgraph/run.py --nodes "$NODES" --invocations "$INVOCATIONS" | tail -1)
    row=$(python3 - "$naksha" "$peer" "$round" <<'PY'
import json, sys
naksha, peer, round_ = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
n = naksha["rounds"][0]
plain, saved = peer["results"]
out = {
    "round": round_,
    "naksha_jobs_per_s": n["jobs_per_s"], "naksha_p50_ms": n["p50_ms"], "naksha_p99_ms": n["p99_ms"],
    "naksha_ms_per_node": n["ms_per_node_p50"],
    "langgraph_jobs_per_s": plain["invocations_per_s"], "langgraph_us_per_node": plain["us_per_node"],
    "langgraph_saver_jobs_per_s": saved["invocations_per_s"], "langgraph_saver_us_per_node": saved["us_per_node"],
}
out["throughput_ratio_vs_saver"] = round(n["jobs_per_s"] / saved["invocations_per_s"], 2)
out["throughput_ratio_vs_plain"] = round(n["jobs_per_s"] / plain["invocations_per_s"], 2)
out["node_latency_ratio_vs_saver"] = round(n["ms_per_node_p50"] * 1000 / saved["us_per_node"], 2)
print(json.dumps(out, sort_keys=True))
PY
)
    echo "round $round: $row"
    rows+=("$row")
done
printf '%s\n' "${rows[@]}" | python3 -c '
import json, sys
rows = [json.loads(line) for line in sys.stdin if line.strip()]
def span(key): 
    values = [r[key] for r in rows]
    return [min(values), max(values)]
summary = {k: span(k) for k in ["throughput_ratio_vs_saver", "throughput_ratio_vs_plain", "node_latency_ratio_vs_saver", "naksha_jobs_per_s", "langgraph_saver_jobs_per_s", "naksha_ms_per_node", "langgraph_saver_us_per_node"]}
print("min–max over rounds:", json.dumps(summary, sort_keys=True))
print(json.dumps({"rounds": rows, "summary": summary}, sort_keys=True))'
