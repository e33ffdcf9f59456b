import NakshaWire

/// The handshake of one connection as a value, stepped with the messages that arrive. It
/// does no I/O and draws no randomness (the nonce is given), so tests drive it directly;
/// `ActorChannelHandler` performs the steps it returns.
///
/// ```
/// dialler                                   acceptor
///   hello   (nonce Nd)              ──▶       checks name and version
///                                   ◀──     hello   (nonce Na)
///   proof   (MAC "dialler")         ──▶       checks the proof   → refusal, or
///                                   ◀──     proof   (MAC "acceptor")   established
///   checks the proof → established
/// ```
///
/// A MAC is HMAC-SHA256 under the cluster secret of `transcript(role:dialler:acceptor:)`:
/// both hellos' identities and nonces after a label naming the prover's role, so a proof
/// cannot be replayed on another connection (fresh nonces) or reflected back to its sender
/// (the other role's label). The dialler proves first, to the node it chose to dial; the
/// acceptor computes no MAC for a peer that has not proved itself.
///
/// A side with no secret sends an empty proof and checks nothing; a side with a secret
/// refuses a peer whose proof is missing or wrong. Whichever side fails sends a refusal
/// (a message with `refusal` set) and closes, unless the failure was the peer's refusal.
struct PeerHandshake: Sendable {
    enum Role: Sendable, Equatable {
        case dialler
        case acceptor

        var label: String {
            switch self {
            case .dialler: "dialler"
            case .acceptor: "acceptor"
            }
        }
    }

    /// Why a handshake failed: the bounded `reason` label of
    /// `naksha_actor_handshake_failures_total`.
    enum FailureReason: String, Sendable, Equatable, CaseIterable {
        /// The peer's proof of the cluster secret was missing or wrong.
        case badToken = "bad_token"
        /// The TLS handshake failed (untrusted certificate, or not TLS at all).
        case tls
        /// Not the Naksha actor protocol, another version, or a malformed handshake.
        case protocolMismatch = "protocol"
        /// The peer refused us (its reason is in the error's message).
        case refused
    }

    enum Outcome: Sendable, Equatable {
        case pending
        /// Calls may flow; the value is the peer's hello.
        case established(HandshakeMessage)
        case failed(FailureReason, RemoteCallError)
    }

    /// What to do after a step: send `send` (if any), then act on `outcome` (on failure:
    /// count the reason and close).
    struct Step: Sendable, Equatable {
        var send: HandshakeMessage?
        var outcome: Outcome
    }

    private enum State: Sendable {
        case awaitingHello
        case awaitingProof(peerHello: HandshakeMessage)
        case finished
    }

    let role: Role
    private let hello: HandshakeMessage
    private let secret: ClusterSecret?
    private var state = State.awaitingHello

    init(role: Role, node: NodeAddress, incarnation: UInt64, nonce: [UInt8], secret: ClusterSecret?) {
        precondition(nonce.count == HandshakeMessage.nonceByteCount, "a handshake nonce is \(HandshakeMessage.nonceByteCount) bytes")
        self.role = role
        self.secret = secret
        self.hello = HandshakeMessage(
            protocolName: HandshakeMessage.name, protocolVersion: HandshakeMessage.currentVersion, node: node,
            incarnation: incarnation, nonce: nonce, proof: [], refusal: nil)
    }

    /// The first message: the dialler's hello. The acceptor sends nothing until it hears one.
    func start() -> HandshakeMessage? {
        switch role {
        case .dialler: hello
        case .acceptor: nil
        }
    }

    var isEstablished: Bool {
        if case .finished = state { return true }
        return false
    }

    /// Steps with a handshake message from the peer.
    mutating func receive(_ message: HandshakeMessage) -> Step {
        switch state {
        case .awaitingHello:
            if let refusal = message.refusal {
                return failed(.refused, .handshakeFailed, "peer refused the connection: \(refusal)", answer: false)
            }
            if let problem = Self.incompatibility(of: message) {
                return failed(.protocolMismatch, .handshakeFailed, problem, answer: true)
            }
            state = .awaitingProof(peerHello: message)
            switch role {
            case .dialler: return Step(send: proofMessage(peerHello: message), outcome: .pending)
            case .acceptor: return Step(send: hello, outcome: .pending)
            }
        case .awaitingProof(let peerHello):
            if let refusal = message.refusal {
                // After the hellos only the proof can be refused.
                return failed(.refused, .authenticationFailed, "peer refused the connection: \(refusal)", answer: false)
            }
            if let secret {
                let expected = Self.proof(
                    secret: secret, role: role == .dialler ? .acceptor : .dialler,
                    dialler: role == .dialler ? hello : peerHello, acceptor: role == .dialler ? peerHello : hello)
                guard constantTimeEquals(message.proof, expected) else {
                    let problem = message.proof.isEmpty
                        ? "peer \(peerHello.node) proved no cluster secret: give every node the same NAKSHA_CLUSTER_TOKEN"
                        : "peer \(peerHello.node) proved a different cluster secret: the nodes' NAKSHA_CLUSTER_TOKEN differ"
                    return failed(.badToken, .authenticationFailed, problem, answer: true)
                }
            }
            state = .finished
            switch role {
            case .dialler: return Step(send: nil, outcome: .established(peerHello))
            case .acceptor: return Step(send: proofMessage(peerHello: peerHello), outcome: .established(peerHello))
            }
        case .finished:
            return failed(.protocolMismatch, .handshakeFailed, "a handshake message after the handshake", answer: false)
        }
    }

    /// Steps with a first frame that is not a handshake message (wrong kind or undecodable).
    mutating func receiveMalformed(_ problem: String) -> Step {
        failed(.protocolMismatch, .handshakeFailed, problem, answer: true)
    }

    private func proofMessage(peerHello: HandshakeMessage) -> HandshakeMessage {
        var message = hello
        if let secret {
            message.proof = Self.proof(
                secret: secret, role: role, dialler: role == .dialler ? hello : peerHello,
                acceptor: role == .dialler ? peerHello : hello)
        }
        return message
    }

    private mutating func failed(_ reason: FailureReason, _ code: RemoteCallError.Code, _ message: String, answer: Bool) -> Step {
        state = .finished
        var refusal: HandshakeMessage? = nil
        if answer {
            refusal = hello
            refusal?.refusal = message
        }
        return Step(send: refusal, outcome: .failed(reason, RemoteCallError(code, message)))
    }

    private static func incompatibility(of message: HandshakeMessage) -> String? {
        if message.protocolName != HandshakeMessage.name {
            return "peer speaks \"\(message.protocolName)\", not \(HandshakeMessage.name)"
        }
        if message.protocolVersion != HandshakeMessage.currentVersion {
            return "peer speaks actor protocol version \(message.protocolVersion); this node speaks \(HandshakeMessage.currentVersion)"
        }
        if message.nonce.count != HandshakeMessage.nonceByteCount {
            return "peer's handshake nonce is \(message.nonce.count) bytes, not \(HandshakeMessage.nonceByteCount)"
        }
        return nil
    }

    /// What the prover in `role` MACs: a label, then each hello's identity and nonce, the
    /// dialler's first (WireWriter fields: strings and byte strings are length-prefixed,
    /// numbers are varints).
    static func transcript(role: Role, dialler: HandshakeMessage, acceptor: HandshakeMessage) -> [UInt8] {
        var writer = WireWriter(capacity: 128 + dialler.node.host.utf8.count + acceptor.node.host.utf8.count)
        writer.string("\(HandshakeMessage.name)/\(HandshakeMessage.currentVersion) \(role.label)")
        for hello in [dialler, acceptor] {
            writer.string(hello.node.host)
            writer.varint(UInt64(clamping: hello.node.port))
            writer.varint(hello.incarnation)
            writer.block(hello.nonce)
        }
        return writer.bytes
    }

    static func proof(secret: ClusterSecret, role: Role, dialler: HandshakeMessage, acceptor: HandshakeMessage) -> [UInt8] {
        HMACSHA256.authenticationCode(key: secret.bytes, message: transcript(role: role, dialler: dialler, acceptor: acceptor))
    }
}
