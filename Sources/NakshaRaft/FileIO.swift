import Glibc

/// The few POSIX calls the log needs, with errors turned into `WALError.io` that name the
/// path and the call. No Foundation: this is on the commit path.
enum FileIO {
    static func errorText() -> String {
        String(cString: strerror(errno))
    }

    static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws(WALError) -> Int32 {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        if fd < 0 { throw WALError(.io, "open \(path): \(errorText())") }
        return fd
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(WALError) {
        let failure: String? = bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(fd, raw.baseAddress.map { $0 + offset }, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errorText()
                }
                offset += written
            }
            return nil
        }
        if let failure { throw WALError(.io, "write \(path): \(failure)") }
    }

    static func syncData(_ fd: Int32, path: String) throws(WALError) {
        let result = fdatasync(fd)
        if result != 0 { throw WALError(.io, "fdatasync \(path): \(errorText())") }
    }

    static func syncDirectory(_ path: String) throws(WALError) {
        let fd = try open(path, flags: O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        if fsync(fd) != 0 { throw WALError(.io, "fsync directory \(path): \(errorText())") }
    }

    static func readWholeFile(_ path: String) throws(WALError) -> [UInt8] {
        let fd = try open(path, flags: O_RDONLY)
        defer { close(fd) }
        var status = stat()
        if fstat(fd, &status) != 0 { throw WALError(.io, "stat \(path): \(errorText())") }
        let size = Int(status.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var offset = 0
        while offset < size {
            let count = bytes.withUnsafeMutableBytes { buffer in
                Glibc.read(fd, buffer.baseAddress.map { $0 + offset }, size - offset)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw WALError(.io, "read \(path): \(errorText())")
            }
            if count == 0 { break }
            offset += count
        }
        if offset < size { bytes.removeSubrange(offset...) }
        return bytes
    }

    static func truncate(_ path: String, to length: Int) throws(WALError) {
        if Glibc.truncate(path, off_t(length)) != 0 { throw WALError(.io, "truncate \(path): \(errorText())") }
    }

    static func rename(_ from: String, _ to: String) throws(WALError) {
        if Glibc.rename(from, to) != 0 { throw WALError(.io, "rename \(from) to \(to): \(errorText())") }
    }

    static func remove(_ path: String) throws(WALError) {
        if unlink(path) != 0 && errno != ENOENT { throw WALError(.io, "unlink \(path): \(errorText())") }
    }

    static func makeDirectory(_ path: String) throws(WALError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw WALError(.io, "mkdir \(path): \(errorText())") }
    }

    static func listDirectory(_ path: String) throws(WALError) -> [String] {
        guard let directory = opendir(path) else { throw WALError(.io, "opendir \(path): \(errorText())") }
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
