import Foundation
import NIOCore
import NIOPosix
import SwiftProtobuf
import Synchronization

/// The Swift client of the Naksha client protocol.
///
/// It keeps one connection, to one of `servers`, and multiplexes every call on it. A call
/// that meets UNAVAILABLE (no leader during an election, a coordinator going away, a
/// refused connection) is retried on the next server with backoff, within the call's
/// deadline: nothing was applied, so this is always safe. A call whose outcome is unknown
/// (UNKNOWN: the connection dropped after the request left) is retried only when the call
/// is idempotent: reads, graph registration (content-addressed) and `submitJob`, which
/// always carries an idempotency key (one is made when the request has none).
public final class NakshaClient: Sendable {
    public struct Configuration: Sendable {
        /// Coordinators' client addresses, `HOST:PORT`.
        public var servers: [String]
        /// Sent as `authorization: Bearer TOKEN` when set.
        public var token: String?
        /// The deadline of a call that names none.
        public var defaultTimeout: Duration
        /// Asks the server to compress large responses (zstd).
        public var acceptCompression: Bool

        public init(servers: [String], token: String? = nil, defaultTimeout: Duration = .seconds(30), acceptCompression: Bool = true) {
            self.servers = servers
            self.token = token
            self.defaultTimeout = defaultTimeout
            self.acceptCompression = acceptCompression
        }
    }

    /// Whether a call may be sent again after an unknown outcome.
    enum Retry: Sendable {
        case idempotent
        case onlyIfUnapplied
    }

    public let configuration: Configuration
    private let group: any EventLoopGroup
    /// Calls in flight at once, under the server's per-connection limit (128): more wait here
    /// instead of being refused RESOURCE_EXHAUSTED.
    private let slots = CallSlots(100)
    private let connection = Mutex<(current: ClientConnection?, serverIndex: Int)>((nil, 0))
    private let addresses: [(host: String, port: Int)]

    public init(_ configuration: Configuration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        guard !configuration.servers.isEmpty else { throw RPCError(.invalidArgument, "no server address given", reason: "noServers") }
        self.addresses = try configuration.servers.map(Self.parse)
        self.configuration = configuration
        self.group = group
    }

    /// Parses `HOST:PORT` (`[::1]:7700` for IPv6).
    static func parse(_ address: String) throws -> (host: String, port: Int) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (1...65535).contains(port) else {
            throw RPCError(.invalidArgument, "\"\(address)\" is not HOST:PORT", reason: "badAddress")
        }
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }

    public func close() async {
        let current = connection.withLock { state in
            defer { state.current = nil }
            return state.current
        }
        await current?.close()
    }

    // MARK: The methods

    public func submitJob(_ request: Naksha_V1_SubmitJobRequest, timeout: Duration? = nil) async throws -> Naksha_V1_SubmitJobResponse {
        var request = request
        if request.idempotencyKey.isEmpty { request.idempotencyKey = Self.newIdempotencyKey() }
        return try await unary(NakshaMethod.submitJob, request, timeout: timeout, retry: .idempotent)
    }

    public func getJob(_ id: UInt64, timeout: Duration? = nil) async throws -> Naksha_V1_Job {
        var request = Naksha_V1_GetJobRequest()
        request.jobID = id
        return try await unary(NakshaMethod.getJob, request, timeout: timeout, retry: .idempotent)
    }

    public func cancelJob(_ id: UInt64, timeout: Duration? = nil) async throws -> Naksha_V1_Job {
        var request = Naksha_V1_CancelJobRequest()
        request.jobID = id
        return try await unary(NakshaMethod.cancelJob, request, timeout: timeout, retry: .onlyIfUnapplied)
    }

    public func resumeJob(_ id: UInt64, inputJSON: String = "", timeout: Duration? = nil) async throws -> Naksha_V1_Job {
        var request = Naksha_V1_ResumeJobRequest()
        request.jobID = id
        request.inputJson = inputJSON
        return try await unary(NakshaMethod.resumeJob, request, timeout: timeout, retry: .onlyIfUnapplied)
    }

    public func listJobs(_ request: Naksha_V1_ListJobsRequest, timeout: Duration? = nil) async throws -> Naksha_V1_ListJobsResponse {
        try await unary(NakshaMethod.listJobs, request, timeout: timeout, retry: .idempotent)
    }

    public func registerGraph(yaml: String, fileName: String = "", timeout: Duration? = nil) async throws -> Naksha_V1_RegisterGraphResponse {
        var request = Naksha_V1_RegisterGraphRequest()
        request.yaml = yaml
        request.fileName = fileName
        return try await unary(NakshaMethod.registerGraph, request, timeout: timeout, retry: .idempotent)
    }

    public func listGraphs(name: String = "", timeout: Duration? = nil) async throws -> Naksha_V1_ListGraphsResponse {
        var request = Naksha_V1_ListGraphsRequest()
        request.name = name
        return try await unary(NakshaMethod.listGraphs, request, timeout: timeout, retry: .idempotent)
    }

    public func clusterStatus(timeout: Duration? = nil) async throws -> Naksha_V1_ClusterStatusResponse {
        try await unary(NakshaMethod.clusterStatus, Naksha_V1_ClusterStatusRequest(), timeout: timeout, retry: .idempotent)
    }

    /// Creates a collection (the same shape again answers `created: false`).
    public func createCollection(_ request: Naksha_V1_CreateCollectionRequest, timeout: Duration? = nil) async throws -> Naksha_V1_Collection {
        try await unary(NakshaMethod.createCollection, request, timeout: timeout, retry: .idempotent)
    }

    public func listCollections(timeout: Duration? = nil) async throws -> Naksha_V1_ListCollectionsResponse {
        try await unary(NakshaMethod.listCollections, Naksha_V1_ListCollectionsRequest(), timeout: timeout, retry: .idempotent)
    }

    public func dropCollection(_ name: String, timeout: Duration? = nil) async throws -> Naksha_V1_DropCollectionResponse {
        var request = Naksha_V1_DropCollectionRequest()
        request.name = name
        return try await unary(NakshaMethod.dropCollection, request, timeout: timeout, retry: .onlyIfUnapplied)
    }

    public func listShards(collection: String = "", timeout: Duration? = nil) async throws -> Naksha_V1_ListShardsResponse {
        var request = Naksha_V1_ListShardsRequest()
        request.collection = collection
        return try await unary(NakshaMethod.listShards, request, timeout: timeout, retry: .idempotent)
    }

    /// Starts moving one replica (a repeat of a move in progress answers the same move).
    public func moveShard(_ request: Naksha_V1_MoveShardRequest, timeout: Duration? = nil) async throws -> Naksha_V1_ShardMovesResponse {
        try await unary(NakshaMethod.moveShard, request, timeout: timeout, retry: .idempotent)
    }

    /// Plans (`dryRun`) or starts the moves that balance the shard map.
    public func rebalanceShards(_ request: Naksha_V1_RebalanceShardsRequest, timeout: Duration? = nil) async throws -> Naksha_V1_ShardMovesResponse {
        try await unary(NakshaMethod.rebalanceShards, request, timeout: timeout, retry: request.dryRun ? .idempotent : .onlyIfUnapplied)
    }

    /// Writes vectors (idempotent by id: a repeat writes the same values again).
    public func upsertVectors(_ request: Naksha_V1_UpsertVectorsRequest, timeout: Duration? = nil) async throws -> Naksha_V1_VectorWriteResponse {
        try await unary(NakshaMethod.upsertVectors, request, timeout: timeout, retry: .idempotent)
    }

    public func deleteVectors(_ request: Naksha_V1_DeleteVectorsRequest, timeout: Duration? = nil) async throws -> Naksha_V1_VectorWriteResponse {
        try await unary(NakshaMethod.deleteVectors, request, timeout: timeout, retry: .idempotent)
    }

    public func queryVectors(_ request: Naksha_V1_QueryVectorsRequest, timeout: Duration? = nil) async throws -> Naksha_V1_QueryVectorsResponse {
        try await unary(NakshaMethod.queryVectors, request, timeout: timeout, retry: .idempotent)
    }

    /// The health of the server the client is connected to (no retry elsewhere: the answer
    /// is about one server).
    public func health(timeout: Duration? = nil) async throws -> Naksha_V1_HealthResponse {
        try await unary(NakshaMethod.health, Naksha_V1_HealthRequest(), timeout: timeout, retry: .idempotent, retries: false)
    }

    /// The job's events after `afterEventID`, until the event that finishes it. A dropped
    /// connection or a coordinator going away is survived: the watch resumes on another
    /// server after the last event received, with no gap and no duplicate. When no server
    /// answers for `configuration.defaultTimeout`, the last error is thrown.
    public func watchJob(_ id: UInt64, afterEventID: UInt64 = 0, window: UInt32 = 32) -> JobWatch {
        JobWatch(client: self, jobID: id, after: afterEventID, window: window)
    }

    // MARK: Calls

    /// A unary call with retries within its deadline (see the type's documentation).
    func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: String, _ message: Request, timeout: Duration?, retry: Retry, retries: Bool = true
    ) async throws -> Response {
        let start = ContinuousClock.now
        let deadline = start + (timeout ?? configuration.defaultTimeout)
        var backoff = Duration.milliseconds(50)
        var refusedInARow = 0
        while true {
            var lastError: RPCError
            do {
                await slots.acquire()
                defer { slots.release() }
                let connection = try await currentConnection(deadline: deadline)
                let request = try envelope(method, message, deadline: deadline)
                let bytes = try await connection.unary(request)
                do {
                    return try Response(serializedBytes: bytes)
                } catch {
                    throw RPCError(.internal, "the server's response is not a valid \(Response.protoMessageName)", reason: "malformedResponse")
                }
            } catch let error as RPCError {
                lastError = error
            }
            let retryable = lastError.code == .unavailable || (lastError.code == .unknown && retry == .idempotent)
            refusedInARow = lastError.reason == "connectFailed" ? refusedInARow + 1 : 0
            // Every server refusing connections, twice round, for 2 s: nothing listens there
            // (a wrong address, a stopped cluster); an election never looks like that.
            let nothingListens = refusedInARow >= 2 * addresses.count && ContinuousClock.now - start > .seconds(2)
            guard retries, retryable, !nothingListens, ContinuousClock.now + backoff < deadline else { throw lastError }
            rotate()
            try await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(1))
        }
    }

    func envelope<Request: SwiftProtobuf.Message>(_ method: String, _ message: Request, deadline: ContinuousClock.Instant?, window: UInt32 = 0) throws -> Naksha_V1_Request {
        var request = Naksha_V1_Request()
        request.method = method
        if let deadline {
            let left = deadline - ContinuousClock.now
            let millis = left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000
            request.timeoutMs = UInt64(max(millis, 0))
        }
        request.initialWindow = window
        if let token = configuration.token { request.metadata["authorization"] = "Bearer \(token)" }
        if configuration.acceptCompression { request.metadata["naksha-accept-compression"] = "zstd" }
        request.metadata["traceparent"] = TraceContext.newTraceParent()
        do {
            request.message = Data(try message.serializedBytes() as [UInt8])
        } catch {
            throw RPCError(.invalidArgument, "the request cannot be serialized: \(error)", reason: "malformedRequest")
        }
        return request
    }

    /// The open connection, or a new one to the current server (rotating through the
    /// servers on connection failures, until `deadline`).
    func currentConnection(deadline: ContinuousClock.Instant) async throws -> ClientConnection {
        let (current, index) = connection.withLock { ($0.current, $0.serverIndex) }
        if let current, current.isOpen { return current }
        let address = addresses[index % addresses.count]
        let left = deadline - ContinuousClock.now
        guard left > .zero else {
            throw RPCError(.deadlineExceeded, "the deadline passed before a connection to \(address.host):\(address.port) opened", reason: "deadlineExceeded")
        }
        let opened = try await ClientConnection.connect(host: address.host, port: address.port, timeout: min(left, .seconds(5)), group: group)
        let (kept, extra) = connection.withLock { state -> (ClientConnection, ClientConnection?) in
            if let existing = state.current, existing.isOpen { return (existing, opened) }
            state.current = opened
            return (opened, nil)
        }
        if let extra { await extra.close() }
        return kept
    }

    /// Moves to the next server after a failure on the current one.
    func rotate() {
        let stale = connection.withLock { state -> ClientConnection? in
            state.serverIndex += 1
            defer { state.current = nil }
            return state.current
        }
        if let stale { Task { await stale.close() } }
    }

    static func newIdempotencyKey() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        return "naksha-client-" + String((0..<32).map { _ in digits[Int(generator.next() % 16)] })
    }
}

/// The events of one job, as an async sequence that resumes across connection losses and
/// leader changes (see `NakshaClient.watchJob`). It grants credit to the server as events
/// are consumed, so the server never sends more than one window ahead.
public struct JobWatch: AsyncSequence, Sendable {
    public typealias Element = Naksha_V1_JobEvent

    let client: NakshaClient
    let jobID: UInt64
    let after: UInt64
    let window: UInt32

    public func makeAsyncIterator() -> Iterator {
        Iterator(client: client, jobID: jobID, lastEventID: after, window: Swift.max(window, 2))
    }

    public struct Iterator: AsyncIteratorProtocol {
        let client: NakshaClient
        let jobID: UInt64
        var lastEventID: UInt64
        let window: UInt32
        var current: (connection: ClientConnection, streamID: UInt64, iterator: AsyncThrowingStream<[UInt8], any Error>.AsyncIterator)?
        var consumedSinceGrant: UInt32 = 0
        var finished = false
        var backoff = Duration.milliseconds(50)
        /// When the current run of failed attempts began (nil while events flow).
        var failingSince: ContinuousClock.Instant? = nil

        init(client: NakshaClient, jobID: UInt64, lastEventID: UInt64, window: UInt32) {
            self.client = client
            self.jobID = jobID
            self.lastEventID = lastEventID
            self.window = window
        }

        public mutating func next() async throws -> Naksha_V1_JobEvent? {
            while !finished {
                do {
                    if current == nil { try await open() }
                    guard var state = current else { continue }
                    let bytes = try await state.iterator.next()
                    current = state
                    guard let bytes else {
                        finished = true
                        return nil
                    }
                    let event: Naksha_V1_JobEvent
                    do {
                        event = try Naksha_V1_JobEvent(serializedBytes: bytes)
                    } catch {
                        throw RPCError(.internal, "the server's event is not a valid naksha.v1.JobEvent", reason: "malformedResponse")
                    }
                    consumedSinceGrant += 1
                    if consumedSinceGrant >= window / 2 {
                        state.connection.grant(consumedSinceGrant, streamID: state.streamID)
                        consumedSinceGrant = 0
                    }
                    backoff = .milliseconds(50)
                    failingSince = nil
                    if event.eventID <= lastEventID { continue }  // never hand out a duplicate
                    lastEventID = event.eventID
                    return event
                } catch let error as RPCError where error.code == .unavailable || error.code == .unknown {
                    // Nothing is applied by watching: resume after the last event elsewhere,
                    // unless no server has answered for the client's default timeout.
                    let since = failingSince ?? ContinuousClock.now
                    failingSince = since
                    guard ContinuousClock.now - since < client.configuration.defaultTimeout else { throw error }
                    current = nil
                    consumedSinceGrant = 0
                    client.rotate()
                    try await Task.sleep(for: backoff)
                    backoff = Swift.min(backoff * 2, .seconds(1))
                }
            }
            return nil
        }

        mutating func open() async throws {
            let connection = try await client.currentConnection(deadline: ContinuousClock.now + client.configuration.defaultTimeout)
            var request = Naksha_V1_WatchJobRequest()
            request.jobID = jobID
            request.afterEventID = lastEventID
            let envelope = try client.envelope(NakshaMethod.watchJob, request, deadline: nil, window: window)
            let (streamID, messages) = try connection.stream(envelope)
            current = (connection, streamID, messages.makeAsyncIterator())
        }
    }
}

/// A counting semaphore for calls in flight (FIFO).
final class CallSlots: Sendable {
    private let state: Mutex<(free: Int, waiting: [CheckedContinuation<Void, Never>])>

    init(_ count: Int) { state = Mutex((count, [])) }

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state -> Bool in
                guard state.free > 0 else {
                    state.waiting.append(continuation)
                    return false
                }
                state.free -= 1
                return true
            }
            if granted { continuation.resume() }
        }
    }

    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiting.isEmpty else {
                state.free += 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}
