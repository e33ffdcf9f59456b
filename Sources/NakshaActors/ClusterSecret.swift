/// The shared secret every node of a cluster holds (`NAKSHA_CLUSTER_TOKEN`). Each side of a
/// connection proves it knows the secret during the handshake without sending it (an
/// HMAC-SHA256 over both sides' fresh nonces; see docs/actors.md, *Authentication*).
///
/// The value never appears in descriptions, logs or `dump`: it prints as `<redacted>`.
public struct ClusterSecret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The fewest bytes accepted by `init(token:)`: shorter secrets are guessable offline
    /// from one recorded handshake.
    public static let minimumByteCount = 16

    let bytes: [UInt8]

    /// A secret of exactly these bytes (the HMAC key).
    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// A secret from the text of a token: leading and trailing white space (the newline a
    /// token file usually ends with) is not part of it. Nil if what remains is shorter than
    /// `minimumByteCount` bytes.
    public init?(token: String) {
        var utf8 = Array(token.utf8)
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        while let last = utf8.last, isSpace(last) { utf8.removeLast() }
        let start = utf8.firstIndex { !isSpace($0) } ?? utf8.endIndex
        let trimmed = Array(utf8[start...])
        guard trimmed.count >= Self.minimumByteCount else { return nil }
        self.bytes = trimmed
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "ClusterSecret(<redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }

    /// Compares in constant time, so `==` cannot leak how much of a guess was right.
    public static func == (lhs: ClusterSecret, rhs: ClusterSecret) -> Bool {
        constantTimeEquals(lhs.bytes, rhs.bytes)
    }
}
