/// What a frame carries. The raw value is the byte on the wire; values are never reused.
///
/// 1–15 belong to the inter-node actor transport, 16–31 to the client protocol.
public enum FrameKind: UInt8, Sendable, Hashable, CaseIterable, Codable {
    /// First frame on a connection, both ways: magic, protocol version and node identity.
    case handshake = 1
    /// A remote call: call id in `streamID`, target and arguments in the payload.
    case call = 2
    /// The result of a call, or its error.
    case reply = 3
    /// The caller gave up on call `streamID`; the callee cancels its task.
    case cancel = 4
    /// Liveness probe; answered by `pong` with the same `streamID`.
    case ping = 5
    /// Answer to `ping`.
    case pong = 6
    /// The sender is closing the connection in an orderly way.
    case goodbye = 7
    /// A client request (method, deadline, metadata, message) on stream `streamID`.
    case request = 16
    /// A message of a server stream, or the single response of a unary call.
    case response = 17
    /// The final status of stream `streamID` (code, message, trailing metadata).
    case status = 18
    /// Client protocol flow control: the reader of server stream `streamID` allows more
    /// messages (payload: `naksha.v1.Credit`).
    case credit = 19
}

/// Per-frame flag bits. Bits this version does not define must be zero.
public struct FrameFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// The payload on the wire is one zstd frame; the decoder hands out the decompressed bytes.
    public static let compressed = FrameFlags(rawValue: 1 << 0)
    /// The stream ends with this frame (client protocol streams).
    public static let endOfStream = FrameFlags(rawValue: 1 << 1)

    /// Every bit this version defines.
    public static let known: FrameFlags = [.compressed, .endOfStream]
}
