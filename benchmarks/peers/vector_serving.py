#!/usr/bin/env python3
"""Issue 18's serving benchmark, the Python half (see vector-serving.sh, which runs it).

  gen          write the dataset: base.f32 (N x D float32, little endian), queries.f32 (Q x D)
               and truth.i32 (Q x K exact nearest ids by L2, numpy brute force). A mixture of
               Gaussian clusters of varying size, so the data is not uniform noise.
  milvus-load  insert base.f32 into Milvus Lite (the real engine, milvus-lite 2.5 with
               pymilvus) in a local file; FLAT index, L2 (Milvus Lite serves FLAT only).
  milvus-query one pass of queries against it, printing one JSON line: queries/s through the
               batched search call (its fastest API), single-query latency p50/p99 (one query
               per call, as an application asks), and recall@K against truth.i32.

Setup (never commit the packages):
    python3 -m venv /tmp/milvusvenv && /tmp/milvusvenv/bin/pip install milvus-lite==2.5.1 'pymilvus==2.5.*' numpy 'setuptools<70'
"""
import argparse, json, os, time

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("phase", choices=["gen", "milvus-load", "milvus-query"])
p.add_argument("--dir", default="/tmp/naksha-vector-serving")
p.add_argument("--n", type=int, default=200_000)
p.add_argument("--dimension", type=int, default=384)
p.add_argument("--queries", type=int, default=1000)
p.add_argument("--k", type=int, default=10)
p.add_argument("--seed", type=int, default=18)
p.add_argument("--batch", type=int, default=100, help="queries per batched search call")
p.add_argument("--single", type=int, default=200, help="one-query calls timed for latency")
args = p.parse_args()
os.makedirs(args.dir, exist_ok=True)
path = lambda name: os.path.join(args.dir, name)


def load(name, dtype, width):
    return np.fromfile(path(name), dtype=dtype).reshape(-1, width)


if args.phase == "gen":
    rng = np.random.default_rng(args.seed)
    clusters = 64
    centers = rng.normal(0, 1, (clusters, args.dimension)).astype(np.float32)
    sizes = rng.dirichlet(np.ones(clusters) * 0.7)
    assign = rng.choice(clusters, size=args.n + args.queries, p=sizes)
    spread = rng.uniform(0.3, 1.0, clusters).astype(np.float32)
    data = centers[assign] + rng.normal(0, 1, (args.n + args.queries, args.dimension)).astype(np.float32) * spread[assign, None]
    base, queries = data[: args.n], data[args.n :]
    base.astype("<f4").tofile(path("base.f32"))
    queries.astype("<f4").tofile(path("queries.f32"))
    norms = (base * base).sum(1)
    truth = np.empty((args.queries, args.k), dtype=np.int32)
    for start in range(0, args.queries, 100):
        q = queries[start : start + 100]
        d = norms[None, :] - 2 * q @ base.T
        part = np.argpartition(d, args.k, axis=1)[:, : args.k]
        order = np.take_along_axis(d, part, 1).argsort(1)
        truth[start : start + 100] = np.take_along_axis(part, order, 1)
    truth.astype("<i4").tofile(path("truth.i32"))
    print(json.dumps({"phase": "gen", "n": args.n, "dimension": args.dimension, "queries": args.queries, "k": args.k}))
    raise SystemExit

from pymilvus import MilvusClient  # noqa: E402

client = MilvusClient(path("milvus.db"))
if args.phase == "milvus-load":
    base = load("base.f32", "<f4", args.dimension)
    if client.has_collection("bench"):
        client.drop_collection("bench")
    client.create_collection("bench", dimension=args.dimension, metric_type="L2", index_type="FLAT")
    started = time.perf_counter()
    for start in range(0, len(base), 5000):
        block = base[start : start + 5000]
        client.insert("bench", [{"id": start + i, "vector": row} for i, row in enumerate(block)])
    client.flush("bench")
    client.load_collection("bench")
    print(json.dumps({"phase": "milvus-load", "vectors": len(base), "seconds": round(time.perf_counter() - started, 1)}))
    raise SystemExit

queries = load("queries.f32", "<f4", args.dimension)
truth = load("truth.i32", "<i4", args.k)
search = lambda batch: client.search("bench", data=batch, limit=args.k, search_params={"metric_type": "L2"})
search(queries[:1].tolist())  # warm
found = []
started = time.perf_counter()
for start in range(0, len(queries), args.batch):
    found += [[hit["id"] for hit in hits] for hits in search(queries[start : start + args.batch].tolist())]
batched = time.perf_counter() - started
latencies = []
for q in queries[: args.single]:
    t = time.perf_counter()
    search([q.tolist()])
    latencies.append(time.perf_counter() - t)
latencies.sort()
recall = float(np.mean([len(set(f) & set(t.tolist())) / args.k for f, t in zip(found, truth)]))
print(json.dumps({
    "system": "milvus-lite", "queries_per_s": round(len(queries) / batched, 1),
    "single_p50_ms": round(latencies[len(latencies) // 2] * 1000, 2), "single_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
    "recall": round(recall, 4),
}))
