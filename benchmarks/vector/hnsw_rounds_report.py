#!/usr/bin/env python3
"""Reads hnsw-rounds.sh's rounds.jsonl and prints, for recall 0.90 / 0.95 / 0.99, each
system's QPS per round and Naksha's same-round ratio to hnswlib and to FAISS, with the
min–max (and median) of those ratios.

QPS at a target recall is interpolated on each round's own sweep: between the two
efSearch points whose recall brackets the target, log(QPS) linear in recall (the usual
ann-benchmarks reading of a recall/QPS curve). A target above the sweep's best recall is
reported as missing, never extrapolated."""
import json, math, statistics, sys

TARGETS = (0.90, 0.95, 0.99)
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
search = [r for r in rows if r.get("bench") == "hnsw.search"]
for b in (r for r in rows if r.get("bench") == "hnsw.build"):
    print(f"build {b.get('system', 'naksha')}: {b['build_s']:.1f} s (n = {b['n']})")


def qps_at(points, target, key):
    pts = sorted(points, key=lambda p: p["ef"])
    for lo, hi in zip(pts, pts[1:]):
        if lo["recall10"] <= target <= hi["recall10"]:
            if hi["recall10"] == lo["recall10"]:
                return hi[key]
            t = (target - lo["recall10"]) / (hi["recall10"] - lo["recall10"])
            return math.exp(math.log(lo[key]) + t * (math.log(hi[key]) - math.log(lo[key])))
    if pts and pts[0]["recall10"] >= target:
        return pts[0][key]
    return None


rounds = sorted({r["round"] for r in search})
systems = ("naksha", "hnswlib", "faiss")
for key in ("qps", "qps_cpu"):
    print(f"\n## {'wall-clock' if key == 'qps' else 'thread CPU time'} QPS at equal recall@10 (1 thread)\n")
    print("| recall | round | Naksha | hnswlib | FAISS | Naksha/hnswlib | Naksha/FAISS |")
    print("|---|---|---:|---:|---:|---:|---:|")
    summary = []
    for target in TARGETS:
        ratios = {"hnswlib": [], "faiss": []}
        for rd in rounds:
            q = {s: qps_at([r for r in search if r["round"] == rd and r["system"] == s], target, key) for s in systems}
            cells = [f"{q[s]:,.0f}" if q[s] else "—" for s in systems]
            rat = []
            for peer in ("hnswlib", "faiss"):
                if q["naksha"] and q[peer]:
                    ratios[peer].append(q["naksha"] / q[peer]); rat.append(f"{q['naksha'] / q[peer]:.2f}×")
                else:
                    rat.append("—")
            print(f"| {target:.2f} | {rd} | " + " | ".join(cells + rat) + " |")
        summary.append((target, ratios))
    print("\n| recall | Naksha/hnswlib min–max (median) | Naksha/FAISS min–max (median) | rounds |")
    print("|---|---|---|---|")
    for target, ratios in summary:
        def span(v):
            return f"{min(v):.2f}–{max(v):.2f}× ({statistics.median(v):.2f}×)" if v else "—"
        print(f"| {target:.2f} | {span(ratios['hnswlib'])} | {span(ratios['faiss'])} | {len(ratios['hnswlib'])} |")
