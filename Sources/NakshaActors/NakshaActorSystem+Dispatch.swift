import Distributed
import NakshaWire

extension NakshaActorSystem {
    /// Runs an incoming call: decode, find the actor, check the target against the
    /// recipient type's allow-list, then execute it in a task started immediately (so calls
    /// on one connection begin in arrival order). The result handler sends the reply.
    func handleCall(_ frame: Frame, on connection: PeerConnection) {
        let key = IncomingCalls.Key(connectionID: connection.id, callID: frame.streamID)
        let incoming = self.incoming
        let reply: @Sendable (ReplyEnvelope) -> Void = { [encoder] envelope in
            incoming.finished(key)
            let payload = (try? encoder.encode(envelope))
                ?? (try? encoder.encode(ReplyEnvelope.failure(RemoteCallError(.serializationFailed, "reply too large or not encodable"))))
                ?? []
            connection.send(Frame(kind: .reply, streamID: key.callID, payload: payload))
        }
        let envelope: CallEnvelope
        do {
            envelope = try decoder.decode(CallEnvelope.self, from: frame.payload)
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
        guard let callable = type(of: actor) as? any RemoteCallable.Type else {
            reply(.failure(RemoteCallError(.targetNotAllowed, "\(type(of: actor)) does not accept remote calls")))
            return
        }
        guard callable.remoteCallTargets.contains(envelope.target) else {
            reply(.failure(RemoteCallError(
                .targetNotAllowed, "target \(envelope.target) is not a remote call of \(type(of: actor))")))
            return
        }
        let deadline = ContinuousClock.now + .milliseconds(Int64(clamping: envelope.timeoutMillis))
        let handler = NakshaResultHandler(reply: reply, encoder: encoder, rebuildable: rebuildable)
        let arguments = envelope.arguments
        let target = RemoteCallTarget(envelope.target)
        let argumentDecoder = BinaryDecoder(userInfo: [.actorSystemKey: self], limits: configuration.limits)
        incoming.begin(key)
        let task = Task.immediate { [self] in
            var invocation = NakshaInvocationDecoder(arguments: arguments, decoder: argumentDecoder)
            do {
                try await executeDistributedTarget(on: actor, target: target, invocationDecoder: &invocation, handler: handler)
            } catch {
                // Normally failures arrive through `handler.onThrow`; this is the backstop.
                try? await handler.onThrow(error: error)
            }
        }
        incoming.register(key, task: task, deadline: deadline)
    }

    func handleReply(_ frame: Frame) {
        do {
            let envelope = try decoder.decode(ReplyEnvelope.self, from: frame.payload)
            pending.complete(frame.streamID, with: envelope)
        } catch {
            pending.fail(frame.streamID, with: RemoteCallError(.serializationFailed, "the reply frame is not valid: \(error)"))
        }
    }
}
