#!/usr/bin/env bash
# Issue 18: the time to move one 200,000 × 384 HNSW shard between workers. A local cluster
# (`naksha dev`: 3 coordinators, 3 workers, Postgres) loads the vectors into a collection of
# one HNSW shard (the build is timed by the load), waits until the built graph is saved
# (naksha_shard_snapshots), then moves the shard twice (each target loads the snapshot and
# applies later changes), then deletes the snapshot and moves it once more, so that target
# rebuilds the graph from the vectors, for comparison. Prints one JSON line per step.
# Usage: benchmarks/peers/shard-move.sh
# Environment: N=200000 D=384 DIR=/tmp/naksha-vector-serving (base.f32 from vector_serving.py gen)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-200000}; D=${D:-384}
PY=${PY:-/tmp/milvusvenv/bin/python}
NAKSHA=${NAKSHA:-.build/release/naksha}
DIR=${DIR:-/tmp/naksha-vector-serving}
[[ -x $NAKSHA ]] || { echo "build it first: swift build -c release --product naksha" >&2; exit 1; }
mkdir -p "$DIR"
echo "# $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $N x $D, one HNSW shard"
[[ -f $DIR/base.f32 ]] || "$PY" benchmarks/peers/vector_serving.py gen --dir "$DIR" --n "$N" --dimension "$D" --queries 1000 --k 10
SERVERS=127.0.0.1:7701,127.0.0.1:7702,127.0.0.1:7703
PG=postgres://postgres@127.0.0.1:7432/postgres
"$NAKSHA" dev up --detach --fresh --workers 3 --data-dir "$DIR/dev" > "$DIR/dev.out"
trap '"$NAKSHA" dev stop --data-dir "$DIR/dev" > /dev/null 2>&1 || true' EXIT
"$NAKSHA" bench vectors --phase load --collection moving --dir "$DIR" --dimension "$D" --shards 1 --index hnsw --server "$SERVERS"
for move in 1 2; do
    sleep 6  # the previous source finishes draining (5 s), so it is a fresh target again
    "$NAKSHA" bench vectors --phase move --collection moving --database-url "$PG" --server "$SERVERS"
done
psql "$PG" -q -c "DELETE FROM naksha_shard_snapshots WHERE collection = 'moving'"
echo "# snapshot deleted: the next target rebuilds the graph from the vectors"
sleep 6
"$NAKSHA" bench vectors --phase move --collection moving --server "$SERVERS"
