/// A handshake frame's payload (binary codec). Each side sends two: its *hello* (`proof`
/// empty), then its *proof* (the hello's fields again, `proof` set). A refusal is a third
/// kind: `refusal` set, sent instead of the next expected message, before the sender closes.
/// The order of the four messages is in `PeerHandshake`.
struct HandshakeMessage: Codable, Sendable, Equatable {
    /// "naksha-actors": guards against a different protocol that happens to speak frames.
    var protocolName: String
    var protocolVersion: UInt16
    var node: NodeAddress
    var incarnation: UInt64
    /// 32 random bytes, fresh for each connection: the peer's proof must cover them, so a
    /// recorded proof is worthless on another connection.
    var nonce: [UInt8]
    /// HMAC-SHA256 of the handshake transcript under the cluster secret (32 bytes), or empty
    /// (in a hello, or from a node configured without a secret).
    var proof: [UInt8]
    /// Set when the receiver refuses the handshake; the connection closes after it.
    var refusal: String?

    static let name = "naksha-actors"
    /// 2: call and reply envelopes in the hand-written layout of `EnvelopeCodec.swift`.
    /// 3: nonces and proofs of the cluster secret (hello and proof from each side).
    static let currentVersion: UInt16 = 3
    static let nonceByteCount = 32
}

/// A `call` frame's payload (layout in `EnvelopeCodec.swift`). The call id is the frame's stream id.
struct CallEnvelope: Sendable, Equatable {
    var recipient: NakshaActorID
    /// The mangled identifier of the distributed function.
    var target: String
    /// Each argument encoded with the binary codec, in declaration order.
    var arguments: [[UInt8]]
    /// Milliseconds the caller will still wait; the callee cancels its handler after that.
    var timeoutMillis: UInt64
}

/// A `reply` frame's payload (layout in `EnvelopeCodec.swift`).
enum ReplyEnvelope: Sendable, Equatable {
    /// The encoded return value (empty for `Void`).
    case value([UInt8])
    /// An error of a `Codable` type, rebuilt by the caller only if the name is on its allow-list.
    case codableError(typeName: String, payload: [UInt8], description: String)
    /// Any other failure.
    case failure(RemoteCallError)
}

/// The handshake of protocol version 2 (no nonce, no proof), decoded only to tell an older
/// peer's operator which version it speaks.
struct HandshakeMessageV2: Codable, Sendable {
    var protocolName: String
    var protocolVersion: UInt16
    var node: NodeAddress
    var incarnation: UInt64
    var refusal: String?
}
