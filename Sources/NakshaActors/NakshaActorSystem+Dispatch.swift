import Distributed
import NakshaWire

extension NakshaActorSystem {
    /// Runs an incoming call: decode, find the actor, look the target up in the recipient
    /// type's `remoteCalls` table, then run it in a task started immediately (so calls on one
    /// connection begin in arrival order). The result handler sends the reply.
    func handleCall(_ frame: Frame, on connection: PeerConnection) {
        let key = IncomingCalls.Key(connectionID: connection.id, callID: frame.streamID)
        let incoming = self.incoming
        let maxFrameBytes = configuration.limits.maxFrameBytes
        let reply: @Sendable (ReplyEnvelope) -> Void = { envelope in
            incoming.finished(key)
            var payload = envelope.encoded()
            if payload.count > maxFrameBytes {
                // Never close the connection (and fail every other call on it) for one reply.
                payload = ReplyEnvelope.failure(RemoteCallError(
                    .serializationFailed, "the reply takes \(payload.count) bytes, over the frame limit of \(maxFrameBytes)")).encoded()
            }
            connection.send(Frame(kind: .reply, streamID: key.callID, payload: payload))
        }
        let envelope: CallEnvelope
        do {
            envelope = try CallEnvelope(decoding: frame.payload)
        } catch {
            reply(.failure(RemoteCallError(.serializationFailed, "the call frame is not valid: \(error)")))
            return
        }
        guard envelope.recipient.incarnation == 0 || envelope.recipient.incarnation == incarnation,
            let actor = localActor(for: envelope.recipient)
        else {
            reply(.failure(RemoteCallError(.unknownActor, "no actor \(envelope.recipient) on \(address) (incarnation \(incarnation))")))
            return
        }
        guard let callable = actor as? any RemoteCallable else {
            reply(.failure(RemoteCallError(.targetNotAllowed, "\(type(of: actor)) does not accept remote calls")))
            return
        }
        guard let run = Self.handler(for: envelope.target, on: callable) else {
            reply(.failure(RemoteCallError(
                .targetNotAllowed, "target \(envelope.target) is not a remote call of \(type(of: actor))")))
            return
        }
        let deadline = ContinuousClock.now + .milliseconds(Int64(clamping: envelope.timeoutMillis))
        let handler = NakshaResultHandler(reply: reply, encoder: encoder, rebuildable: rebuildable)
        let arguments = NakshaInvocationDecoder(
            arguments: envelope.arguments, decoder: BinaryDecoder(userInfo: [.actorSystemKey: self], limits: configuration.limits))
        incoming.begin(key)
        let task = Task.immediate {
            do {
                try await run(arguments, handler)
            } catch {
                // The function threw, or its arguments did not decode.
                try? await handler.onThrow(error: error)
            }
        }
        incoming.register(key, task: task, deadline: deadline)
    }

    /// The recipient type's handler for `target`, bound to `actor`, or nil if the type does
    /// not offer that target.
    private static func handler<Recipient: RemoteCallable>(
        for target: String, on actor: Recipient
    ) -> (@Sendable (NakshaInvocationDecoder, NakshaResultHandler) async throws -> Void)? {
        guard let call = Recipient.remoteCalls[target] else { return nil }
        return { arguments, handler in try await call.run(actor, arguments, handler) }
    }

    func handleReply(_ frame: Frame) {
        do {
            let envelope = try ReplyEnvelope(decoding: frame.payload)
            pending.complete(frame.streamID, with: envelope)
        } catch {
            pending.fail(frame.streamID, with: RemoteCallError(.serializationFailed, "the reply frame is not valid: \(error)"))
        }
    }
}
