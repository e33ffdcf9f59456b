import Foundation
import NIOCore
import NIOPosix
@testable import NakshaProtocol
import NakshaWire
import SwiftProtobuf
import Synchronization
import Testing

/// The server and the Swift client over real loopback TCP, with a test router: unary calls,
/// streams under flow control, cancellation, deadlines, and hostile bytes on raw sockets.
@Suite struct ProtocolServerTests {
    /// What the test handlers observed.
    final class Probe: Sendable {
        let streamed = Atomic<Int>(0)
        let slowStarted = Atomic<Int>(0)
        let cancelled = Atomic<Int>(0)
        let metadata = Mutex<[String: String]>([:])
    }

    static func router(_ probe: Probe) -> RPCRouter {
        var router = RPCRouter()
        // Echo: the request's graph comes back as the job's graph.
        router.unary("test/Echo") { (request: Naksha_V1_SubmitJobRequest, context) in
            probe.metadata.withLock { $0 = context.metadata }
            if request.graph == "fail" { throw RPCError(.notFound, "no such thing", reason: "unknownThing") }
            var job = Naksha_V1_Job()
            job.graph = request.graph
            return job
        }
        router.unary("test/Slow") { (_: Naksha_V1_GetJobRequest, _) in
            probe.slowStarted.add(1, ordering: .relaxed)
            do {
                try await Task.sleep(for: .seconds(60))
            } catch {
                probe.cancelled.add(1, ordering: .relaxed)
                throw error
            }
            return Naksha_V1_Job()
        }
        // Streams `job_id` events, counting each one the flow control let out.
        router.serverStream("test/Count") { (request: Naksha_V1_WatchJobRequest, _, writer: StreamWriter<Naksha_V1_JobEvent>) in
            do {
                for index in 1...request.jobID {
                    var event = Naksha_V1_JobEvent()
                    event.eventID = index
                    try await writer.send(event)
                    probe.streamed.add(1, ordering: .relaxed)
                }
            } catch {
                probe.cancelled.add(1, ordering: .relaxed)
                throw error
            }
        }
        router.mapError = { error in (error as? CocoaError).map { RPCError(.internal, "\($0)") } }
        return router
    }

    static func start(_ probe: Probe, limits: ProtocolLimits = ProtocolLimits()) async throws -> (ProtocolServer, NakshaClient) {
        let server = try await ProtocolServer.start(host: "127.0.0.1", port: 0, router: router(probe), limits: limits)
        let client = try NakshaClient(NakshaClient.Configuration(servers: ["127.0.0.1:\(server.port)"], token: "secret-token", defaultTimeout: .seconds(10)))
        return (server, client)
    }

    static func echo(_ client: NakshaClient, _ graph: String, timeout: Duration? = nil) async throws -> Naksha_V1_Job {
        var request = Naksha_V1_SubmitJobRequest()
        request.graph = graph
        return try await client.unary("test/Echo", request, timeout: timeout, retry: .idempotent)
    }

    @Test func unaryCallsCarryMetadataAndTypedErrors() async throws {
        let probe = Probe()
        let (server, client) = try await Self.start(probe)
        defer { Task { await client.close(); await server.shutdown() } }
        #expect(try await Self.echo(client, "hello").graph == "hello")
        let metadata = probe.metadata.withLock { $0 }
        #expect(metadata["authorization"] == "Bearer secret-token")
        #expect(TraceContext.isValidTraceParent(metadata["traceparent"] ?? ""), "W3C trace context travels with every call")
        do {
            _ = try await Self.echo(client, "fail")
            Issue.record("an error status must throw")
        } catch let error as RPCError {
            #expect(error.code == .notFound && error.reason == "unknownThing" && error.message == "no such thing")
        }
        // Many calls at once on the one connection, from many threads: requests must still
        // leave in stream-id order (the server closes a connection whose ids go backwards).
        let graphs = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<1_000 { group.addTask { try await Self.echo(client, "g\(index)").graph } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(graphs.count == 1_000)
    }

    @Test func anOversizedRequestFailsAloneAndTheConnectionGoesOn() async throws {
        let probe = Probe()
        let (server, client) = try await Self.start(probe)
        defer { Task { await client.close(); await server.shutdown() } }
        #expect(try await Self.echo(client, "before").graph == "before")
        do {
            _ = try await Self.echo(client, String(repeating: "x", count: 5 << 20))
            Issue.record("a 5 MiB request was sent")
        } catch let error as RPCError {
            #expect(error.code == .resourceExhausted && error.reason == "requestTooLarge", "\(error)")
        }
        #expect(try await Self.echo(client, "after").graph == "after")
    }

    @Test func unknownMethodsAndPastDeadlinesGetTheirStatus() async throws {
        let probe = Probe()
        let (server, client) = try await Self.start(probe)
        defer { Task { await client.close(); await server.shutdown() } }
        do {
            let _: Naksha_V1_Job = try await client.unary("test/Nope", Naksha_V1_GetJobRequest(), timeout: nil, retry: .idempotent)
            Issue.record("unknown method answered")
        } catch let error as RPCError {
            #expect(error.code == .unimplemented)
        }
        // A deadline that passes while the handler runs: DEADLINE_EXCEEDED, handler cancelled.
        do {
            let _: Naksha_V1_Job = try await client.unary("test/Slow", Naksha_V1_GetJobRequest(), timeout: .milliseconds(300), retry: .idempotent)
            Issue.record("a slow call beat its deadline")
        } catch let error as RPCError {
            #expect(error.code == .deadlineExceeded, "\(error)")
        }
        #expect(await eventually { probe.cancelled.load(ordering: .relaxed) == 1 }, "the server cancels a call whose deadline passed")
        // A deadline already past when sent: refused without running.
        let connection = try await client.currentConnection(deadline: .now + .seconds(5))
        var request = try client.envelope("test/Slow", Naksha_V1_GetJobRequest(), deadline: nil)
        request.timeoutMs = 0
        do {
            _ = try await connection.unary(request)
            Issue.record("a past deadline ran")
        } catch let error as RPCError {
            #expect(error.code == .deadlineExceeded && error.reason == "deadlinePassed")
        }
        #expect(probe.slowStarted.load(ordering: .relaxed) == 1, "the handler never ran for the past deadline")
    }

    @Test func cancellingTheCallersTaskCancelsTheCallOnTheServer() async throws {
        let probe = Probe()
        let (server, client) = try await Self.start(probe)
        defer { Task { await client.close(); await server.shutdown() } }
        let call = Task { () -> RPCError? in
            do {
                let _: Naksha_V1_Job = try await client.unary("test/Slow", Naksha_V1_GetJobRequest(), timeout: .seconds(60), retry: .idempotent)
                return nil
            } catch let error as RPCError {
                return error
            } catch {
                return RPCError(.internal, "\(error)")
            }
        }
        #expect(await eventually { probe.slowStarted.load(ordering: .relaxed) == 1 })
        call.cancel()
        let error = await call.value
        #expect(error?.code == .cancelled, "\(String(describing: error))")
        #expect(await eventually { probe.cancelled.load(ordering: .relaxed) == 1 }, "the server's handler was cancelled by the cancel frame")
        #expect(try await Self.echo(client, "still here").graph == "still here")
    }

    @Test func aReaderThatStopsHoldsTheServerToOneWindow() async throws {
        let probe = Probe()
        let (server, client) = try await Self.start(probe)
        defer { Task { await client.close(); await server.shutdown() } }
        let connection = try await client.currentConnection(deadline: .now + .seconds(5))
        var watch = Naksha_V1_WatchJobRequest()
        watch.jobID = 100_000
        let (streamID, messages) = try connection.stream(try client.envelope("test/Count", watch, deadline: nil, window: 4))
        #expect(await eventually { probe.streamed.load(ordering: .relaxed) == 4 })
        // A unary call on the same connection is answered (the stream does not block it),
        // and by then the server has read everything sent before it: still 4.
        #expect(try await Self.echo(client, "barrier").graph == "barrier")
        #expect(probe.streamed.load(ordering: .relaxed) == 4, "no credit, no message")
        connection.grant(3, streamID: streamID)
        #expect(await eventually { probe.streamed.load(ordering: .relaxed) == 7 })
        var iterator = messages.makeAsyncIterator()
        let first = try await iterator.next().map { try Naksha_V1_JobEvent(serializedBytes: $0) }
        #expect(first?.eventID == 1)
        connection.cancel(streamID: streamID)
        #expect(await eventually { probe.cancelled.load(ordering: .relaxed) == 1 }, "cancel stops the handler")
    }

    @Test func aStreamRunsToItsEndUnderFlowControl() async throws {
        let probe = Probe()
        let (server, client) = try await Self.start(probe)
        defer { Task { await client.close(); await server.shutdown() } }
        let connection = try await client.currentConnection(deadline: .now + .seconds(5))
        var watch = Naksha_V1_WatchJobRequest()
        watch.jobID = 1000
        let (streamID, messages) = try connection.stream(try client.envelope("test/Count", watch, deadline: nil, window: 8))
        var received: [UInt64] = []
        for try await bytes in messages {
            received.append(try Naksha_V1_JobEvent(serializedBytes: bytes).eventID)
            if received.count % 4 == 0 { connection.grant(4, streamID: streamID) }
        }
        #expect(received == Array(1...1000), "every message, in order, then OK ends the stream")
    }

    // MARK: Hostile bytes on raw sockets

    /// Writes `bytes` on a new connection and reads until the server closes it, on a thread
    /// of its own: blocking socket calls must not hold one of the few threads Swift's
    /// concurrency runs every other test on.
    static func rawExchange(_ port: Int, _ bytes: [UInt8], closeWrite: Bool = false) async throws -> [UInt8] {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try blockingExchange(port, bytes, closeWrite: closeWrite) })
            }
        }
    }

    static func blockingExchange(_ port: Int, _ bytes: [UInt8], closeWrite: Bool) throws -> [UInt8] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CocoaError(.fileNoSuchFile) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw CocoaError(.fileReadUnknown) }
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if closeWrite { shutdown(fd, Int32(SHUT_WR)) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        return received
    }

    /// The `goodbye` frame the server sent before closing, decoded.
    static func goodbye(_ bytes: [UInt8]) throws -> Naksha_V1_Status? {
        var decoder = FrameDecoder()
        decoder.append(bytes)
        while let frame = try decoder.nextFrame() {
            if frame.kind == .goodbye { return try Naksha_V1_Status(serializedBytes: frame.payload) }
        }
        return nil
    }

    @Test func garbageTruncatedAndOversizedInputCloseOnlyThatConnection() async throws {
        let probe = Probe()
        let (server, client) = try await Self.start(probe, limits: ProtocolLimits(maxRequestBytes: 64 << 10))
        defer { Task { await client.close(); await server.shutdown() } }
        #expect(try await Self.echo(client, "before").graph == "before")

        let http = try await Self.rawExchange(server.port, Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(try Self.goodbye(http)?.reason == "badMagic", "an HTTP client is told what is wrong, then closed")

        var oversized = try FrameEncoder(compressionThreshold: .max).encode(Frame(kind: .request, streamID: 1, payload: [UInt8](repeating: 1, count: 100)))
        oversized.replaceSubrange(16..<20, with: [0x00, 0x00, 0x00, 0x10])  // declares 256 MiB
        #expect(try await Self.goodbye(Self.rawExchange(server.port, oversized))?.code == .resourceExhausted)

        let request = try FrameEncoder().encode(try ProtocolGoldenAndFuzzTests.submitRequestFrame())
        // A frame cut short, then EOF: the connection closes without an answer to the call.
        let truncated = try await Self.rawExchange(server.port, Array(request.prefix(30)), closeWrite: true)
        var truncatedFrames = FrameDecoder()
        truncatedFrames.append(truncated)
        #expect(try truncatedFrames.nextFrame()?.kind != .status, "no call ran from half a frame")

        var flipped = request
        flipped[30] ^= 0xFF
        #expect(try await Self.goodbye(Self.rawExchange(server.port, flipped))?.reason == "checksumMismatch")

        let wrongKind = try FrameEncoder().encode(Frame(kind: .reply, streamID: 1, payload: []))
        #expect(try await Self.goodbye(Self.rawExchange(server.port, wrongKind))?.reason == "protocolError")

        // The first connection never noticed.
        #expect(try await Self.echo(client, "after").graph == "after")
        #expect(await eventually { server.connectionCount == 1 }, "every hostile connection was closed")
    }

    @Test func connectionsBeyondTheLimitAreToldAndClosed() async throws {
        let probe = Probe()
        let (server, client) = try await Self.start(probe, limits: ProtocolLimits(maxConnections: 1))
        defer { Task { await client.close(); await server.shutdown() } }
        #expect(try await Self.echo(client, "first").graph == "first")
        let refused = try await Self.rawExchange(server.port, [])
        #expect(try Self.goodbye(refused)?.reason == "tooManyConnections")
    }

    @Test func shutdownLetsRunningCallsFinishAndRefusesNewOnes() async throws {
        let probe = Probe()
        let (server, client) = try await Self.start(probe)
        defer { Task { await client.close() } }
        #expect(try await Self.echo(client, "x").graph == "x")
        await server.shutdown(grace: .seconds(2))
        do {
            _ = try await Self.echo(client, "y", timeout: .milliseconds(500))
            Issue.record("a call after shutdown succeeded")
        } catch let error as RPCError {
            #expect([.unavailable, .deadlineExceeded, .unknown].contains(error.code), "\(error)")
        }
    }
}

/// Polls `condition` until it holds or `timeout` passes (state another thread changes).
func eventually(timeout: Duration = .seconds(10), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        await Task.yield()
        try? await Task.sleep(for: .milliseconds(5))
    }
    return await condition()
}
