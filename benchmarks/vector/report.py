#!/usr/bin/env python3
"""Turns <dir>/swift_results.jsonl and <dir>/peer_results.jsonl into the Markdown tables
of README.md (with Naksha/peer ratios). Standard library only.

    python3 benchmarks/vector/report.py /tmp/naksha-vector-bench
"""
import json, os, sys

d = sys.argv[1] if len(sys.argv) > 1 else "/tmp/naksha-vector-bench"
rows = []
for name in ("swift_results.jsonl", "peer_results.jsonl"):
    path = os.path.join(d, name)
    if os.path.exists(path):
        rows += [json.loads(l) for l in open(path) if l.strip()]


def find(bench, **kw):
    for r in rows:
        if r.get("bench") == bench and all(r.get(k) == v for k, v in kw.items()):
            return r
    return None


def f(x, nd=1):
    return "—" if x is None else f"{x:.{nd}f}"


def ratio(a, b):
    return "—" if a is None or b is None or b == 0 else f"{a / b:.2f}×"


def cpu(r):
    return r and r.get("qps_cpu")


print("### Exact search (dataset a, clustered; k = 10; recall@10 = 1.0 everywhere)\n")
print("QPS is wall clock; \"CPU\" columns divide by the timing thread's CPU time instead "
      "(one-thread rows only; see \"How each number is measured\").\n")
print("| mode | threads | Naksha QPS | FAISS IndexFlatIP QPS | Naksha / FAISS | Naksha CPU QPS | FAISS CPU QPS | ratio (CPU) |")
print("|---|---|---|---|---|---|---|---|")
for threads in (1, 2):
    s = find("flat.single", threads=threads); p = find("faiss.flat.single", threads=threads)
    print(f"| one query at a time | {threads} | {f(s and s['qps'])} | {f(p and p['qps'])} | {ratio(s and s['qps'], p and p['qps'])} | — | — | — |")
for batch in (100, 1000):
    for threads in (1, 2):
        s = find("flat.batch", batch=batch, threads=threads); p = find("faiss.flat.batch", batch=batch, threads=threads)
        print(f"| batch {batch} | {threads} | {f(s and s['qps'])} | {f(p and p['qps'])} | {ratio(s and s['qps'], p and p['qps'])} "
              f"| {f(cpu(s))} | {f(cpu(p))} | {ratio(cpu(s), cpu(p))} |")
print()
print("### int8 scalar quantization + exact rescoring (one query at a time, 1 thread, rescore 8·k)\n")
print("| dataset | QPS | recall@10 | vs float exact, 1 thread | bytes/vector |")
print("|---|---|---|---|---|")
fs = find("flat.single", threads=1)
for ds in ("clustered", "hard"):
    r = find("int8.single", dataset=ds)
    if r:
        print(f"| {ds} | {f(r['qps'])} | {f(r['recall10'], 3)} | {ratio(r['qps'], fs and fs['qps'])} | {f(r['bytes_per_vector'], 0)} |")
print()
print("### HNSW on dataset b (hard), M = 16, efConstruction = 200, one thread\n")
b = find("hnsw.build"); fb = find("faiss.hnsw.build"); hb = find("hnswlib.build")
print("| index | build s (1 thread, wall) | build s (CPU) | bytes/vector |")
print("|---|---|---|---|")
print(f"| Naksha HNSWIndex | {f(b and b['build_s'])} | {f(b and b.get('build_cpu_s'))} | {f(b and b['bytes_per_vector'], 0)} (estimate before build: {f(b and b['estimated_bytes_per_vector'], 0)}) |")
print(f"| FAISS IndexHNSWFlat | {f(fb and fb['build_s'])} | {f(fb and fb.get('build_cpu_s'))} | ≈{f(fb and fb['bytes_per_vector'], 0)} (computed) |")
print(f"| hnswlib | {f(hb and hb['build_s'])} | {f(hb and hb.get('build_cpu_s'))} | ≈{f(hb and hb['bytes_per_vector'], 0)} (computed) |")
print()
print("| efSearch | Naksha recall@10 | Naksha QPS | hnswlib recall@10 | hnswlib QPS | Naksha / hnswlib | Naksha / hnswlib (CPU) | FAISS recall@10 | FAISS QPS |")
print("|---|---|---|---|---|---|---|---|---|")
for ef in (32, 64, 128, 256, 512):
    s = find("hnsw.search", ef=ef); h = find("hnswlib.search", ef=ef); p = find("faiss.hnsw.search", ef=ef)
    print(f"| {ef} | {f(s and s['recall10'], 3)} | {f(s and s['qps'], 0)} | {f(h and h['recall10'], 3)} | {f(h and h['qps'], 0)} "
          f"| {ratio(s and s['qps'], h and h['qps'])} | {ratio(cpu(s), cpu(h))} | {f(p and p['recall10'], 3)} | {f(p and p['qps'], 0)} |")
print()
print("### Filtered search on dataset b (filter `bucket < p`, bucket = SplitMix64(id) % 100; 200 queries, 1 thread)\n")
print("| selectivity | index | efSearch | recall@10 | QPS |")
print("|---|---|---|---|---|")
for pct in (50, 10, 1):
    r = find("filter.flat", selectivity_pct=pct)
    print(f"| {pct} % | Naksha flat (prepared bitmap) | — | {f(r and r['recall10'], 3)} | {f(r and r['qps'], 0)} |")
    r = find("filter.flat.eval_per_query", selectivity_pct=pct)
    print(f"| {pct} % | Naksha flat (filter evaluated per query) | — | {f(r and r['recall10'], 3)} | {f(r and r['qps'], 0)} |")
    r = find("faiss.filter.flat", selectivity_pct=pct)
    print(f"| {pct} % | FAISS IndexFlatIP + IDSelectorBatch | — | {f(r and r['recall10'], 3)} | {f(r and r['qps'], 0)} |")
    for ef in (64, 128, 256):
        r = find("filter.hnsw", selectivity_pct=pct, ef=ef)
        note = " (exact fallback)" if r and r.get("exact_fallback") == 1 else ""
        print(f"| {pct} % | Naksha HNSW{note} | {ef} | {f(r and r['recall10'], 3)} | {f(r and r['qps'], 0)} |")
        r = find("faiss.filter.hnsw", selectivity_pct=pct, ef=ef)
        print(f"| {pct} % | FAISS HNSW + IDSelectorBatch | {ef} | {f(r and r['recall10'], 3)} | {f(r and r['qps'], 0)} |")
        r = find("hnswlib.filter", selectivity_pct=pct, ef=ef)
        if r and "error" in r:
            print(f"| {pct} % | hnswlib + Python filter | {ef} | error: {r['error'][:60]} | — |")
        else:
            print(f"| {pct} % | hnswlib + Python filter | {ef} | {f(r and r.get('recall10'), 3)} | {f(r and r.get('qps'), 0)} |")
