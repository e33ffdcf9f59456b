import NIOCore
import NakshaWire

/// The per-connection protocol shell: handshake, then calls, replies, cancels and
/// heartbeats. It decides nothing about calls itself; it hands them to the system.
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
    private var handshakeDone = false

    init(system: NakshaActorSystem, role: Role) {
        self.system = system
        self.role = role
    }

    func channelActive(context: ChannelHandlerContext) {
        let connection = system.makeConnection(channel: context.channel)
        self.connection = connection
        if case .client = role {
            connection.send(system.handshakeFrame(refusal: nil))
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard let connection else { return }
        system.metrics.recordBytes(received: FrameHeader.size + frame.payload.count)
        guard handshakeDone else {
            receiveHandshake(frame, connection: connection, context: context)
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
        case .handshake, .request, .response, .status:
            system.metrics.recordFrameError("unexpectedFrameKind")
            context.close(promise: nil)
        }
    }

    private func receiveHandshake(_ frame: Frame, connection: PeerConnection, context: ChannelHandlerContext) {
        let refusal: String?
        var peer: HandshakeMessage? = nil
        if frame.kind != .handshake {
            refusal = "expected a handshake frame first, got \(frame.kind)"
        } else if let message = try? system.decoder.decode(HandshakeMessage.self, from: frame.payload) {
            peer = message
            if let theirRefusal = message.refusal {
                refusal = "peer refused the connection: \(theirRefusal)"
            } else if message.protocolName != HandshakeMessage.name {
                refusal = "peer speaks \"\(message.protocolName)\", not \(HandshakeMessage.name)"
            } else if message.protocolVersion != HandshakeMessage.currentVersion {
                refusal = "peer speaks actor protocol version \(message.protocolVersion); this node speaks \(HandshakeMessage.currentVersion)"
            } else {
                refusal = nil
            }
        } else {
            refusal = "handshake payload is not valid"
        }
        if let refusal {
            if case .server = role, peer?.refusal == nil {
                connection.send(system.handshakeFrame(refusal: refusal))
            }
            fail(RemoteCallError(.handshakeFailed, refusal), context: context)
            return
        }
        guard let peer else { return }
        connection.setPeer(peer)
        handshakeDone = true
        switch role {
        case .client(let promise):
            promise.succeed(connection)
        case .server:
            connection.send(system.handshakeFrame(refusal: nil))
            system.registerAccepted(connection, peer: peer.node)
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
