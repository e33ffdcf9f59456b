import SwiftProtobuf

/// What a handler knows about its call.
public struct CallContext: Sendable {
    public var method: String
    /// The request's metadata (keys in lower case).
    public var metadata: [String: String]
    /// When the client stops waiting; nil for a stream without a deadline.
    public var deadline: ContinuousClock.Instant?
    /// The peer's address, for logs.
    public var peer: String

    public init(method: String, metadata: [String: String] = [:], deadline: ContinuousClock.Instant? = nil, peer: String = "") {
        self.method = method
        self.metadata = metadata
        self.deadline = deadline
        self.peer = peer
    }

    /// The W3C `traceparent` the client sent, if it is well formed.
    public var traceParent: String? {
        guard let value = metadata["traceparent"], TraceContext.isValidTraceParent(value) else { return nil }
        return value
    }

    /// The time left before the deadline, at most `cap`.
    public func remaining(cap: Duration) -> Duration {
        guard let deadline else { return cap }
        return min(max(deadline - ContinuousClock.now, .zero), cap)
    }

    /// The bearer token of the `authorization` metadata, if any.
    public var bearerToken: String? {
        guard let value = metadata["authorization"], value.hasPrefix("Bearer ") else { return nil }
        return String(value.dropFirst("Bearer ".count))
    }
}

/// The W3C trace-context header the protocol carries in metadata.
public enum TraceContext {
    /// `version-traceid-parentid-flags`: 2, 32, 16 and 2 lower-case hex digits, trace and
    /// parent ids not all zero.
    public static func isValidTraceParent(_ value: String) -> Bool {
        let parts = value.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0].count == 2, parts[1].count == 32, parts[2].count == 16, parts[3].count == 2 else { return false }
        let hex = parts.allSatisfy { $0.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) } }
        return hex && parts[0] != "ff" && parts[1].contains { $0 != "0" } && parts[2].contains { $0 != "0" }
    }

    /// A new `traceparent` (version 00, sampled) with random ids.
    public static func newTraceParent() -> String {
        var generator = SystemRandomNumberGenerator()
        func hex(_ bytes: Int) -> String {
            (0..<bytes).map { _ in
                let byte = UInt8.random(in: 0...255, using: &generator)
                let digits = Array("0123456789abcdef")
                return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
            }.joined()
        }
        return "00-\(hex(16))-\(hex(8))-01"
    }
}

/// Sends the messages of a server stream. `send` waits while the reader has no credit left.
public struct StreamWriter<Message: SwiftProtobuf.Message>: Sendable {
    let sendBytes: @Sendable ([UInt8]) async throws -> Void

    public func send(_ message: Message) async throws {
        try await sendBytes(try message.serializedBytes())
    }
}

/// The methods a server serves, by full name, with typed handlers. Built once, before the
/// server starts.
public struct RPCRouter: Sendable {
    typealias Handler = @Sendable (_ message: [UInt8], _ context: CallContext, _ sink: ResponseSink) async throws -> Void

    struct Route: Sendable {
        var shape: ServerConnectionStateMachine.MethodShape
        var handler: Handler
    }

    private(set) var routes: [String: Route] = [:]
    /// Turns an error a handler threw that is not an `RPCError` into one (the coordinator
    /// maps its typed errors); unmapped errors are INTERNAL.
    public var mapError: @Sendable (any Error) -> RPCError? = { _ in nil }
    /// Checked before every call; a non-nil answer refuses it.
    public var authorize: @Sendable (CallContext) -> RPCError? = { _ in nil }
    /// Told how every call that ran ended (for logs that carry the call's trace context).
    public var callEnded: @Sendable (CallContext, Naksha_V1_Status) -> Void = { _, _ in }

    public init() {}

    public var methods: [String: ServerConnectionStateMachine.MethodShape] { routes.mapValues(\.shape) }

    public mutating func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: String, _ body: @escaping @Sendable (Request, CallContext) async throws -> Response
    ) {
        routes[method] = Route(shape: .unary) { bytes, context, sink in
            let request = try Self.decode(Request.self, bytes)
            let response = try await body(request, context)
            try await sink.send(try response.serializedBytes())
        }
    }

    public mutating func serverStream<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: String, _ body: @escaping @Sendable (Request, CallContext, StreamWriter<Response>) async throws -> Void
    ) {
        routes[method] = Route(shape: .serverStream) { bytes, context, sink in
            let request = try Self.decode(Request.self, bytes)
            try await body(request, context, StreamWriter { try await sink.send($0) })
        }
    }

    static func decode<Request: SwiftProtobuf.Message>(_ type: Request.Type, _ bytes: [UInt8]) throws -> Request {
        do {
            return try Request(serializedBytes: bytes)
        } catch {
            throw RPCError(.invalidArgument, "the message is not a valid \(Request.protoMessageName)", reason: "malformedMessage")
        }
    }
}

/// Where a handler's responses go (the connection, against credit).
struct ResponseSink: Sendable {
    let send: @Sendable ([UInt8]) async throws -> Void
}
