#!/usr/bin/env bash
# Issue 18's serving benchmark, interleaved in one run: scatter-gather queries on a local
# cluster (`naksha dev`: 3 coordinators, 3 workers, Postgres) against Milvus Lite (the real
# engine, milvus-lite 2.5, in one process), on the same vectors, queries and k, ROUNDS rounds
# of one pass each (Naksha, Milvus, Naksha, Milvus, …). Both indexes are exact (flat; Milvus
# Lite serves FLAT only), so recall is equal at 1.0. Prints each round and the same-round
# ratios; the last line is JSON.
# Usage: benchmarks/peers/vector-serving.sh [ROUNDS]
# Environment: N=200000 D=384 Q=1000 K=10 SHARDS=8 CONCURRENCY=8 INDEX=flat BATCH=100 PY=/tmp/milvusvenv/bin/python
#   BATCH: queries per Naksha call (as Milvus's batched search of 100; 1 asks one query per call).
#   REUSE=1 keeps the dataset and the Milvus Lite file of an earlier run (its load takes minutes).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-5}
N=${N:-200000}; D=${D:-384}; Q=${Q:-1000}; K=${K:-10}; SHARDS=${SHARDS:-8}; CONCURRENCY=${CONCURRENCY:-8}; INDEX=${INDEX:-flat}; REUSE=${REUSE:-0}; BATCH=${BATCH:-100}
PY=${PY:-/tmp/milvusvenv/bin/python}
NAKSHA=${NAKSHA:-.build/release/naksha}
DIR=${DIR:-/tmp/naksha-vector-serving}
[[ -x $NAKSHA ]] || { echo "build it first: swift build -c release --product naksha" >&2; exit 1; }
[[ -x $PY ]] || { echo "make the Milvus venv first (see benchmarks/peers/vector_serving.py)" >&2; exit 1; }
mkdir -p "$DIR"
echo "# $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $N x $D, $Q queries, k=$K, $SHARDS shards, index $INDEX"
[[ $REUSE == 1 && -f $DIR/truth.i32 ]] || "$PY" benchmarks/peers/vector_serving.py gen --dir "$DIR" --n "$N" --dimension "$D" --queries "$Q" --k "$K"
SERVERS=127.0.0.1:7701,127.0.0.1:7702,127.0.0.1:7703
"$NAKSHA" dev up --detach --fresh --workers 3 --data-dir "$DIR/dev" > "$DIR/dev.out"
trap '"$NAKSHA" dev stop --data-dir "$DIR/dev" > /dev/null 2>&1 || true' EXIT
"$NAKSHA" bench vectors --phase load --dir "$DIR" --dimension "$D" --shards "$SHARDS" --index "$INDEX" --server "$SERVERS"
[[ $REUSE == 1 && -e $DIR/milvus.db ]] || "$PY" benchmarks/peers/vector_serving.py milvus-load --dir "$DIR" --dimension "$D" --k "$K"
rows=()
for round in $(seq 1 "$ROUNDS"); do
    naksha=$("$NAKSHA" bench vectors --phase query --dir "$DIR" --dimension "$D" --k "$K" --concurrency "$CONCURRENCY" --batch "$BATCH" --server "$SERVERS")
    milvus=$("$PY" benchmarks/peers/vector_serving.py milvus-query --dir "$DIR" --dimension "$D" --k "$K")
    row=$(python3 - "$round" "$naksha" "$milvus" <<'PY'
import json, sys
round_, naksha, milvus = int(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3])
print(json.dumps({
    "round": round_,
    "naksha_queries_per_s": naksha["queries_per_s"], "naksha_p50_ms": naksha["single_p50_ms"], "naksha_p99_ms": naksha["single_p99_ms"],
    "naksha_recall": naksha["recall"], "naksha_partial": naksha["partial"],
    "milvus_queries_per_s": milvus["queries_per_s"], "milvus_p50_ms": milvus["single_p50_ms"], "milvus_p99_ms": milvus["single_p99_ms"],
    "milvus_recall": milvus["recall"],
    "ratio_queries_per_s": round(naksha["queries_per_s"] / max(milvus["queries_per_s"], 0.1), 2),
    "ratio_p99_milvus_over_naksha": round(milvus["single_p99_ms"] / max(naksha["single_p99_ms"], 0.001), 2),
}, sort_keys=True))
PY
)
    echo "round $round: $row"
    rows+=("$row")
done
printf '%s\n' "${rows[@]}" | python3 benchmarks/peers/summarize_rounds.py
