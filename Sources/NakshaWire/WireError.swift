/// Every way bytes from a peer, a file or a user can be wrong for the wire format.
///
/// A `WireError` is a value: a stable `code` that callers switch on or count in metrics,
/// plus a human-readable `message` that says what was wrong. Decoders throw it; they never
/// trap, and after throwing they keep throwing the same error (a connection that sent a bad
/// frame is closed, not resynchronised).
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable identifier for the kind of failure (postgres-nio's `PSQLError.Code` pattern).
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Base: String, Sendable, Hashable {
            case badMagic
            case unsupportedVersion
            case unknownFrameKind
            case reservedFlagsSet
            case checksumMismatch
            case frameTooLarge
            case truncated
            case decompressionFailed
            case decompressedTooLarge
            case compressionFailed
            case invalidVarint
            case valueOutOfRange
            case typeMismatch
            case invalidUTF8
            case trailingBytes
            case nestingTooDeep
            case collectionTooLarge
            case duplicateKey
            case unsupportedShape
        }

        let base: Base

        /// The first bytes are not the Naksha magic `NKSH`: not a Naksha peer, or a
        /// desynchronised stream.
        public static let badMagic = Code(base: .badMagic)
        /// The frame's format version is not one this build speaks.
        public static let unsupportedVersion = Code(base: .unsupportedVersion)
        /// The frame kind byte names no kind this build knows.
        public static let unknownFrameKind = Code(base: .unknownFrameKind)
        /// A flag bit that this version reserves is set.
        public static let reservedFlagsSet = Code(base: .reservedFlagsSet)
        /// The CRC32C over header and payload does not match: corrupted in transit or on disk.
        public static let checksumMismatch = Code(base: .checksumMismatch)
        /// The declared payload length is over the configured maximum frame size.
        public static let frameTooLarge = Code(base: .frameTooLarge)
        /// The input ended inside a frame or inside an encoded value.
        public static let truncated = Code(base: .truncated)
        /// The compressed payload is not a valid zstd frame.
        public static let decompressionFailed = Code(base: .decompressionFailed)
        /// The compressed payload would decompress past the maximum frame size.
        public static let decompressedTooLarge = Code(base: .decompressedTooLarge)
        /// zstd refused to compress (only under memory exhaustion).
        public static let compressionFailed = Code(base: .compressionFailed)
        /// A varint is longer than 10 bytes or overflows 64 bits.
        public static let invalidVarint = Code(base: .invalidVarint)
        /// A decoded number does not fit the Swift type it is decoded into.
        public static let valueOutOfRange = Code(base: .valueOutOfRange)
        /// The bytes do not have the shape of the type being decoded (for example an enum
        /// case name that does not exist, or a presence tag other than 0 or 1).
        public static let typeMismatch = Code(base: .typeMismatch)
        /// A string's bytes are not valid UTF-8.
        public static let invalidUTF8 = Code(base: .invalidUTF8)
        /// Bytes are left over after the top-level value was decoded.
        public static let trailingBytes = Code(base: .trailingBytes)
        /// Values are nested deeper than the configured limit.
        public static let nestingTooDeep = Code(base: .nestingTooDeep)
        /// A collection declares more elements than the input can hold or the limit allows.
        public static let collectionTooLarge = Code(base: .collectionTooLarge)
        /// A dictionary contains the same key twice.
        public static let duplicateKey = Code(base: .duplicateKey)
        /// The value uses a `Codable` shape the positional format cannot represent.
        public static let unsupportedShape = Code(base: .unsupportedShape)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What was wrong, for a person; never contains payload bytes.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "WireError.\(code): \(message)" }
}
