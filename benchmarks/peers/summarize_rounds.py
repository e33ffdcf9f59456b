#!/usr/bin/env python3
"""Reads one JSON object per line (a benchmark round) on stdin; prints each figure's
min–max over the rounds, then one JSON line {"rounds": [...], "min_max": {...}}."""
import json
import sys

rows = [json.loads(line) for line in sys.stdin if line.strip()]
keys = sorted(k for k in rows[0] if k != "round")
summary = {k: [min(r[k] for r in rows), max(r[k] for r in rows)] for k in keys}
width = max(len(k) for k in keys)
for k in keys:
    print(f"  {k:{width}} {summary[k][0]} – {summary[k][1]}")
print(json.dumps({"rounds": rows, "min_max": summary}, sort_keys=True))
