#!/usr/bin/env python3
"""hnswlib and FAISS HNSW for the interleaved HNSW rounds (`benchmarks/vector/hnsw-rounds.sh`).

    hnsw_rounds.py --dir D --dataset latent --phase build            # build once, save both
    hnsw_rounds.py --dir D --dataset latent --phase search --round R # load, sweep efSearch

Reads the files `vector-bench --phases gen --datasets latent` writes (base.f32, queries.f32,
gt.i32). Same parameters as Naksha (M, efConstruction, inner product, one thread). Each
search is one batched call on one thread (hnswlib `knn_query(num_threads=1)`, FAISS
`search` with `omp_set_num_threads(1)`), the peers' fastest API; the best of --repeat passes
is reported. One JSON object per line on stdout.
"""
import argparse, json, os, time

import numpy as np
import faiss
import hnswlib

p = argparse.ArgumentParser()
p.add_argument("--dir", default="/tmp/naksha-vector-bench")
p.add_argument("--dataset", default="latent")
p.add_argument("--phase", choices=["build", "search"], required=True)
p.add_argument("--round", type=int, default=0)
p.add_argument("--ef", default="16,24,32,48,64,96,128,192,256,384,512")
p.add_argument("--m", type=int, default=16)
p.add_argument("--ef-construction", type=int, default=200)
p.add_argument("--repeat", type=int, default=3)
args = p.parse_args()

d = os.path.join(args.dir, args.dataset)
meta = json.load(open(os.path.join(d, "meta.json")))
n, dim, nq = meta["n"], meta["d"], meta["nq"]
xq = np.fromfile(os.path.join(d, "queries.f32"), dtype="<f4").reshape(nq, dim)
gt = np.fromfile(os.path.join(d, "gt.i32"), dtype="<i4").reshape(nq, 10)
hnswlib_path = os.path.join(d, f"hnswlib-m{args.m}-efc{args.ef_construction}.bin")
faiss_path = os.path.join(d, f"faiss-m{args.m}-efc{args.ef_construction}.index")
faiss.omp_set_num_threads(1)


def emit(**kw):
    print(json.dumps(kw), flush=True)


def recall(ids):
    return float(np.mean([len(set(ids[i][:10].tolist()) & set(gt[i].tolist())) / 10.0 for i in range(nq)]))


def best_of(fn):
    best_wall = best_cpu = float("inf")
    result = None
    for _ in range(max(1, args.repeat)):
        c = time.thread_time(); t = time.perf_counter()
        result = fn()
        best_wall = min(best_wall, time.perf_counter() - t); best_cpu = min(best_cpu, time.thread_time() - c)
    return result, best_wall, best_cpu


if args.phase == "build":
    xb = np.fromfile(os.path.join(d, "base.f32"), dtype="<f4").reshape(n, dim)
    hl = hnswlib.Index(space="ip", dim=dim)
    hl.init_index(max_elements=n, M=args.m, ef_construction=args.ef_construction, random_seed=42)
    hl.set_num_threads(1)
    c = time.thread_time(); t = time.perf_counter(); hl.add_items(xb, np.arange(n), num_threads=1)
    emit(bench="hnsw.build", system="hnswlib", dataset=args.dataset, n=n, m=args.m, ef_construction=args.ef_construction,
         threads=1, build_s=time.perf_counter() - t, build_cpu_s=time.thread_time() - c)
    hl.save_index(hnswlib_path)
    fh = faiss.IndexHNSWFlat(dim, args.m, faiss.METRIC_INNER_PRODUCT)
    fh.hnsw.efConstruction = args.ef_construction
    c = time.thread_time(); t = time.perf_counter(); fh.add(xb)
    emit(bench="hnsw.build", system="faiss", dataset=args.dataset, n=n, m=args.m, ef_construction=args.ef_construction,
         threads=1, build_s=time.perf_counter() - t, build_cpu_s=time.thread_time() - c)
    faiss.write_index(fh, faiss_path)
else:
    hl = hnswlib.Index(space="ip", dim=dim)
    hl.load_index(hnswlib_path, max_elements=n)
    hl.set_num_threads(1)
    fh = faiss.read_index(faiss_path)
    for ef in [int(e) for e in args.ef.split(",")]:
        hl.set_ef(ef)
        (ids, _), wall, cpu = best_of(lambda: hl.knn_query(xq, k=10, num_threads=1))
        emit(bench="hnsw.search", system="hnswlib", dataset=args.dataset, round=args.round, ef=ef, threads=1, queries=nq,
             qps=nq / wall, qps_cpu=nq / cpu, repeats=args.repeat, recall10=recall(ids))
        fh.hnsw.efSearch = ef
        (_, ids), wall, cpu = best_of(lambda: fh.search(xq, 10))
        emit(bench="hnsw.search", system="faiss", dataset=args.dataset, round=args.round, ef=ef, threads=1, queries=nq,
             qps=nq / wall, qps_cpu=nq / cpu, repeats=args.repeat, recall10=recall(ids))
