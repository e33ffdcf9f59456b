import NIOCore
import NIOPosix
import NakshaWire
import SwiftProtobuf
import Synchronization

/// One client connection to one server: many calls multiplexed by stream id, each a unary
/// call or a server stream. Thread-safe; the channel's handler feeds frames in.
///
/// When the connection drops, every call in flight fails with `UNKNOWN` (reason
/// `connectionLost`): the server may or may not have applied it.
final class ClientConnection: Sendable {
    /// What a call in flight is waiting for.
    enum Pending: Sendable {
        case unary(CheckedContinuation<[UInt8], any Error>, response: [UInt8]?)
        case stream(AsyncThrowingStream<[UInt8], any Error>.Continuation)
    }

    private struct State: Sendable {
        var nextStreamID: UInt64 = 1
        var pending: [UInt64: Pending] = [:]
        var closed: RPCError? = nil
    }

    let channel: any Channel
    let address: String
    private let state = Mutex(State())
    /// Requests over the servers' default limit (4 MiB) are refused here, for that call
    /// alone, instead of costing every call on the connection its answer.
    private let encoder = FrameEncoder(limits: WireLimits(maxFrameBytes: ProtocolLimits().maxRequestBytes))

    private init(channel: any Channel, address: String) {
        self.channel = channel
        self.address = address
    }

    /// Connects to `host:port` within `timeout`.
    static func connect(host: String, port: Int, timeout: Duration, group: any EventLoopGroup) async throws -> ClientConnection {
        let holder = ConnectionSlot()
        let address = "\(host):\(port)"
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(TimeAmount(timeout))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ClientFrameHandler(holder: holder))
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            throw RPCError(.unavailable, "cannot connect to \(address): \(error)", reason: "connectFailed")
        }
        let connection = ClientConnection(channel: channel, address: address)
        holder.connection.withLock { $0 = connection }
        channel.closeFuture.whenComplete { _ in
            connection.failAll(RPCError(.unknown, "the connection to \(address) was lost; the call may or may not have been applied", reason: "connectionLost"))
        }
        return connection
    }

    var isOpen: Bool { channel.isActive && state.withLock { $0.closed == nil } }

    /// Sends a request and waits for its single response.
    func unary(_ request: Naksha_V1_Request) async throws -> [UInt8] {
        let payload = try Self.serialize(request)
        let started = Mutex<UInt64?>(nil)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                started.withLock { $0 = start(payload, .unary(continuation, response: nil)) }
            }
        } onCancel: {
            if let streamID = started.withLock({ $0 }) { cancel(streamID: streamID) }
        }
    }

    /// Sends a request for a server stream; messages arrive on the returned stream, which
    /// ends at an OK status and throws the `RPCError` of any other. The caller grants
    /// credit with `grant`.
    func stream(_ request: Naksha_V1_Request) throws -> (streamID: UInt64, messages: AsyncThrowingStream<[UInt8], any Error>) {
        let payload = try Self.serialize(request)
        let (messages, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        guard let streamID = start(payload, .stream(continuation)) else { return (0, messages) }
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.cancel(streamID: streamID) }
        }
        return (streamID, messages)
    }

    func grant(_ messages: UInt32, streamID: UInt64) {
        var credit = Naksha_V1_Credit()
        credit.messages = messages
        // A message of one integer field always encodes.
        write(Frame(kind: .credit, streamID: streamID, payload: (try? credit.serializedBytes()) ?? []))
    }

    /// Tells the server the call is abandoned and forgets it.
    func cancel(streamID: UInt64) {
        let pending = state.withLock { $0.pending.removeValue(forKey: streamID) }
        guard let pending else { return }
        write(Frame(kind: .cancel, streamID: streamID))
        Self.fail(pending, RPCError(.cancelled, "the call was cancelled", reason: "cancelled"))
    }

    func close() async {
        write(Frame(kind: .goodbye, streamID: 0))
        try? await channel.close()  // closing twice is fine
    }

    // MARK: Internals

    private static func serialize(_ request: Naksha_V1_Request) throws -> [UInt8] {
        do {
            return try request.serializedBytes()
        } catch {
            throw RPCError(.invalidArgument, "the request cannot be serialized: \(error)", reason: "malformedRequest")
        }
    }

    /// Gives the call the next stream id, records it and hands its request frame to the
    /// channel, all under the lock: requests leave in stream-id order, which the server
    /// requires (ids increase). Returns the id, or nil when the call failed at once (the
    /// connection is gone, or the request is over the frame limit); `pending` has then been
    /// failed.
    private func start(_ payload: [UInt8], _ pending: Pending) -> UInt64? {
        let outcome: Result<UInt64, RPCError> = state.withLock { state in
            if let closed = state.closed { return .failure(RPCError(.unavailable, closed.message, reason: "connectFailed")) }
            let streamID = state.nextStreamID
            let bytes: [UInt8]
            do {
                bytes = try encoder.encode(Frame(kind: .request, streamID: streamID, payload: payload))
            } catch {
                return .failure(RPCError(.resourceExhausted, "the request is \(payload.count) bytes, over the frame limit", reason: "requestTooLarge"))
            }
            state.nextStreamID += 1
            state.pending[streamID] = pending
            channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil)
            return .success(streamID)
        }
        switch outcome {
        case .success(let streamID): return streamID
        case .failure(let error):
            Self.fail(pending, error)
            return nil
        }
    }

    private func write(_ frame: Frame) {
        do {
            let bytes = try encoder.encode(frame)
            channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil)
        } catch {
            fail(streamID: frame.streamID, RPCError(.resourceExhausted, "the request is \(frame.payload.count) bytes, over the frame limit", reason: "requestTooLarge"))
        }
    }

    private func fail(streamID: UInt64, _ error: RPCError) {
        if let pending = state.withLock({ $0.pending.removeValue(forKey: streamID) }) { Self.fail(pending, error) }
    }

    private static func fail(_ pending: Pending, _ error: RPCError) {
        switch pending {
        case .unary(let continuation, _): continuation.resume(throwing: error)
        case .stream(let continuation): continuation.finish(throwing: error)
        }
    }

    func failAll(_ error: RPCError) {
        let all = state.withLock { state in
            if state.closed == nil { state.closed = error }
            defer { state.pending.removeAll() }
            return Array(state.pending.values)
        }
        for pending in all { Self.fail(pending, error) }
    }

    /// A frame from the server.
    func received(_ frame: Frame) {
        switch frame.kind {
        case .response:
            state.withLock { state in
                guard let pending = state.pending[frame.streamID] else { return }
                switch pending {
                case .unary(let continuation, _):
                    state.pending[frame.streamID] = .unary(continuation, response: frame.payload)
                case .stream(let continuation):
                    continuation.yield(frame.payload)
                }
            }
        case .status:
            let status = (try? Naksha_V1_Status(serializedBytes: frame.payload))
                ?? RPCError(.internal, "the server's status frame is not a naksha.v1.Status", reason: "malformedStatus").status
            guard let pending = state.withLock({ $0.pending.removeValue(forKey: frame.streamID) }) else { return }
            switch pending {
            case .unary(let continuation, let response):
                if status.code == .ok {
                    if let response {
                        continuation.resume(returning: response)
                    } else {
                        continuation.resume(throwing: RPCError(.internal, "the server ended the call OK without a response", reason: "missingResponse"))
                    }
                } else {
                    continuation.resume(throwing: RPCError(status: status))
                }
            case .stream(let continuation):
                if status.code == .ok { continuation.finish() } else { continuation.finish(throwing: RPCError(status: status)) }
            }
        case .ping:
            write(Frame(kind: .pong, streamID: frame.streamID))
        case .goodbye:
            // Calls still pending when the server says goodbye were not answered. The goodbye's
            // status says why: UNAVAILABLE (shutting down, idle) is worth a retry elsewhere;
            // RESOURCE_EXHAUSTED or INVALID_ARGUMENT (a request over the limit, bad bytes)
            // would only fail again.
            let status = frame.payload.isEmpty ? nil : try? Naksha_V1_Status(serializedBytes: frame.payload)
            failAll(status.map { RPCError($0.code == .ok ? .unavailable : $0.code, "the server closed the connection: \($0.message)", reason: $0.reason) }
                ?? RPCError(.unavailable, "the server closed the connection", reason: "goodbye"))
            channel.close(promise: nil)
        default:
            failAll(RPCError(.internal, "the server sent an unexpected \(frame.kind) frame", reason: "protocolError"))
            channel.close(promise: nil)
        }
    }
}

/// The connection a channel's handler feeds, set once the connect completes.
private final class ConnectionSlot: Sendable {
    let connection = Mutex<ClientConnection?>(nil)
}

/// Frames in for a `ClientConnection`.
private final class ClientFrameHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private var decoder = FrameDecoder()
    private let holder: ConnectionSlot

    init(holder: ConnectionSlot) {
        self.holder = holder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        buffer.withUnsafeReadableBytes { decoder.append($0) }
        guard let connection = holder.connection.withLock({ $0 }) else { return }
        do {
            while let frame = try decoder.nextFrame() { connection.received(frame) }
        } catch {
            connection.failAll(RPCError(.internal, "the server's bytes are not valid frames: \(error)", reason: "\(error.code)"))
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
