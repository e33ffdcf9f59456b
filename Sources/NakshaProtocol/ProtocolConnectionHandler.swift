import NIOCore
import NakshaWire
import SwiftProtobuf

/// The I/O shell of one client connection: bytes in through `FrameDecoder`, every decision
/// by `ServerConnectionStateMachine`, handlers run as tasks, responses written against
/// credit. All its state lives on the channel's event loop.
final class ProtocolConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A response waiting for credit, with the handler task that sent it.
    private struct PendingSend {
        var payload: [UInt8]
        var continuation: CheckedContinuation<Void, any Error>
    }

    private let router: RPCRouter
    private let limits: ProtocolLimits
    private let registry: ConnectionRegistry
    private var decoder: FrameDecoder
    private var machine: ServerConnectionStateMachine
    private var tasks: [UInt64: Task<Void, Never>] = [:]
    private var compressing: Set<UInt64> = []
    private var waiting: [UInt64: PendingSend] = [:]
    private var context: ChannelHandlerContext?
    private var registered = false
    private let plainEncoder = FrameEncoder(compressionThreshold: .max)
    private let compressingEncoder = FrameEncoder()

    init(router: RPCRouter, limits: ProtocolLimits, registry: ConnectionRegistry) {
        self.router = router
        self.limits = limits
        self.registry = registry
        self.decoder = FrameDecoder(limits: WireLimits(maxFrameBytes: limits.maxRequestBytes))
        self.machine = ServerConnectionStateMachine(methods: router.methods, limits: limits)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let loop = context.eventLoop
        registered = registry.add(context.channel) {
            loop.execute { bound.value.perform(bound.value.machine.serverDraining()) }
        }
        if !registered {
            ProtocolMetrics.connectionError("tooManyConnections")
            perform(.closeConnection(ServerConnectionStateMachine.status(
                .resourceExhausted, "tooManyConnections", "the server has \(limits.maxConnections) connections open; retry later or elsewhere")))
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if registered { registry.remove(context.channel) }
        for task in tasks.values { task.cancel() }
        tasks.removeAll()
        for pending in waiting.values { pending.continuation.resume(throwing: CancellationError()) }
        waiting.removeAll()
        self.context = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !machine.isClosed else { return }
        let buffer = unwrapInboundIn(data)
        buffer.withUnsafeReadableBytes { decoder.append($0) }
        do {
            while !machine.isClosed, let frame = try decoder.nextFrame() {
                perform(machine.received(frame))
            }
        } catch {
            ProtocolMetrics.connectionError("\(error.code)")
            perform(machine.receiveFailed(error))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // A client that does not read its responses stops being read from: the server's
        // outbound buffer for it stays bounded.
        context.channel.setOption(ChannelOptions.autoRead, value: context.channel.isWritable).whenFailure { _ in }
        if context.channel.isWritable { context.read() }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            perform(machine.idleTimeoutPassed())
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        ProtocolMetrics.connectionError("io")
        context.close(promise: nil)
    }

    // MARK: Actions

    private func perform(_ action: ServerConnectionStateMachine.Action) {
        guard let context else { return }
        switch action {
        case .none:
            break
        case .startCall(let streamID, let request):
            start(streamID: streamID, request: request, context: context)
        case .refuseCall(let streamID, let status):
            ProtocolMetrics.callEnded(method: "", known: false, code: status.code, duration: .zero)
            write(Frame(kind: .status, flags: .endOfStream, streamID: streamID, payload: Self.bytes(of: status)), compress: false)
        case .cancelCall(let streamID):
            tasks.removeValue(forKey: streamID)?.cancel()
            waiting.removeValue(forKey: streamID)?.continuation.resume(throwing: CancellationError())
            compressing.remove(streamID)
        case .resumeStream(let streamID):
            if let pending = waiting.removeValue(forKey: streamID) {
                send(pending.payload, streamID: streamID, continuation: pending.continuation)
            }
        case .sendPong(let streamID):
            write(Frame(kind: .pong, streamID: streamID), compress: false)
        case .closeConnection(let status):
            var goodbye = Frame(kind: .goodbye, streamID: 0)
            if let status { goodbye.payload = Self.bytes(of: status) }
            write(goodbye, compress: false)
            context.flush()
            context.close(promise: nil)
        }
    }

    private func start(streamID: UInt64, request: Naksha_V1_Request, context: ChannelHandlerContext) {
        guard let route = router.routes[request.method] else { return }  // the machine checked it
        if request.metadata["naksha-accept-compression"] == "zstd" { compressing.insert(streamID) }
        let now = ContinuousClock.now
        let deadline: ContinuousClock.Instant? =
            request.hasTimeoutMs
            ? now + .milliseconds(Int64(clamping: request.timeoutMs))
            : (route.shape == .unary ? now + limits.defaultUnaryTimeout : nil)
        let callContext = CallContext(
            method: request.method, metadata: request.metadata, deadline: deadline, peer: context.remoteAddress.map { "\($0)" } ?? "")
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let loop = context.eventLoop
        let router = self.router
        let message = [UInt8](request.message)
        let send = Self.sender(bound: bound, loop: loop, streamID: streamID)
        let finish: @Sendable (Naksha_V1_Status) -> Void = { status in
            ProtocolMetrics.callEnded(method: callContext.method, known: true, code: status.code, duration: ContinuousClock.now - now)
            loop.execute { bound.value.finish(streamID: streamID, status: status) }
        }
        tasks[streamID] = CallRunner.spawn(route: route, message: message, context: callContext, router: router, send: send, finish: finish)
    }

    /// How a handler task hands a response to the event loop, waiting for credit there.
    private static func sender(
        bound: NIOLoopBound<ProtocolConnectionHandler>, loop: any EventLoop, streamID: UInt64
    ) -> @Sendable ([UInt8]) async throws -> Void {
        { payload in
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    loop.execute { bound.value.send(payload, streamID: streamID, continuation: continuation) }
                }
            } onCancel: {
                loop.execute { bound.value.abandonSend(streamID: streamID) }
            }
        }
    }

    private func abandonSend(streamID: UInt64) {
        waiting.removeValue(forKey: streamID)?.continuation.resume(throwing: CancellationError())
    }

    /// Writes a response on `streamID` if the stream has credit, else parks it until a
    /// `credit` frame arrives. A call that no longer runs gets `CancellationError`.
    private func send(_ payload: [UInt8], streamID: UInt64, continuation: CheckedContinuation<Void, any Error>) {
        guard machine.isRunning(streamID: streamID), context != nil else {
            continuation.resume(throwing: CancellationError())
            return
        }
        guard machine.takeCredit(streamID: streamID) else {
            waiting[streamID] = PendingSend(payload: payload, continuation: continuation)
            return
        }
        do {
            let encoder = compressing.contains(streamID) ? compressingEncoder : plainEncoder
            let bytes = try encoder.encode(Frame(kind: .response, streamID: streamID, payload: payload))
            context?.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: bytes)), promise: nil)
            continuation.resume()
        } catch {
            continuation.resume(throwing: RPCError(
                .resourceExhausted, "the response is \(payload.count) bytes, over the protocol's frame limit", reason: "responseTooLarge"))
        }
    }

    private func finish(streamID: UInt64, status: Naksha_V1_Status) {
        tasks[streamID] = nil
        let (sendStatus, then) = machine.callEnded(streamID: streamID)
        if sendStatus {
            write(Frame(kind: .status, flags: .endOfStream, streamID: streamID, payload: Self.bytes(of: status)),
                compress: compressing.contains(streamID))
            context?.flush()
        }
        compressing.remove(streamID)
        perform(then)
    }

    /// A status's bytes. Serializing a generated message with valid strings cannot fail;
    /// should it ever, the peer gets an empty status (code OK would be wrong), so the code
    /// alone is kept.
    static func bytes(of status: Naksha_V1_Status) -> [UInt8] {
        do {
            return try status.serializedBytes()
        } catch {
            ProtocolMetrics.connectionError("statusNotEncoded")
            var bare = Naksha_V1_Status()
            bare.code = status.code
            return (try? bare.serializedBytes()) ?? []  // an enum field alone always encodes
        }
    }

    /// Writes a frame the server made (statuses, pongs, goodbyes: small, so never over the
    /// frame limit); one that does not encode is counted and the connection closed, since
    /// the peer would otherwise wait for an answer that never comes.
    private func write(_ frame: Frame, compress: Bool) {
        guard let context else { return }
        do {
            let bytes = try (compress ? compressingEncoder : plainEncoder).encode(frame)
            context.write(wrapOutboundOut(ByteBuffer(bytes: bytes)), promise: nil)
        } catch {
            ProtocolMetrics.connectionError("frameNotEncoded")
            context.close(promise: nil)
        }
    }
}

/// Runs one call's handler as a task, within its deadline, and turns its end into a status.
enum CallRunner {
    static func spawn(
        route: RPCRouter.Route, message: [UInt8], context: CallContext, router: RPCRouter,
        send: @escaping @Sendable ([UInt8]) async throws -> Void, finish: @escaping @Sendable (Naksha_V1_Status) -> Void
    ) -> Task<Void, Never> {
        Task {
            let status = await run(route: route, message: message, context: context, router: router, send: send)
            router.callEnded(context, status)
            finish(status)
        }
    }

    /// Runs a handler within its deadline and turns its end into a status.
    static func run(
        route: RPCRouter.Route, message: [UInt8], context: CallContext, router: RPCRouter,
        send: @escaping @Sendable ([UInt8]) async throws -> Void
    ) async -> Naksha_V1_Status {
        if let refusal = router.authorize(context) { return refusal.status }
        do {
            try await withDeadline(context.deadline) {
                try await route.handler(message, context, ResponseSink(send: send))
            }
            return RPCError(.ok, "").status
        } catch let error as RPCError {
            return error.status
        } catch is DeadlineExceeded {
            return RPCError(.deadlineExceeded, "the call's deadline passed before it finished", reason: "deadlineExceeded").status
        } catch {
            if Task.isCancelled { return RPCError(.cancelled, "the call was cancelled", reason: "cancelled").status }
            return (router.mapError(error) ?? RPCError(.internal, "\(error)", reason: "internal")).status
        }
    }

    struct DeadlineExceeded: Error {}

    static func withDeadline(_ deadline: ContinuousClock.Instant?, _ body: @escaping @Sendable () async throws -> Void) async throws {
        guard let deadline else { return try await body() }
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await body()
                return true
            }
            group.addTask {
                try await Task.sleep(until: deadline, clock: .continuous)
                return false
            }
            let finished = try await group.next() ?? true
            group.cancelAll()
            if !finished { throw DeadlineExceeded() }
        }
    }

}
