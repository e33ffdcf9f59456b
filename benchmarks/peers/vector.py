#!/usr/bin/env python3
"""Peers for the NakshaVector benchmark (issue 7): FAISS (IndexFlatIP, IndexHNSWFlat) and
hnswlib, on the exact datasets written by `benchmarks/vector` (vector-bench --phases gen).

Setup (never commit the fetched packages):
    python3 -m venv /tmp/vecvenv && /tmp/vecvenv/bin/pip install faiss-cpu hnswlib numpy
Run:
    /tmp/vecvenv/bin/python benchmarks/peers/vector.py --dir /tmp/naksha-vector-bench

Prints one JSON object per line (same keys as the Swift side) and writes
<dir>/peer_results.jsonl. Peers search through batched calls with the thread count set,
so per-query Python overhead is not counted ("one at a time" = nq = 1 calls for FAISS
flat; the HNSW sweeps use one batched call on one thread, which loops queries in C++).
"""
import argparse, json, os, time

import numpy as np
import faiss
import hnswlib

p = argparse.ArgumentParser()
p.add_argument("--dir", default="/tmp/naksha-vector-bench")
p.add_argument("--single", type=int, default=200)
p.add_argument("--ef", default="32,64,128,256,512")
p.add_argument("--m", type=int, default=16)
p.add_argument("--ef-construction", type=int, default=200)
p.add_argument("--phases", default="flat,hnsw,filter")
p.add_argument("--repeat", type=int, default=1,
               help="time each HNSW sweep and one-thread flat batch this many times; report the fastest")
args = p.parse_args()
phases = set(args.phases.split(","))
out = open(os.path.join(args.dir, "peer_results.jsonl"), "w")


def emit(**kw):
    line = json.dumps(kw)
    print(line, flush=True)
    out.write(line + "\n")
    out.flush()


def load(name):
    d = os.path.join(args.dir, name)
    meta = json.load(open(os.path.join(d, "meta.json")))
    n, dim, nq = meta["n"], meta["d"], meta["nq"]
    xb = np.fromfile(os.path.join(d, "base.f32"), dtype="<f4").reshape(n, dim)
    xq = np.fromfile(os.path.join(d, "queries.f32"), dtype="<f4").reshape(nq, dim)
    gt = np.fromfile(os.path.join(d, "gt.i32"), dtype="<i4").reshape(nq, 10)
    return xb, xq, gt


def timed(fn):
    """Best of --repeat runs of fn(): (result, wall seconds, calling-thread CPU seconds).
    With one thread FAISS (OpenMP) and hnswlib run in the calling thread, so the thread's
    CPU time excludes time spent waiting for a core on a shared machine."""
    best_wall = best_cpu = float("inf")
    result = None
    for _ in range(max(1, args.repeat)):
        c = time.thread_time(); t = time.perf_counter()
        result = fn()
        best_wall = min(best_wall, time.perf_counter() - t); best_cpu = min(best_cpu, time.thread_time() - c)
    return result, best_wall, best_cpu


def recall(ids, gt):
    return float(np.mean([len(set(ids[i][:10]) & set(gt[i][:10])) / 10.0 for i in range(len(gt))]))


def buckets(n):
    # Same as the Swift side: SplitMix64(seed: i).next() % 100.
    out = np.empty(n, dtype=np.int64)
    mask = (1 << 64) - 1
    for i in range(n):
        z = (i + 0x9E3779B97F4A7C15) & mask
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z = z ^ (z >> 31)
        out[i] = z % 100
    return out


faiss.cvar.distance_compute_blas_threshold = 1  # batches of ≥ 1 query take the BLAS path

if "flat" in phases:
    xb, xq, gt = load("clustered")
    index = faiss.IndexFlatIP(xb.shape[1])
    index.add(xb)
    for threads in (1, 2):
        faiss.omp_set_num_threads(threads)
        # one query at a time (nq = 1 calls; BLAS threshold is 1 but nq=1 uses the SIMD scan)
        t = time.perf_counter()
        ids = [index.search(xq[i:i + 1], 10)[1][0] for i in range(args.single)]
        dt = time.perf_counter() - t
        emit(bench="faiss.flat.single", dataset="clustered", threads=threads, queries=args.single,
             qps=args.single / dt, recall10=recall(ids, gt[:args.single]))
        for batch in (100, 1000):
            res, dt, cpu = timed(lambda: [index.search(xq[s:s + batch], 10)[1] for s in range(0, len(xq), batch)])
            extra = {"qps_cpu": len(xq) / cpu} if threads == 1 else {}
            emit(bench="faiss.flat.batch", dataset="clustered", batch=batch, threads=threads, queries=len(xq),
                 qps=len(xq) / dt, **extra, repeats=args.repeat, recall10=recall(np.vstack(res), gt))
    del index, xb

if "hnsw" in phases or "filter" in phases:
    xb, xq, gt = load("hard")
    n, dim = xb.shape
    efs = [int(e) for e in args.ef.split(",")]
    faiss.omp_set_num_threads(1)
    fh = faiss.IndexHNSWFlat(dim, args.m, faiss.METRIC_INNER_PRODUCT)
    fh.hnsw.efConstruction = args.ef_construction
    c = time.thread_time(); t = time.perf_counter(); fh.add(xb); fb = time.perf_counter() - t; fbc = time.thread_time() - c
    emit(bench="faiss.hnsw.build", dataset="hard", m=args.m, ef_construction=args.ef_construction, threads=1, build_s=fb, build_cpu_s=fbc,
         bytes_per_vector=(dim * 4 + 2 * args.m * 4 * (1 + 1 / (args.m - 1)) + 8))
    hl = hnswlib.Index(space="ip", dim=dim)
    hl.init_index(max_elements=n, M=args.m, ef_construction=args.ef_construction, random_seed=42)
    hl.set_num_threads(1)
    c = time.thread_time(); t = time.perf_counter(); hl.add_items(xb, np.arange(n), num_threads=1); hb = time.perf_counter() - t; hbc = time.thread_time() - c
    emit(bench="hnswlib.build", dataset="hard", m=args.m, ef_construction=args.ef_construction, threads=1, build_s=hb, build_cpu_s=hbc,
         bytes_per_vector=(dim * 4 + (2 * args.m + 1) * 4 + 8 + 8))
    if "hnsw" in phases:
        for ef in efs:
            fh.hnsw.efSearch = ef
            (_, ids), dt, cpu = timed(lambda: fh.search(xq, 10))
            emit(bench="faiss.hnsw.search", dataset="hard", ef=ef, threads=1, queries=len(xq), qps=len(xq) / dt,
                 qps_cpu=len(xq) / cpu, repeats=args.repeat, recall10=recall(ids, gt))
            hl.set_ef(ef)
            (ids, _), dt, cpu = timed(lambda: hl.knn_query(xq, k=10, num_threads=1))
            emit(bench="hnswlib.search", dataset="hard", ef=ef, threads=1, queries=len(xq), qps=len(xq) / dt,
                 qps_cpu=len(xq) / cpu, repeats=args.repeat, recall10=recall(ids, gt))
    if "filter" in phases:
        b = buckets(n)
        q = xq[:args.single]
        flat = faiss.IndexFlatIP(dim); flat.add(xb)
        for pct in (50, 10, 1):
            allowed = np.nonzero(b < pct)[0].astype(np.int64)
            # exact filtered truth
            sub = xb[allowed]
            s = q @ sub.T
            truth = allowed[np.argsort(-s, axis=1, kind="stable")[:, :10]]
            sel = faiss.IDSelectorBatch(allowed)
            for ef in (64, 128, 256):
                params = faiss.SearchParametersHNSW(sel=sel, efSearch=ef)
                t = time.perf_counter(); _, ids = fh.search(q, 10, params=params); dt = time.perf_counter() - t
                emit(bench="faiss.filter.hnsw", dataset="hard", selectivity_pct=pct, ef=ef, queries=len(q), qps=len(q) / dt, recall10=recall(ids, truth))
                hl.set_ef(ef)
                allowed_set = set(allowed.tolist())
                t = time.perf_counter()
                try:
                    ids, _ = hl.knn_query(q, k=10, num_threads=1, filter=lambda i: i in allowed_set)
                    dt = time.perf_counter() - t
                    emit(bench="hnswlib.filter", dataset="hard", selectivity_pct=pct, ef=ef, queries=len(q), qps=len(q) / dt, recall10=recall(ids, truth))
                except RuntimeError as e:  # hnswlib raises when fewer than k matches are reachable
                    emit(bench="hnswlib.filter", dataset="hard", selectivity_pct=pct, ef=ef, queries=len(q), error=str(e))
            params = faiss.SearchParameters(sel=sel)
            t = time.perf_counter(); _, ids = flat.search(q, 10, params=params); dt = time.perf_counter() - t
            emit(bench="faiss.filter.flat", dataset="hard", selectivity_pct=pct, queries=len(q), qps=len(q) / dt, recall10=recall(ids, truth))
out.close()
