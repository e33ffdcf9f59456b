/// The first frame each side sends on a connection.
struct HandshakeMessage: Codable, Sendable, Equatable {
    /// "naksha-actors": guards against a different protocol that happens to speak frames.
    var protocolName: String
    var protocolVersion: UInt16
    var node: NodeAddress
    var incarnation: UInt64
    /// Set when the receiver refuses the handshake; the connection closes after it.
    var refusal: String?

    static let name = "naksha-actors"
    /// 2: call and reply envelopes in the hand-written layout of `EnvelopeCodec.swift`.
    static let currentVersion: UInt16 = 2
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
