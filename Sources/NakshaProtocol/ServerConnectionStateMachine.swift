import NakshaWire
import SwiftProtobuf

/// The server's side of one client connection: a value stepped by the frames it receives
/// and by its calls ending, returning what the I/O shell must do. It decides everything the
/// protocol says about a connection; the shell only moves bytes and runs handlers.
///
/// Invariants:
/// - request stream ids strictly increase; a request on a lower or equal id (or on id 0) is
///   a protocol error, and so is any frame kind a client never sends. A protocol error
///   closes the connection (`goodbye` with the status) and nothing else happens after it;
/// - at most `limits.maxConcurrentCalls` calls run; the call after that is refused
///   RESOURCE_EXHAUSTED and the connection stays open;
/// - a server stream sends a message only against credit (`takeCredit`); its credit never
///   exceeds `limits.maxWindow`, so a reader that stops reading holds the server's memory
///   for its stream to one window;
/// - after `goodbye` from the client no new call starts, and the connection closes when
///   the last running call ends.
public struct ServerConnectionStateMachine: Sendable {
    /// A method the server knows, and whether it answers with a stream.
    public enum MethodShape: Sendable, Equatable {
        case unary
        case serverStream
    }

    public enum Action: Sendable, Equatable {
        case none
        /// Run the call's handler.
        case startCall(streamID: UInt64, request: Naksha_V1_Request)
        /// Answer the call with this status without running anything.
        case refuseCall(streamID: UInt64, status: Naksha_V1_Status)
        /// The client cancelled the call: stop its handler and send nothing more on it.
        case cancelCall(streamID: UInt64)
        /// Credit arrived for a stream: wake its writer if it waits.
        case resumeStream(streamID: UInt64)
        case sendPong(streamID: UInt64)
        /// Send `goodbye` (carrying the status when the close is an error) and close.
        case closeConnection(Naksha_V1_Status?)
    }

    private struct Call: Sendable {
        var shape: MethodShape
        var credit: UInt32
    }

    private enum Phase: Sendable {
        case open
        case draining
        case closed
    }

    public let limits: ProtocolLimits
    private let methods: [String: MethodShape]
    private var calls: [UInt64: Call] = [:]
    private var highestStreamID: UInt64 = 0
    private var phase = Phase.open

    public init(methods: [String: MethodShape], limits: ProtocolLimits = ProtocolLimits()) {
        self.methods = methods
        self.limits = limits
    }

    public var runningCalls: Int { calls.count }
    public var isClosed: Bool { phase == .closed }

    public mutating func received(_ frame: Frame) -> Action {
        guard phase != .closed else { return .none }
        switch frame.kind {
        case .request:
            return receivedRequest(frame)
        case .cancel:
            return calls.removeValue(forKey: frame.streamID) == nil ? .none : .cancelCall(streamID: frame.streamID)
        case .credit:
            guard let credit = try? Naksha_V1_Credit(serializedBytes: frame.payload) else {
                return fail(.invalidArgument, "protocolError", "a credit frame's payload is not a naksha.v1.Credit")
            }
            guard var call = calls[frame.streamID], call.shape == .serverStream else { return .none }
            call.credit = UInt32(min(UInt64(call.credit) + UInt64(credit.messages), UInt64(limits.maxWindow)))
            calls[frame.streamID] = call
            return .resumeStream(streamID: frame.streamID)
        case .ping:
            return .sendPong(streamID: frame.streamID)
        case .pong:
            return .none
        case .goodbye:
            phase = .draining
            return calls.isEmpty ? close(nil) : .none
        case .handshake, .call, .reply, .response, .status:
            return fail(.invalidArgument, "protocolError", "a client does not send \(frame.kind) frames (docs/protocol.md)")
        }
    }

    private mutating func receivedRequest(_ frame: Frame) -> Action {
        let id = frame.streamID
        guard id > highestStreamID else {
            return fail(.invalidArgument, "protocolError", "stream id \(id) is not above the last one used (\(highestStreamID)); ids increase")
        }
        highestStreamID = id
        guard phase == .open else {
            return .refuseCall(streamID: id, status: Self.status(.unavailable, "connectionClosing", "the client said goodbye on this connection"))
        }
        guard let request = try? Naksha_V1_Request(serializedBytes: frame.payload) else {
            return .refuseCall(streamID: id, status: Self.status(.invalidArgument, "malformedRequest", "the request frame's payload is not a naksha.v1.Request"))
        }
        guard let shape = methods[request.method] else {
            let shown = request.method.isEmpty ? "(empty)" : "\"\(request.method.prefix(200))\""
            return .refuseCall(streamID: id, status: Self.status(.unimplemented, "unknownMethod", "no method \(shown) (docs/protocol.md lists them)"))
        }
        if request.hasTimeoutMs, request.timeoutMs == 0 {
            return .refuseCall(streamID: id, status: Self.status(.deadlineExceeded, "deadlinePassed", "the call's deadline had passed before it reached the server"))
        }
        guard calls.count < limits.maxConcurrentCalls else {
            return .refuseCall(
                streamID: id,
                status: Self.status(.resourceExhausted, "tooManyCalls", "\(limits.maxConcurrentCalls) calls already run on this connection; wait for one to end or open another connection"))
        }
        let window = request.initialWindow == 0 ? limits.defaultWindow : min(request.initialWindow, limits.maxWindow)
        calls[id] = Call(shape: shape, credit: shape == .serverStream ? window : 1)
        return .startCall(streamID: id, request: request)
    }

    /// The decoder refused the byte stream: the connection cannot be trusted any more.
    public mutating func receiveFailed(_ error: WireError) -> Action {
        guard phase != .closed else { return .none }
        let code: RPCCode = error.code == .frameTooLarge || error.code == .decompressedTooLarge ? .resourceExhausted : .invalidArgument
        return fail(code, "\(error.code)", "\(error.message)")
    }

    /// Takes one message of credit for a response on `streamID`. False when the stream has
    /// none left (the writer waits for `resumeStream`) or the call is gone (cancelled).
    public mutating func takeCredit(streamID: UInt64) -> Bool {
        guard var call = calls[streamID], call.credit > 0 else { return false }
        call.credit -= 1
        calls[streamID] = call
        return true
    }

    /// Whether the call still runs (not cancelled, not ended, connection open).
    public func isRunning(streamID: UInt64) -> Bool { calls[streamID] != nil }

    /// The call's handler returned. True when its status should be sent (the call was not
    /// cancelled), with `closeConnection` if a goodbye was waiting for it.
    public mutating func callEnded(streamID: UInt64) -> (sendStatus: Bool, then: Action) {
        let wasRunning = calls.removeValue(forKey: streamID) != nil
        if phase == .draining, calls.isEmpty { return (wasRunning, close(nil)) }
        return (wasRunning, .none)
    }

    /// The connection has been silent for `limits.idleTimeout`: close it unless calls run.
    public mutating func idleTimeoutPassed() -> Action {
        guard phase != .closed, calls.isEmpty else { return .none }
        return close(Self.status(.unavailable, "idle", "closed after \(limits.idleTimeout) without a call"))
    }

    /// The server is shutting down: no new call starts; close once the running ones end.
    public mutating func serverDraining() -> Action {
        guard phase == .open else { return .none }
        phase = .draining
        return calls.isEmpty ? close(Self.status(.unavailable, "shuttingDown", "the server is shutting down")) : .none
    }

    private mutating func close(_ status: Naksha_V1_Status?) -> Action {
        phase = .closed
        calls.removeAll()
        return .closeConnection(status)
    }

    private mutating func fail(_ code: RPCCode, _ reason: String, _ message: String) -> Action {
        close(Self.status(code, reason, message))
    }

    static func status(_ code: RPCCode, _ reason: String, _ message: String) -> Naksha_V1_Status {
        RPCError(code, message, reason: reason).status
    }
}
