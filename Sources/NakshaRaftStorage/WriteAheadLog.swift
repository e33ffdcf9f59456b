import NakshaWire

/// One record of the write-ahead log: a type chosen by the caller, a tag (the Raft index
/// for entries, used to drop whole segments after a snapshot) and opaque bytes.
public struct WALRecord: Sendable, Equatable {
    public var type: UInt8
    public var tag: UInt64
    public var payload: [UInt8]

    public init(type: UInt8, tag: UInt64, payload: [UInt8]) {
        self.type = type
        self.tag = tag
        self.payload = payload
    }
}

/// A segmented, append-only write-ahead log with one `fdatasync` per appended batch.
///
/// Layout: files `<sequence>.wal` (16 hex digits) in one directory. Each starts with the
/// 16-byte header `NKWAL001` + sequence (UInt64 LE), then records:
///
/// ```
/// length UInt32 LE | type UInt8 | tag UInt64 LE | CRC32C UInt32 LE over type, tag, payload | payload
/// ```
///
/// Invariants:
/// - `append` returns only after every record of the batch is written and synced (group
///   commit): callers acknowledge or send nothing that depends on a record before that.
///   (`append(_:sync: false)` writes without syncing, for records whose loss is harmless;
///   the next synced append covers them.)
/// - Recovery keeps every record up to the first damaged one. Damage that reaches the end
///   of the last segment (a torn write) is truncated away and reported in `recoveryReport`;
///   damage followed by any valid record, or in an earlier segment, is `corruptRecord` with
///   the file and offset, and the log refuses to open.
/// - Every new segment begins with `preamble` (the caller's latest hard state, membership and
///   snapshot marker), so deleting older segments never loses them.
/// - Only a *prefix* of segments is ever deleted (`removeSegments(withTagsBelow:)`): a segment
///   is removed only if it and every older one hold nothing at or above the tag. Deleting a
///   middle segment could bring back entries that a later segment overwrote.
public final class WriteAheadLog {
    public static let headerMagic: [UInt8] = Array("NKWAL001".utf8)
    static let segmentHeaderSize = 16
    static let recordHeaderSize = 17

    public let directory: String
    public let fileSystem: any FileSystem
    public let segmentSizeBytes: Int
    public let maxRecordBytes: Int
    /// Records written at the start of each new segment.
    public var preamble: [WALRecord] = []
    /// Every valid record found at open, oldest first.
    public internal(set) var recovered: [WALRecord] = []
    /// The segment file each record of `recovered` came from (same positions), for errors
    /// that must name the file.
    public internal(set) var recoveredPaths: [String] = []
    /// What recovery repaired, if anything (for the log line at start).
    public internal(set) var recoveryReport: String? = nil

    struct Segment {
        var sequence: UInt64
        var path: String
        var maxTag: UInt64
    }

    var segments: [Segment] = []
    private var handle: FileHandleID? = nil
    var currentSize = 0
    /// Test-only: delete every covered segment, not only a prefix (the bug this type once
    /// had), so the simulator can show that it finds it.
    public var testingRemoveAnyCoveredSegment = false

    public init(
        directory: String, fileSystem: any FileSystem = POSIXFileSystem(), segmentSizeBytes: Int = 64 << 20,
        maxRecordBytes: Int = 64 << 20
    ) throws(WALError) {
        precondition(segmentSizeBytes > Self.segmentHeaderSize, "segment size too small")
        self.directory = directory
        self.fileSystem = fileSystem
        self.segmentSizeBytes = segmentSizeBytes
        self.maxRecordBytes = maxRecordBytes
        try fileSystem.makeDirectory(directory)
        try recover()
        if segments.isEmpty {
            try startSegment(sequence: 1)
        } else if let last = segments.last {
            handle = try fileSystem.openForAppend(last.path, create: false, truncate: false)
        }
    }

    deinit {
        if let handle { fileSystem.close(handle) }
    }

    /// Closes the open segment; the log must not be used afterwards (a node that stopped).
    public func close() {
        if let handle { fileSystem.close(handle) }
        handle = nil
    }

    /// Appends the batch and syncs once. Rotates to a new segment first when the current one
    /// is full.
    /// Appends `records`; with `sync` (the default) returns only after they are durable.
    /// Without it they are written but not synced: the next synced append covers them, and
    /// a crash before it can only lose them as a torn tail.
    public func append(_ records: [WALRecord], sync: Bool = true) throws(WALError) {
        guard !records.isEmpty else { return }
        if currentSize >= segmentSizeBytes {
            try startSegment(sequence: (segments.last?.sequence ?? 0) + 1)
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(records.reduce(0) { $0 + Self.recordHeaderSize + $1.payload.count })
        for record in records {
            if record.payload.count > maxRecordBytes {
                throw WALError(.recordTooLarge, "record of \(record.payload.count) bytes is over the limit of \(maxRecordBytes)")
            }
            Self.encode(record, into: &buffer)
        }
        let path = segments.last?.path ?? directory
        guard let handle else { throw WALError(.io, "the log in \(directory) is closed") }
        try fileSystem.write(handle, buffer, path: path)
        currentSize += buffer.count
        if sync { try fileSystem.sync(handle, path: path) }
        let maxTag = records.map(\.tag).max() ?? 0
        if let last = segments.indices.last { segments[last].maxTag = max(segments[last].maxTag, maxTag) }
    }

    /// Deletes the longest prefix of segments, never the current one, whose records all have
    /// tags below `tag` (used after a snapshot through `tag - 1` is durable and its marker is
    /// in the log). A segment after one that must stay is kept even if it is covered: replay
    /// reads records in order, and a later segment may overwrite what an earlier one holds.
    public func removeSegments(withTagsBelow tag: UInt64) throws(WALError) {
        var kept: [Segment] = []
        var removedAny = false
        var prefix = true
        for (position, segment) in segments.enumerated() {
            let covered = position < segments.count - 1 && segment.maxTag < tag
            if covered && (prefix || testingRemoveAnyCoveredSegment) {
                try fileSystem.remove(segment.path)
                removedAny = true
            } else {
                prefix = false
                kept.append(segment)
            }
        }
        segments = kept
        if removedAny { try fileSystem.syncDirectory(directory) }
    }

    /// Number of segment files (for tests and metrics).
    public var segmentCount: Int { segments.count }

    static func encode(_ record: WALRecord, into buffer: inout [UInt8]) {
        let start = buffer.count
        buffer.appendLittleEndian(UInt32(record.payload.count))
        buffer.append(record.type)
        buffer.appendLittleEndian(record.tag)
        var crc = CRC32C.update(CRC32C.initial, CollectionOfOne(record.type))
        withUnsafeBytes(of: record.tag.littleEndian) { crc = CRC32C.update(crc, $0) }
        crc = record.payload.withUnsafeBytes { CRC32C.update(crc, $0) }
        buffer.appendLittleEndian(CRC32C.finalize(crc))
        buffer.append(contentsOf: record.payload)
        assert(buffer.count - start == recordHeaderSize + record.payload.count)
    }

    private func startSegment(sequence: UInt64) throws(WALError) {
        if let handle {
            try fileSystem.sync(handle, path: segments.last?.path ?? directory)
            fileSystem.close(handle)
            self.handle = nil
        }
        let path = "\(directory)/\(Self.name(for: sequence))"
        let temporary = path + ".tmp"
        let newHandle = try fileSystem.openForAppend(temporary, create: true, truncate: true)
        var header = Self.headerMagic
        header.appendLittleEndian(sequence)
        var tagMax: UInt64 = 0
        for record in preamble {
            Self.encode(record, into: &header)
            tagMax = max(tagMax, record.tag)
        }
        do {
            try fileSystem.write(newHandle, header, path: temporary)
            try fileSystem.sync(newHandle, path: temporary)
        } catch {
            fileSystem.close(newHandle)
            throw error
        }
        fileSystem.close(newHandle)
        try fileSystem.rename(temporary, path)
        try fileSystem.syncDirectory(directory)
        handle = try fileSystem.openForAppend(path, create: false, truncate: false)
        segments.append(Segment(sequence: sequence, path: path, maxTag: tagMax))
        currentSize = header.count
    }

    static func name(for sequence: UInt64) -> String {
        let hex = String(sequence, radix: 16)
        return String(repeating: "0", count: max(0, 16 - hex.count)) + hex + ".wal"
    }
}
