import Glibc

/// The real disk: POSIX calls with errors turned into `WALError.io` that name the path and
/// the call. No Foundation: this is on the commit path.
public struct POSIXFileSystem: FileSystem {
    public init() {}

    static func errorText() -> String {
        String(cString: strerror(errno))
    }

    public func openForAppend(_ path: String, create: Bool, truncate: Bool) throws(WALError) -> FileHandleID {
        var flags = O_WRONLY | O_APPEND | O_CLOEXEC
        if create { flags |= O_CREAT }
        if truncate { flags |= O_TRUNC }
        let fd = Glibc.open(path, flags, 0o644)
        if fd < 0 { throw WALError(.io, "open \(path): \(Self.errorText())") }
        return FileHandleID(fd)
    }

    public func write(_ handle: FileHandleID, _ bytes: [UInt8], path: String) throws(WALError) {
        let failure: String? = bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(handle.rawValue, raw.baseAddress.map { $0 + offset }, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return Self.errorText()
                }
                offset += written
            }
            return nil
        }
        if let failure { throw WALError(.io, "write \(path): \(failure)") }
    }

    public func sync(_ handle: FileHandleID, path: String) throws(WALError) {
        if fdatasync(handle.rawValue) != 0 { throw WALError(.io, "fdatasync \(path): \(Self.errorText())") }
    }

    public func close(_ handle: FileHandleID) {
        _ = Glibc.close(handle.rawValue)
    }

    public func syncDirectory(_ path: String) throws(WALError) {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw WALError(.io, "open directory \(path): \(Self.errorText())") }
        defer { _ = Glibc.close(fd) }
        if fsync(fd) != 0 { throw WALError(.io, "fsync directory \(path): \(Self.errorText())") }
    }

    public func readWholeFile(_ path: String) throws(WALError) -> [UInt8] {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw WALError(.io, "open \(path): \(Self.errorText())") }
        defer { _ = Glibc.close(fd) }
        var status = stat()
        if fstat(fd, &status) != 0 { throw WALError(.io, "stat \(path): \(Self.errorText())") }
        let size = Int(status.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var offset = 0
        while offset < size {
            let count = bytes.withUnsafeMutableBytes { buffer in
                Glibc.read(fd, buffer.baseAddress.map { $0 + offset }, size - offset)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw WALError(.io, "read \(path): \(Self.errorText())")
            }
            if count == 0 { break }
            offset += count
        }
        if offset < size { bytes.removeSubrange(offset...) }
        return bytes
    }

    public func fileSize(_ path: String) throws(WALError) -> Int64 {
        var status = stat()
        if stat(path, &status) != 0 { throw WALError(.io, "stat \(path): \(Self.errorText())") }
        return Int64(status.st_size)
    }

    public func truncate(_ path: String, to length: Int) throws(WALError) {
        if Glibc.truncate(path, off_t(length)) != 0 { throw WALError(.io, "truncate \(path): \(Self.errorText())") }
    }

    public func rename(_ from: String, _ to: String) throws(WALError) {
        if Glibc.rename(from, to) != 0 { throw WALError(.io, "rename \(from) to \(to): \(Self.errorText())") }
    }

    public func remove(_ path: String) throws(WALError) {
        if unlink(path) != 0 && errno != ENOENT { throw WALError(.io, "unlink \(path): \(Self.errorText())") }
    }

    /// Creates the directory and any missing parents (as `mkdir -p`).
    public func makeDirectory(_ path: String) throws(WALError) {
        if mkdir(path, 0o755) == 0 || errno == EEXIST { return }
        guard errno == ENOENT, let slash = path.lastIndex(of: "/"), slash != path.startIndex else {
            throw WALError(.io, "mkdir \(path): \(Self.errorText())")
        }
        try makeDirectory(String(path[..<slash]))
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw WALError(.io, "mkdir \(path): \(Self.errorText())") }
    }

    public func listDirectory(_ path: String) throws(WALError) -> [String] {
        guard let directory = opendir(path) else { throw WALError(.io, "opendir \(path): \(Self.errorText())") }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}
