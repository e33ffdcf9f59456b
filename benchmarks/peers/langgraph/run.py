#!/usr/bin/env python3
"""Peer benchmark for `naksha bench jobs`: LangGraph invoking the same no-op graphs in process.

A linear graph of N no-op nodes (each returns a one-key update, as Naksha's template node
writes one key) is invoked sequentially, once without a checkpointer and once with LangGraph's
in-memory checkpointer (InMemorySaver, a new thread id per invocation, as each Naksha job is a
new run). Reported per configuration: invocations per second and microseconds per node.

Usage: run.py [--nodes 3] [--invocations 5000] [--json]
Output: human-readable lines, then one JSON line (the last line of stdout).
"""
import argparse
import json
import sys
import time
import uuid
from typing import TypedDict

import langgraph
from importlib.metadata import version
from langgraph.graph import END, START, StateGraph

try:
    from langgraph.checkpoint.memory import InMemorySaver
except ImportError:  # older releases
    from langgraph.checkpoint.memory import MemorySaver as InMemorySaver


def build(nodes: int, checkpointer=None):
    class State(TypedDict, total=False):
        name: str
        out0: str
        out1: str
        out2: str
        out3: str
        out4: str
        out5: str
        out6: str
        out7: str

    graph = StateGraph(State)
    previous = START
    for index in range(nodes):
        key = f"out{index}"
        graph.add_node(f"n{index}", lambda state, key=key: {key: "Hello " + state.get("name", "")})
        graph.add_edge(previous, f"n{index}")
        previous = f"n{index}"
    graph.add_edge(previous, END)
    return graph.compile(checkpointer=checkpointer)


def measure(nodes: int, invocations: int, checkpointed: bool) -> dict:
    app = build(nodes, InMemorySaver() if checkpointed else None)
    for _ in range(min(200, invocations)):  # warm up
        config = {"configurable": {"thread_id": str(uuid.uuid4())}} if checkpointed else None
        app.invoke({"name": "Ada"}, config)
    latencies = []
    start = time.perf_counter()
    for _ in range(invocations):
        config = {"configurable": {"thread_id": str(uuid.uuid4())}} if checkpointed else None
        begin = time.perf_counter()
        app.invoke({"name": "Ada"}, config)
        latencies.append(time.perf_counter() - begin)
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "checkpointer": "in-memory" if checkpointed else "none",
        "nodes": nodes,
        "invocations": invocations,
        "invocations_per_s": round(invocations / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 3),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 3),
        "us_per_node": round(elapsed / invocations / nodes * 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--invocations", type=int, default=5000)
    arguments = parser.parse_args()
    results = [measure(arguments.nodes, arguments.invocations, False), measure(arguments.nodes, arguments.invocations, True)]
    print(f"langgraph {version('langgraph')}, python {sys.version.split()[0]}, {arguments.nodes}-node linear no-op graph, sequential invoke")
    for result in results:
        print(
            f"  checkpointer {result['checkpointer']:9}: {result['invocations_per_s']:8.1f} invocations/s, "
            f"{result['us_per_node']:7.1f} µs/node, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms")
    print(json.dumps({"system": "langgraph", "version": version("langgraph"), "results": results}, sort_keys=True))


if __name__ == "__main__":
    main()
