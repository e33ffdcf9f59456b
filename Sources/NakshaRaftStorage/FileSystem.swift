/// The few file operations the write-ahead log and the snapshot store need, so that the same
/// storage code runs on a real disk (`POSIXFileSystem`) and on the simulator's disk, which
/// loses unsynced writes, tears the last one and fails calls on purpose.
///
/// Contract (what the storage code may rely on, and all it may rely on):
/// - `write` appends to an open file; the bytes are *volatile* until `sync` of that handle
///   returns. A crash may lose volatile bytes (any suffix of them, possibly tearing a write).
/// - `rename`, `remove` and file creation change the directory; they are durable only once
///   `syncDirectory` of the parent returns.
/// - Every call reports failure by throwing `WALError` with code `.io`, naming the call and
///   the path. After a failed `sync` the file's durable contents are unknown: the caller must
///   stop (fail-stop) and never retry the sync.
public protocol FileSystem: Sendable {
    /// Opens `path` for appending; creates it when `create` (truncating it when `truncate`).
    func openForAppend(_ path: String, create: Bool, truncate: Bool) throws(WALError) -> FileHandleID
    func write(_ handle: FileHandleID, _ bytes: [UInt8], path: String) throws(WALError)
    func sync(_ handle: FileHandleID, path: String) throws(WALError)
    func close(_ handle: FileHandleID)
    func syncDirectory(_ path: String) throws(WALError)
    func readWholeFile(_ path: String) throws(WALError) -> [UInt8]
    func fileSize(_ path: String) throws(WALError) -> Int64
    func truncate(_ path: String, to length: Int) throws(WALError)
    func rename(_ from: String, _ to: String) throws(WALError)
    /// Removes `path`; a missing file is not an error.
    func remove(_ path: String) throws(WALError)
    /// Creates the directory, and any missing parents, if it is missing.
    func makeDirectory(_ path: String) throws(WALError)
    /// The names in `path` (without `.` and `..`), sorted.
    func listDirectory(_ path: String) throws(WALError) -> [String]
}

/// An open file of a `FileSystem` (a descriptor on POSIX).
public struct FileHandleID: Sendable, Hashable {
    public var rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
}
