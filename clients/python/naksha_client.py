"""A small Python client of the Naksha client protocol (docs/protocol.md).

It speaks the protocol from its specification: NakshaWire frames over TCP, proto3 messages
from proto/naksha/v1 (generated next to this file by `make proto`, runtime: `protobuf` from
PyPI). One call at a time per client; no compression (the client does not ask for it, so the
server never compresses). Standard library plus `protobuf` only.

    from naksha_client import Client
    client = Client(["127.0.0.1:7701", "127.0.0.1:7702", "127.0.0.1:7703"])
    job = client.submit_job("sample_rag", {"question": "What is a lease?"})
    for event in client.watch_job(job.job_id):
        print(event)
    print(client.get_job(job.job_id).status)

Run `python3 naksha_client.py --help` for the command-line form.
"""

import argparse
import json
import os
import socket
import struct
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from naksha.v1 import naksha_pb2, rpc_pb2  # noqa: E402

MAGIC = b"NKSH"
VERSION = 1
HEADER = struct.Struct("<4sBBHQII")  # magic, version, kind, flags, stream id, length, crc32c
KIND_REQUEST, KIND_RESPONSE, KIND_STATUS, KIND_CREDIT = 16, 17, 18, 19
KIND_CANCEL, KIND_PING, KIND_PONG, KIND_GOODBYE = 4, 5, 6, 7
FLAG_COMPRESSED, FLAG_END_OF_STREAM = 1, 2
SERVICE = "naksha.v1.Naksha"


def _crc32c_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc32c_table()


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def encode_frame(kind, stream_id, payload=b"", flags=0):
    head = struct.pack("<4sBBHQI", MAGIC, VERSION, kind, flags, stream_id, len(payload))
    return head + struct.pack("<I", crc32c(head + payload)) + payload


class NakshaError(Exception):
    """A call that did not end OK: `code` is the status name (NOT_FOUND, …)."""

    def __init__(self, code, message, reason=""):
        super().__init__(f"{code} ({reason}): {message}" if reason else f"{code}: {message}")
        self.code, self.message, self.reason = code, message, reason

    @classmethod
    def from_status(cls, status):
        return cls(rpc_pb2.Code.Name(status.code), status.message, status.reason)


class Connection:
    def __init__(self, address, timeout):
        host, _, port = address.rpartition(":")
        self.sock = socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout)
        self.buffer = b""
        self.next_stream = 1

    def close(self):
        try:
            self.sock.sendall(encode_frame(KIND_GOODBYE, 0))
        except OSError:
            pass
        self.sock.close()

    def send(self, kind, stream_id, payload=b""):
        self.sock.sendall(encode_frame(kind, stream_id, payload))

    def read_frame(self):
        while True:
            if len(self.buffer) >= HEADER.size:
                magic, version, kind, flags, stream_id, length, crc = HEADER.unpack_from(self.buffer)
                if magic != MAGIC or version != VERSION:
                    raise NakshaError("INTERNAL", "the server's bytes are not Naksha frames")
                if len(self.buffer) >= HEADER.size + length:
                    payload = self.buffer[HEADER.size:HEADER.size + length]
                    if crc32c(self.buffer[:20] + payload) != crc:
                        raise NakshaError("INTERNAL", "checksum mismatch in a frame from the server")
                    if flags & FLAG_COMPRESSED:
                        raise NakshaError("INTERNAL", "compressed frame received; this client never asks for compression")
                    self.buffer = self.buffer[HEADER.size + length:]
                    if kind == KIND_PING:
                        self.send(KIND_PONG, stream_id)
                        continue
                    return kind, stream_id, payload
            chunk = self.sock.recv(65536)
            if not chunk:
                raise NakshaError("UNKNOWN", "the connection closed mid-call", "connectionLost")
            self.buffer += chunk


class Client:
    """Calls coordinators' client ports, trying the next address when one is unavailable."""

    def __init__(self, servers, token=None, timeout=30.0):
        self.servers = list(servers)
        self.token = token
        self.timeout = timeout
        self.index = 0
        self.connection = None

    def close(self):
        if self.connection:
            self.connection.close()
            self.connection = None

    def _connect(self):
        if self.connection is None:
            address = self.servers[self.index % len(self.servers)]
            try:
                self.connection = Connection(address, self.timeout)
            except OSError as error:
                raise NakshaError("UNAVAILABLE", f"cannot connect to {address}: {error}", "connectFailed")
        return self.connection

    def _request(self, method, message, timeout, window=0):
        request = rpc_pb2.Request(method=f"{SERVICE}/{method}", message=message.SerializeToString(), initial_window=window)
        if timeout is not None:
            request.timeout_ms = max(0, int(timeout * 1000))
        if self.token:
            request.metadata["authorization"] = f"Bearer {self.token}"
        request.metadata["traceparent"] = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
        connection = self._connect()
        stream_id = connection.next_stream
        connection.next_stream += 1
        connection.send(KIND_REQUEST, stream_id, request.SerializeToString())
        return connection, stream_id

    def _failover(self, error, deadline, idempotent):
        retryable = error.code == "UNAVAILABLE" or (error.code == "UNKNOWN" and idempotent)
        if not retryable or time.monotonic() + 0.2 > deadline:
            raise error
        self.close()
        self.index += 1
        time.sleep(0.2)

    def unary(self, method, message, response_type, timeout=None, idempotent=True):
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                connection, stream_id = self._request(method, message, deadline - time.monotonic())
                response = None
                while True:
                    kind, frame_stream, payload = connection.read_frame()
                    if kind == KIND_GOODBYE:
                        status = rpc_pb2.Status.FromString(payload) if payload else rpc_pb2.Status(code=rpc_pb2.UNAVAILABLE)
                        raise NakshaError("UNAVAILABLE", status.message or "the server closed the connection", status.reason)
                    if frame_stream != stream_id:
                        continue
                    if kind == KIND_RESPONSE:
                        response = response_type.FromString(payload)
                    elif kind == KIND_STATUS:
                        status = rpc_pb2.Status.FromString(payload)
                        if status.code != rpc_pb2.OK:
                            raise NakshaError.from_status(status)
                        return response
            except (OSError, NakshaError) as error:
                if isinstance(error, OSError):
                    error = NakshaError("UNKNOWN", str(error), "connectionLost")
                self._failover(error, deadline, idempotent)

    def submit_job(self, graph, input=None, idempotency_key=None, priority=0):
        request = naksha_pb2.SubmitJobRequest(
            graph=graph, input_json=json.dumps(input or {}), priority=priority,
            idempotency_key=idempotency_key or f"py-{uuid.uuid4().hex}")
        return self.unary("SubmitJob", request, naksha_pb2.SubmitJobResponse)

    def get_job(self, job_id):
        return self.unary("GetJob", naksha_pb2.GetJobRequest(job_id=job_id), naksha_pb2.Job)

    def cancel_job(self, job_id):
        return self.unary("CancelJob", naksha_pb2.CancelJobRequest(job_id=job_id), naksha_pb2.Job, idempotent=False)

    def list_graphs(self):
        return self.unary("ListGraphs", naksha_pb2.ListGraphsRequest(), naksha_pb2.ListGraphsResponse)

    def cluster_status(self):
        return self.unary("ClusterStatus", naksha_pb2.ClusterStatusRequest(), naksha_pb2.ClusterStatusResponse)

    def watch_job(self, job_id, after_event_id=0, window=16):
        """Yields the job's events until the one that finishes it; resumes after the last
        event on another server when a connection is lost."""
        last = after_event_id
        while True:
            try:
                request = naksha_pb2.WatchJobRequest(job_id=job_id, after_event_id=last)
                connection, stream_id = self._request("WatchJob", request, None, window)
                unacknowledged = 0
                while True:
                    kind, frame_stream, payload = connection.read_frame()
                    if kind == KIND_GOODBYE:
                        raise NakshaError("UNAVAILABLE", "the server closed the connection", "goodbye")
                    if frame_stream != stream_id:
                        continue
                    if kind == KIND_STATUS:
                        status = rpc_pb2.Status.FromString(payload)
                        if status.code != rpc_pb2.OK:
                            raise NakshaError.from_status(status)
                        return
                    if kind == KIND_RESPONSE:
                        event = naksha_pb2.JobEvent.FromString(payload)
                        unacknowledged += 1
                        if unacknowledged >= window // 2:
                            connection.send(KIND_CREDIT, stream_id, rpc_pb2.Credit(messages=unacknowledged).SerializeToString())
                            unacknowledged = 0
                        if event.event_id > last:
                            last = event.event_id
                            yield event
            except (OSError, NakshaError) as error:
                if isinstance(error, OSError):
                    error = NakshaError("UNKNOWN", str(error), "connectionLost")
                self._failover(error, time.monotonic() + self.timeout, True)


def main():
    parser = argparse.ArgumentParser(description="Naksha client protocol from Python")
    parser.add_argument("--server", default=os.environ.get("NAKSHA_SERVER", "127.0.0.1:7701,127.0.0.1:7702,127.0.0.1:7703"))
    commands = parser.add_subparsers(dest="command", required=True)
    submit = commands.add_parser("submit", help="submit a job and watch it to the end")
    submit.add_argument("graph")
    submit.add_argument("--input", default="{}", help="the input as a JSON object")
    submit.add_argument("--idempotency-key")
    status = commands.add_parser("status", help="print a job")
    status.add_argument("job_id", type=int)
    commands.add_parser("graphs", help="list registered graphs")
    arguments = parser.parse_args()
    client = Client(arguments.server.split(","), token=os.environ.get("NAKSHA_API_TOKEN"))
    try:
        if arguments.command == "submit":
            submitted = client.submit_job(arguments.graph, json.loads(arguments.input), arguments.idempotency_key)
            print(f"job {submitted.job_id} submitted", flush=True)
            for event in client.watch_job(submitted.job_id):
                for change in event.changes:
                    if change.HasField("task"):
                        state = naksha_pb2.TaskState.Name(change.task.state)
                        print(f"event {event.event_id}: task {change.task.task_id} {change.task.node} {state}", flush=True)
                    else:
                        print(f"event {event.event_id}: job {naksha_pb2.JobStatus.Name(change.status)}", flush=True)
            job = client.get_job(submitted.job_id)
            print(json.dumps({"id": job.id, "status": naksha_pb2.JobStatus.Name(job.status), "state": json.loads(job.state_json or "{}")}))
            return 0 if job.status == naksha_pb2.JOB_STATUS_SUCCEEDED else 1
        if arguments.command == "status":
            job = client.get_job(arguments.job_id)
            print(json.dumps({"id": job.id, "status": naksha_pb2.JobStatus.Name(job.status), "state": json.loads(job.state_json or "{}")}))
        elif arguments.command == "graphs":
            for graph in client.list_graphs().graphs:
                print(f"{graph.name}@{graph.version}")
        return 0
    except NakshaError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
