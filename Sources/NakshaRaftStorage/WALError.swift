/// Why the write-ahead log or the snapshot store failed.
///
/// `corruptRecord` is the one that stops a node from starting: a record in the middle of
/// the log does not match its checksum, so acknowledged data may be damaged and no
/// automatic repair is safe. The message names the file and byte offset.
public struct WALError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String
        /// A record before the end of the log is damaged; the node refuses to start.
        public static let corruptRecord = Code(name: "corruptRecord")
        /// A segment file does not start with the WAL header (not a Naksha WAL, or damaged).
        public static let badSegmentHeader = Code(name: "badSegmentHeader")
        /// An operating-system call failed (open, write, fdatasync, rename, …).
        public static let io = Code(name: "io")
        /// A record is larger than the configured maximum.
        public static let recordTooLarge = Code(name: "recordTooLarge")
        /// A snapshot file is damaged (checksum, header, or decompression).
        public static let corruptSnapshot = Code(name: "corruptSnapshot")
        public var description: String { name }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "WALError.\(code): \(message)" }
}
