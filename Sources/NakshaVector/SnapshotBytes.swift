/// Little-endian byte writer and reader for saved indexes (`HNSWIndex.writeSnapshot`) and
/// what wraps them (a worker's shard snapshot).
/// Arrays of fixed-width numbers are copied as raw memory: every platform Swift runs
/// Naksha on is little-endian, and the snapshot header records the byte order so a
/// big-endian reader refuses it instead of misreading it.
public struct SnapshotWriter {
    public private(set) var bytes: [UInt8] = []

    public init(reservingCapacity capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ value: Double) { write(value.bitPattern) }

    public mutating func write(_ string: String) {
        let utf8 = Array(string.utf8)
        write(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// The raw memory of `values` (no length prefix: the reader knows the count).
    public mutating func writeRaw<T: BitwiseCopyable>(_ values: [T]) {
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }
}

/// Reads what `SnapshotWriter` wrote; every read checks the remaining length and throws
/// `invalidSnapshot` instead of reading past the end.
public struct SnapshotReader {
    let bytes: UnsafeRawBufferPointer
    public private(set) var offset = 0

    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    public var remaining: Int { bytes.count - offset }

    public mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) throws(VectorError) -> T {
        let size = MemoryLayout<T>.size
        try need(size, what: "\(T.self)")
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + size)])) }
        offset += size
        return T(littleEndian: value)
    }

    public mutating func readDouble() throws(VectorError) -> Double { Double(bitPattern: try read(UInt64.self)) }

    public mutating func readString(maxBytes: Int = 1 << 20) throws(VectorError) -> String {
        let count = Int(try read(UInt32.self))
        guard count <= maxBytes else { throw Self.invalid("a string of \(count) bytes is longer than \(maxBytes)") }
        try need(count, what: "string")
        let string = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]), as: UTF8.self)
        offset += count
        return string
    }

    /// `count` values copied from raw memory.
    public mutating func readRaw<T: BitwiseCopyable>(_: T.Type, count: Int) throws(VectorError) -> [T] {
        let (size, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<T>.stride)
        guard count >= 0, !overflow else { throw Self.invalid("an array of \(count) elements is impossible") }
        try need(size, what: "\(count) × \(T.self)")
        let start = offset
        let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[start..<(start + size)]))
            initialized = count
        }
        offset += size
        return values
    }

    private func need(_ size: Int, what: String) throws(VectorError) {
        guard size >= 0, size <= remaining else {
            throw Self.invalid("truncated: \(what) needs \(size) bytes at offset \(offset), \(remaining) remain")
        }
    }

    public static func invalid(_ message: String) -> VectorError {
        VectorError(code: .invalidSnapshot, message: "saved index rejected: \(message)")
    }
}
