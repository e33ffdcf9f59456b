import NIOCore
import NIOSSL
import NakshaWire

/// The per-connection protocol shell: handshake, then calls, replies, cancels and
/// heartbeats. It decides nothing itself: the handshake's decisions are `PeerHandshake`'s,
/// calls are the system's.
final class ActorChannelHandler: ChannelInboundHandler {
    typealias InboundIn = Frame

    enum Role {
        /// We dialled; `handshake` completes when the peer's handshake arrives.
        case client(handshake: EventLoopPromise<PeerConnection>)
        /// We accepted; we answer the peer's handshake with ours.
        case server
    }

    private let system: NakshaActorSystem
    private let role: Role
    private var connection: PeerConnection? = nil
    private var handshake: PeerHandshake
    private var handshakeDone = false
    /// The handshake failed and the channel is closing: later frames and errors are ignored.
    private var handshakeFailed = false

    init(system: NakshaActorSystem, role: Role) {
        self.system = system
        self.role = role
        switch role {
        case .client: handshake = system.makeHandshake(role: .dialler)
        case .server: handshake = system.makeHandshake(role: .acceptor)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        let connection = system.makeConnection(channel: context.channel)
        self.connection = connection
        if let hello = handshake.start() {
            connection.send(system.handshakeFrame(hello))
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard let connection else { return }
        system.metrics.recordBytes(received: FrameHeader.size + frame.payload.count)
        guard handshakeDone else {
            if !handshakeFailed { receiveHandshake(frame, connection: connection, context: context) }
            return
        }
        switch frame.kind {
        case .call:
            system.handleCall(frame, on: connection)
        case .reply:
            system.handleReply(frame)
        case .cancel:
            system.incoming.cancel(IncomingCalls.Key(connectionID: connection.id, callID: frame.streamID))
        case .ping:
            connection.send(Frame(kind: .pong, streamID: frame.streamID))
        case .pong:
            break
        case .goodbye:
            context.close(promise: nil)
        case .handshake:
            // The dialler refusing the acceptor's proof after the acceptor was established.
            if (try? system.decoder.decode(HandshakeMessage.self, from: frame.payload))?.refusal != nil {
                system.metrics.recordHandshakeFailure(.refused)
            } else {
                system.metrics.recordFrameError("unexpectedFrameKind")
            }
            context.close(promise: nil)
        case .request, .response, .status, .credit:
            system.metrics.recordFrameError("unexpectedFrameKind")
            context.close(promise: nil)
        }
    }

    private func receiveHandshake(_ frame: Frame, connection: PeerConnection, context: ChannelHandlerContext) {
        let step: PeerHandshake.Step
        if frame.kind != .handshake {
            step = handshake.receiveMalformed("expected a handshake frame first, got \(frame.kind)")
        } else if let message = try? system.decoder.decode(HandshakeMessage.self, from: frame.payload) {
            step = handshake.receive(message)
        } else if let old = try? system.decoder.decode(HandshakeMessageV2.self, from: frame.payload) {
            // An older node: say which version it speaks rather than "not valid".
            step = handshake.receive(HandshakeMessage(
                protocolName: old.protocolName, protocolVersion: old.protocolVersion, node: old.node,
                incarnation: old.incarnation, nonce: [], proof: [], refusal: old.refusal))
        } else {
            step = handshake.receiveMalformed("handshake payload is not valid")
        }
        if let message = step.send {
            connection.send(system.handshakeFrame(message))
        }
        switch step.outcome {
        case .pending:
            break
        case .established(let peer):
            connection.setPeer(peer)
            handshakeDone = true
            switch role {
            case .client(let promise): promise.succeed(connection)
            case .server: system.registerAccepted(connection, peer: peer.node)
            }
        case .failed(let reason, let error):
            handshakeFailed = true
            system.metrics.recordHandshakeFailure(reason)
            fail(error, context: context)
        }
    }

    private func fail(_ error: RemoteCallError, context: ChannelHandlerContext) {
        if case .client(let promise) = role { promise.fail(error) }
        // Frames are written once per event-loop tick; push out what is queued (a refusal)
        // before closing, or the close would discard it.
        connection?.writeQueued()
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent {
            switch idle {
            case .write:
                if handshakeDone { connection?.send(Frame(kind: .ping, streamID: 0)) }
            case .read:
                // Nothing (not even a pong) for the heartbeat timeout: the peer is gone.
                context.close(promise: nil)
            case .all:
                break
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let code = (error as? WireError).map { "\($0.code)" } ?? "io"
        system.metrics.recordFrameError(code)
        if !handshakeDone, !handshakeFailed, Self.isTLSFailure(error) {
            handshakeFailed = true
            system.metrics.recordHandshakeFailure(.tls)
        }
        if handshakeDone {
            fail(RemoteCallError(.connectionLost, "connection failed: \(error)"), context: context)
        } else if connection == nil {
            // Never became active: the TCP connect itself failed.
            fail(RemoteCallError(.peerUnreachable, "cannot connect: \(error)"), context: context)
        } else if error is IOError || error is ChannelError {
            // A reset or broken pipe before the peer answered: nobody is serving there any
            // more (a listener closing with connections in its accept queue resets them).
            // That is unreachability, and it backs off like a refused connect; a wrong
            // protocol or a TLS failure is a handshake failure.
            fail(RemoteCallError(.peerUnreachable, "connection reset before the handshake completed: \(error)"), context: context)
        } else {
            fail(RemoteCallError(.handshakeFailed, "handshake failed (TLS or protocol): \(error)"), context: context)
        }
    }

    /// A failed TLS handshake (not a peer that merely hung up without a TLS goodbye).
    private static func isTLSFailure(_ error: any Error) -> Bool {
        if let error = error as? NIOSSLError {
            if case .uncleanShutdown = error { return false }
            return true
        }
        return error is BoringSSLError
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .client(let promise) = role, !handshakeDone {
            promise.fail(
                connection == nil
                    ? RemoteCallError(.peerUnreachable, "connection closed before it was established")
                    : RemoteCallError(.peerUnreachable, "connection closed before the peer answered the handshake"))
        }
        if let connection {
            system.connectionClosed(connection)
        }
        context.fireChannelInactive()
    }
}
