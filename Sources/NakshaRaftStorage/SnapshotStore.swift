import NakshaWire

/// A state-machine snapshot as stored on disk.
public struct StoredSnapshot: Sendable, Equatable {
    /// The last log index the snapshot includes, and that entry's term.
    public var index: UInt64
    public var term: UInt64
    /// The state machine's bytes (uncompressed).
    public var data: [UInt8]

    public init(index: UInt64, term: UInt64, data: [UInt8]) {
        self.index = index
        self.term = term
        self.data = data
    }
}

/// Snapshot files: zstd-compressed, checksummed, written atomically.
///
/// File `snapshot-<index>.snap` (index as 16 hex digits):
/// `NKSNAP01` | index UInt64 LE | term UInt64 LE | uncompressed length UInt64 LE |
/// CRC32C of the compressed bytes UInt32 LE | compressed bytes.
///
/// Invariants: a snapshot becomes visible only complete and synced (temporary file, fsync,
/// rename, directory fsync); `latest()` returns the newest snapshot that verifies and lists
/// the damaged ones it skipped — the caller (`RaftStorage`) refuses to start when the log it
/// would need to replay after an older snapshot was already deleted; `save` keeps the newest
/// `retain` snapshots. Saves of different indexes may
/// run concurrently (a background snapshot and an installed one): each writes its own
/// temporary file, and temporary files left by a crash are removed when the store is opened.
public struct SnapshotStore: Sendable {
    public static let magic: [UInt8] = Array("NKSNAP01".utf8)
    static let headerSize = 36

    public let directory: String
    public let fileSystem: any FileSystem
    public let retain: Int
    public let maxSnapshotBytes: Int

    public init(
        directory: String, fileSystem: any FileSystem = POSIXFileSystem(), retain: Int = 2, maxSnapshotBytes: Int = 4 << 30
    ) throws(WALError) {
        precondition(retain >= 1, "keep at least one snapshot")
        self.directory = directory
        self.fileSystem = fileSystem
        self.retain = retain
        self.maxSnapshotBytes = maxSnapshotBytes
        try fileSystem.makeDirectory(directory)
        for name in try fileSystem.listDirectory(directory) where name.hasSuffix(".snap.tmp") {
            try fileSystem.remove("\(directory)/\(name)")
        }
    }

    public func save(_ snapshot: StoredSnapshot) throws(WALError) {
        let compressed: [UInt8]
        do {
            compressed = try WireCompression.compress(snapshot.data, level: 3)
        } catch {
            throw WALError(.io, "cannot compress the snapshot: \(error)")
        }
        var bytes = Self.magic
        bytes.appendLittleEndian(snapshot.index)
        bytes.appendLittleEndian(snapshot.term)
        bytes.appendLittleEndian(UInt64(snapshot.data.count))
        bytes.appendLittleEndian(CRC32C.checksum(compressed))
        bytes.append(contentsOf: compressed)
        let path = "\(directory)/\(Self.name(for: snapshot.index))"
        let temporary = path + ".tmp"
        let handle = try fileSystem.openForAppend(temporary, create: true, truncate: true)
        do {
            try fileSystem.write(handle, bytes, path: temporary)
            try fileSystem.sync(handle, path: temporary)
        } catch {
            fileSystem.close(handle)
            throw error
        }
        fileSystem.close(handle)
        try fileSystem.rename(temporary, path)
        try fileSystem.syncDirectory(directory)
        let names = try snapshotNames()
        for old in names.dropLast(retain) { try fileSystem.remove("\(directory)/\(old)") }
    }

    /// The newest snapshot that verifies, or nil if there is none. Damaged files are skipped
    /// and listed in `skipped`.
    public func latest() throws(WALError) -> (snapshot: StoredSnapshot?, skipped: [String]) {
        var skipped: [String] = []
        for name in try snapshotNames().reversed() {
            let path = "\(directory)/\(name)"
            do {
                return (try load(path), skipped)
            } catch where error.code == .corruptSnapshot {
                skipped.append("\(path): \(error.message)")
            }
        }
        return (nil, skipped)
    }

    func load(_ path: String) throws(WALError) -> StoredSnapshot {
        let bytes = try fileSystem.readWholeFile(path)
        guard bytes.count >= Self.headerSize, Array(bytes[0..<8]) == Self.magic else {
            throw WALError(.corruptSnapshot, "not a snapshot file (bad header)")
        }
        let (index, term, length, crc) = bytes.withUnsafeBytes { raw in
            (
                UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
                UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)),
                UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 32, as: UInt32.self))
            )
        }
        let compressed = Array(bytes[Self.headerSize...])
        guard CRC32C.checksum(compressed) == crc else {
            throw WALError(.corruptSnapshot, "checksum mismatch")
        }
        guard length <= UInt64(maxSnapshotBytes) else {
            throw WALError(.corruptSnapshot, "declares \(length) bytes, over the limit of \(maxSnapshotBytes)")
        }
        let data: [UInt8]
        do {
            data = try WireCompression.decompress(compressed, limit: Int(length))
        } catch {
            throw WALError(.corruptSnapshot, "cannot decompress: \(error)")
        }
        guard data.count == Int(length) else {
            throw WALError(.corruptSnapshot, "decompressed to \(data.count) bytes, header says \(length)")
        }
        return StoredSnapshot(index: index, term: term, data: data)
    }

    private func snapshotNames() throws(WALError) -> [String] {
        return try fileSystem.listDirectory(directory).filter { $0.hasPrefix("snapshot-") && $0.hasSuffix(".snap") }.sorted()
    }

    static func name(for index: UInt64) -> String {
        let hex = String(index, radix: 16)
        return "snapshot-" + String(repeating: "0", count: max(0, 16 - hex.count)) + hex + ".snap"
    }
}
