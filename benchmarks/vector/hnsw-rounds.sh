#!/usr/bin/env bash
# Interleaved HNSW rounds (issue 18): Naksha's HNSWIndex against hnswlib and FAISS
# IndexHNSWFlat on the "latent" dataset (a 64-dimensional Gaussian mixture of clusters of
# varying size embedded in 384 dimensions; see Dataset.swift), one thread, M = 16,
# efConstruction = 200, k = 10, 1,000 queries.
#
#   benchmarks/vector/hnsw-rounds.sh [ROUNDS]    (default 5; N=100000 DIR=/tmp/naksha-hnsw-rounds)
#
# Each system's index is built once and saved; every round then loads it in a fresh
# process and sweeps efSearch (best of 3 passes per point). Rounds alternate which side
# goes first (A B, B A, …). hnsw_rounds_report.py interpolates each round's QPS at recall
# 0.90 / 0.95 / 0.99 and prints the same-round ratios with their min–max.
set -euo pipefail
ROUNDS=${1:-5}
N=${N:-100000}
DIR=${DIR:-/tmp/naksha-hnsw-rounds}
EF=${EF:-16,24,32,48,64,96,128,192,256,384,512}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-/tmp/vecvenv/bin/python}
if [ ! -x "$PY" ]; then
    python3 -m venv /tmp/vecvenv
    /tmp/vecvenv/bin/pip install -q faiss-cpu hnswlib numpy
    PY=/tmp/vecvenv/bin/python
fi
(cd "$HERE" && swift build -c release -Xswiftc -target-cpu -Xswiftc sapphirerapids -Xswiftc -DNAKSHA_FMA)
BENCH="$HERE/.build/release/vector-bench"
PEERS="$HERE/../peers/hnsw_rounds.py"
mkdir -p "$DIR"
OUT="$DIR/rounds.jsonl"
: > "$OUT"
if [ ! -f "$DIR/latent/gt.i32" ] || [ "$(python3 -c "import json;print(json.load(open('$DIR/latent/meta.json'))['n'])")" != "$N" ]; then
    "$BENCH" --n "$N" --queries 1000 --datasets latent --phases gen --dir "$DIR"
    rm -f "$DIR"/latent/*.hnsw "$DIR"/latent/*.bin "$DIR"/latent/*.index
fi
[ -f "$DIR/latent/naksha-m16-efc200.hnsw" ] || "$BENCH" --phases hnsw-build --dataset latent --dir "$DIR" | tee -a "$OUT"
[ -f "$DIR/latent/faiss-m16-efc200.index" ] || "$PY" "$PEERS" --dir "$DIR" --phase build | tee -a "$OUT"
naksha() { "$BENCH" --phases hnsw-search --dataset latent --dir "$DIR" --ef "$EF" --repeat 3 --round "$1" 2>/dev/null | tee -a "$OUT"; }
peers() { "$PY" "$PEERS" --dir "$DIR" --phase search --round "$1" --ef "$EF" --repeat 3 | tee -a "$OUT"; }
for r in $(seq 1 "$ROUNDS"); do
    echo "== round $r $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    if [ $((r % 2)) -eq 1 ]; then naksha "$r"; peers "$r"; else peers "$r"; naksha "$r"; fi
done >/dev/null
python3 "$HERE/hnsw_rounds_report.py" "$OUT"
