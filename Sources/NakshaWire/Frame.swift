/// One unit on a Naksha socket: a fixed 24-byte header, then the payload.
///
/// ```
/// offset size field
///  0     4    magic "NKSH" (4E 4B 53 48)
///  4     1    version (1)
///  5     1    kind (FrameKind)
///  6     2    flags (FrameFlags), little-endian
///  8     8    stream/call id, little-endian
/// 16     4    payload length on the wire, little-endian
/// 20     4    CRC32C of bytes 0..<20 followed by the payload as sent, little-endian
/// 24     n    payload (zstd frame when flags has .compressed)
/// ```
///
/// A `Frame` value always holds the *uncompressed* payload; compression is a property of
/// the encoding, chosen by `FrameEncoder`. See docs/wire.md for a worked example.
public struct Frame: Sendable, Hashable {
    /// What the frame carries.
    public var kind: FrameKind
    /// Flags other than `.compressed` (which the encoder sets and the decoder clears).
    public var flags: FrameFlags
    /// The call id (actor transport) or stream id (client protocol).
    public var streamID: UInt64
    /// The uncompressed payload.
    public var payload: [UInt8]

    public init(kind: FrameKind, flags: FrameFlags = [], streamID: UInt64, payload: [UInt8] = []) {
        self.kind = kind
        self.flags = flags.subtracting(.compressed)
        self.streamID = streamID
        self.payload = payload
    }
}

/// Constants of the frame header.
public enum FrameHeader {
    /// "NKSH".
    public static let magic: [UInt8] = [0x4E, 0x4B, 0x53, 0x48]
    /// The only version this build speaks.
    public static let version: UInt8 = 1
    /// Bytes in the fixed header.
    public static let size = 24
    /// Offset of the CRC field; the checksum covers the bytes before it, then the payload.
    public static let checksumOffset = 20
}
