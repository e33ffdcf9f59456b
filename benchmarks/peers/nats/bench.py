#!/usr/bin/env python3
"""Peer benchmark for Naksha's job queue: NATS JetStream as a work queue.

A three-node JetStream cluster (started by run.sh) holds an R3 work-queue stream with file
storage. CLIENTS closed-loop callers each publish one message, wait for its PubAck (the
stream has stored it on a quorum: a submit), then wait until a worker has completed it, and
only then publish the next — as `naksha bench jobs` callers do with `?wait`. CONSUMERS pull
workers fetch in batches and acknowledge every message of a batch concurrently with a
confirmed ack (ack_sync: the server has recorded the ack, so the job is done). A message's
latency is publish start → confirmed ack; throughput counts jobs completed in DURATION.

Usage: bench.py --servers nats://127.0.0.1:4301,… [--clients 64] [--consumers 4]
                [--duration 10] [--batch 64]
Output: one JSON line.
"""
import argparse
import asyncio
import json
import struct
import time

import nats
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StorageType, StreamConfig


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", required=True)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--consumers", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--stream", default="JOBS")
    arguments = parser.parse_args()
    servers = arguments.servers.split(",")
    connection = await nats.connect(servers=servers, max_reconnect_attempts=5)
    js = connection.jetstream(timeout=10)
    try:
        await js.delete_stream(arguments.stream)
    except Exception:  # absent: nothing to delete
        pass
    await js.add_stream(
        StreamConfig(
            name=arguments.stream, subjects=[f"{arguments.stream.lower()}.>"], retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE, num_replicas=3))
    await js.add_consumer(
        arguments.stream, ConsumerConfig(durable_name="workers", ack_policy=AckPolicy.EXPLICIT, max_ack_pending=100_000))

    latencies: list[float] = []
    published = 0
    errors = 0
    deadline = time.perf_counter() + arguments.duration
    stop = asyncio.Event()
    subject = f"{arguments.stream.lower()}.job"

    waiting: dict[int, asyncio.Future] = {}
    loop = asyncio.get_running_loop()

    async def publisher(client: int) -> None:
        nonlocal published, errors
        sequence = 0
        while time.perf_counter() < deadline:
            sequence += 1
            key = client << 32 | sequence
            done = loop.create_future()
            waiting[key] = done
            try:
                await js.publish(subject, struct.pack("<dQ", time.perf_counter(), key))
                published += 1
                await asyncio.wait_for(done, timeout=30)
            except Exception:
                errors += 1
            waiting.pop(key, None)

    async def complete(message) -> None:
        nonlocal errors
        try:
            await message.ack_sync(timeout=10)
        except Exception:
            errors += 1
            return
        now = time.perf_counter()
        started, key = struct.unpack("<dQ", message.data)
        if now <= deadline:
            latencies.append(now - started)
        future = waiting.get(key)
        if future is not None and not future.done():
            future.set_result(None)

    async def consumer() -> None:
        nonlocal errors
        subscription = await js.pull_subscribe(subject, durable="workers", stream=arguments.stream)
        while not stop.is_set():
            try:
                # A short wait: fetch holds a partial batch until its timeout, which would add
                # that much latency to every job of a half-full batch.
                messages = await subscription.fetch(arguments.batch, timeout=0.02)
            except nats.errors.TimeoutError:
                continue
            except Exception:
                errors += 1
                continue
            await asyncio.gather(*(complete(message) for message in messages))

    consumers = [asyncio.create_task(consumer()) for _ in range(arguments.consumers)]
    await asyncio.gather(*(publisher(client) for client in range(arguments.clients)))
    await asyncio.sleep(1)
    stop.set()
    await asyncio.gather(*consumers, return_exceptions=True)
    await connection.close()
    latencies.sort()

    def percentile(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000, 2) if latencies else 0.0

    print(json.dumps({
        "system": "nats-jetstream", "clients": arguments.clients, "consumers": arguments.consumers,
        "duration_s": arguments.duration, "published": published, "completed": len(latencies),
        "jobs_per_s": round(len(latencies) / arguments.duration, 1), "p50_ms": percentile(0.5), "p99_ms": percentile(0.99),
        "errors": errors,
    }, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(main())
