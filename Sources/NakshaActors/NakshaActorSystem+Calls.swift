import Distributed
import NIOCore
import NIOPosix
import NakshaWire
import NakshaCore

extension NakshaActorSystem {
    public func makeInvocationEncoder() -> InvocationEncoder {
        NakshaInvocationEncoder(encoder: BinaryEncoder(userInfo: [.actorSystemKey: self]))
    }

    public func remoteCall<Act, Err, Res>(
        on actor: Act, target: RemoteCallTarget, invocation: inout InvocationEncoder,
        throwing: Err.Type, returning: Res.Type
    ) async throws -> Res where Act: DistributedActor, Act.ID == ActorID, Err: Error, Res: Codable {
        let bytes = try await performCall(to: actor.id, target: target, arguments: invocation.arguments)
        do {
            return try BinaryDecoder(userInfo: [.actorSystemKey: self], limits: configuration.limits).decode(Res.self, from: bytes)
        } catch {
            throw RemoteCallError(.serializationFailed, "the reply is not a valid \(Res.self): \(error)")
        }
    }

    public func remoteCallVoid<Act, Err>(
        on actor: Act, target: RemoteCallTarget, invocation: inout InvocationEncoder, throwing: Err.Type
    ) async throws where Act: DistributedActor, Act.ID == ActorID, Err: Error {
        _ = try await performCall(to: actor.id, target: target, arguments: invocation.arguments)
    }

    /// Sends one call and waits for its reply, its deadline, its cancellation or the loss
    /// of its connection — whichever comes first.
    func performCall(to recipient: ActorID, target: RemoteCallTarget, arguments: [[UInt8]]) async throws -> [UInt8] {
        let started = ContinuousClock.now
        let timeout = Self.callTimeout ?? configuration.defaultCallTimeout
        let deadline = started + timeout
        do {
            let bytes = try await exchange(recipient: recipient, target: target, arguments: arguments, deadline: deadline)
            metrics.recordCall(target: target, outcome: "ok", duration: ContinuousClock.now - started)
            return bytes
        } catch {
            let outcome = (error as? RemoteCallError)?.code.description ?? "error"
            metrics.recordCall(target: target, outcome: outcome, duration: ContinuousClock.now - started)
            throw error
        }
    }

    private func exchange(
        recipient: ActorID, target: RemoteCallTarget, arguments: [[UInt8]], deadline: ContinuousClock.Instant
    ) async throws -> [UInt8] {
        guard !shutDown else { throw RemoteCallError(.systemShutDown, "the actor system shut down") }
        try Task.checkCancellation()
        let connection = try await connection(to: recipient.node, deadline: deadline)
        let callID = nextCall()
        let remaining = max(Duration.zero, deadline - ContinuousClock.now)
        let envelope = CallEnvelope(
            recipient: recipient, target: target.identifier, arguments: arguments,
            timeoutMillis: UInt64(remaining.inMilliseconds)
        )
        let payload = envelope.encoded()
        if payload.count > configuration.limits.maxFrameBytes {
            throw RemoteCallError(
                .serializationFailed,
                "the call's arguments take \(payload.count) bytes, over the frame limit of \(configuration.limits.maxFrameBytes)"
            )
        }
        let reservation = payload.count + FrameHeader.size
        try await connection.waitForCapacity(reserving: reservation, deadline: deadline)
        let reply = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ReplyEnvelope, any Error>) in
                pending.register(callID, connectionID: connection.id, deadline: deadline, continuation: continuation)
                if connection.isClosed {
                    pending.fail(callID, with: RemoteCallError(.connectionLost, "the connection to \(recipient.node) closed"))
                    return
                }
                connection.send(Frame(kind: .call, streamID: callID, payload: payload), reserved: reservation)
                if Task.isCancelled, pending.fail(callID, with: RemoteCallError(.cancelled, "the caller was cancelled")) {
                    connection.send(Frame(kind: .cancel, streamID: callID))
                }
            }
        } onCancel: {
            if pending.fail(callID, with: RemoteCallError(.cancelled, "the caller was cancelled")) {
                connection.send(Frame(kind: .cancel, streamID: callID))
            }
        }
        return try unwrap(reply)
    }

    private func unwrap(_ reply: ReplyEnvelope) throws -> [UInt8] {
        switch reply {
        case .value(let bytes):
            return bytes
        case .failure(let error):
            throw error
        case .codableError(let typeName, let payload, let description):
            for errorType in configuration.rebuildableErrors where String(reflecting: errorType) == typeName {
                if let rebuilt = try? decoder.decode(errorType, from: payload) { throw rebuilt }
            }
            throw RemoteCallError(.remoteError, description, remoteTypeName: typeName)
        }
    }

    /// The established connection to `peer`, dialling (once, shared by concurrent callers)
    /// if there is none, or `.peerUnreachable` at once while the peer is backing off.
    func connection(to peer: NodeAddress, deadline: ContinuousClock.Instant) async throws -> PeerConnection {
        let now = ContinuousClock.now
        switch connections.lookup(peer, now: now) {
        case .ready(let connection):
            return connection
        case .inProgress(let future):
            return try await awaitDial(future, peer: peer)
        case .backingOff(let until, let lastError):
            throw RemoteCallError(.peerUnreachable, "\(peer) is unreachable (\(lastError)); next attempt in \((until - now).inMilliseconds) ms")
        case .dial:
            let promise = group.next().makePromise(of: PeerConnection.self)
            connections.dialStarted(peer, future: promise.futureResult)
            dial(peer, promise: promise)
            return try await awaitDial(promise.futureResult, peer: peer)
        }
    }

    private func awaitDial(_ future: EventLoopFuture<PeerConnection>, peer: NodeAddress) async throws -> PeerConnection {
        do {
            return try await future.get()
        } catch let error as RemoteCallError {
            throw error
        } catch {
            throw RemoteCallError(.peerUnreachable, "cannot connect to \(peer): \(error)")
        }
    }

    private func dial(_ peer: NodeAddress, promise: EventLoopPromise<PeerConnection>) {
        let handshake = promise.futureResult.eventLoop.makePromise(of: PeerConnection.self)
        let bootstrap = ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try configurePipeline(channel, role: .client(handshake: handshake))
                }
            }
        let timeout = handshake.futureResult.eventLoop.scheduleTask(in: TimeAmount(configuration.connectTimeout)) {
            handshake.fail(RemoteCallError(.peerUnreachable, "no handshake from \(peer) within the connect timeout"))
        }
        bootstrap.connect(host: peer.host, port: peer.port).whenComplete { result in
            if case .failure(let error) = result {
                handshake.fail(RemoteCallError(.peerUnreachable, "cannot connect to \(peer): \(error)"))
            }
        }
        handshake.futureResult.whenComplete { [self] result in
            timeout.cancel()
            switch result {
            case .success(let connection):
                connections.dialSucceeded(peer, connection: connection)
                promise.succeed(connection)
            case .failure(let error):
                let message = (error as? RemoteCallError)?.message ?? "\(error)"
                connections.dialFailed(
                    peer, error: message, now: ContinuousClock.now,
                    initial: configuration.reconnectBackoffInitial, maximum: configuration.reconnectBackoffMax
                )
                promise.fail(error)
            }
        }
    }
}
