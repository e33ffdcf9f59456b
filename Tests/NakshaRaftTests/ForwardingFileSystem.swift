import NakshaRaft

/// The POSIX file system, every call forwarded; tests subclass it to fail or tear one kind
/// of call.
class ForwardingFileSystem: FileSystem, @unchecked Sendable {
    let inner = POSIXFileSystem()

    func openForAppend(_ path: String, create: Bool, truncate: Bool) throws(WALError) -> FileHandleID {
        try inner.openForAppend(path, create: create, truncate: truncate)
    }
    func write(_ handle: FileHandleID, _ bytes: [UInt8], path: String) throws(WALError) { try inner.write(handle, bytes, path: path) }
    func sync(_ handle: FileHandleID, path: String) throws(WALError) { try inner.sync(handle, path: path) }
    func close(_ handle: FileHandleID) { inner.close(handle) }
    func syncDirectory(_ path: String) throws(WALError) { try inner.syncDirectory(path) }
    func readWholeFile(_ path: String) throws(WALError) -> [UInt8] { try inner.readWholeFile(path) }
    func fileSize(_ path: String) throws(WALError) -> Int64 { try inner.fileSize(path) }
    func truncate(_ path: String, to length: Int) throws(WALError) { try inner.truncate(path, to: length) }
    func rename(_ from: String, _ to: String) throws(WALError) { try inner.rename(from, to) }
    func remove(_ path: String) throws(WALError) { try inner.remove(path) }
    func makeDirectory(_ path: String) throws(WALError) { try inner.makeDirectory(path) }
    func listDirectory(_ path: String) throws(WALError) -> [String] { try inner.listDirectory(path) }
}
