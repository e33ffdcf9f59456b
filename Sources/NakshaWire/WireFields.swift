/// Field-level writing and reading for the hand-written layouts that sit on hot paths (the
/// actor call/reply envelopes, the Raft peer messages): LEB128 varints, single bytes, flags,
/// and length-prefixed byte strings and UTF-8 strings.
///
/// `WireReader` never traps: every length and count is checked against the bytes that
/// remain, and malformed input is a `WireError`.
public struct WireWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public mutating func byte(_ value: UInt8) { bytes.append(value) }
    public mutating func flag(_ value: Bool) { bytes.append(value ? 1 : 0) }
    public mutating func varint(_ value: UInt64) { Varint.append(value, to: &bytes) }
    /// `value`'s bytes with no length before them (for a field that runs to the end).
    public mutating func raw(_ value: [UInt8]) { bytes.append(contentsOf: value) }

    /// A varint length, then the bytes.
    public mutating func block(_ value: [UInt8]) {
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// A varint length, then the UTF-8 bytes.
    public mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }
}

/// Reads what `WireWriter` writes, from a buffer that outlives the reader.
public struct WireReader {
    private let input: UnsafeRawBufferPointer
    /// What the reader is reading, for error messages ("call envelope", "Raft message").
    private let context: String
    public private(set) var index = 0

    public init(_ input: UnsafeRawBufferPointer, context: String) {
        self.input = input
        self.context = context
    }

    public var remaining: Int { input.count - index }

    public mutating func byte() throws(WireError) -> UInt8 {
        guard index < input.count else { throw WireError(.truncated, "\(context) ended early") }
        defer { index += 1 }
        return input[index]
    }

    public mutating func flag() throws(WireError) -> Bool {
        switch try byte() {
        case 0: return false
        case 1: return true
        case let other: throw WireError(.typeMismatch, "\(context): flag \(other) is neither 0 nor 1")
        }
    }

    public mutating func varint() throws(WireError) -> UInt64 {
        try Varint.read(from: input, at: &index)
    }

    /// A count of items (or bytes) that each take at least `minimumBytesEach` bytes: never
    /// more than the remaining input can hold, so a caller may reserve that many.
    public mutating func count(minimumBytesEach: Int = 1) throws(WireError) -> Int {
        let value = try varint()
        guard value <= UInt64(remaining / max(1, minimumBytesEach)) else {
            throw WireError(.collectionTooLarge, "\(context) declares \(value) items or bytes but \(remaining) bytes remain")
        }
        return Int(value)
    }

    public mutating func block() throws(WireError) -> [UInt8] {
        Array(try span())
    }

    public mutating func string() throws(WireError) -> String {
        let bytes = try span()
        guard let string = String(validating: bytes.assumingMemoryBound(to: UInt8.self), as: UTF8.self) else {
            throw WireError(.invalidUTF8, "\(context): a string is not valid UTF-8")
        }
        return string
    }

    /// Every byte that remains.
    public mutating func rest() -> [UInt8] {
        defer { index = input.count }
        return Array(UnsafeRawBufferPointer(rebasing: input[index...]))
    }

    /// Throws unless every byte was read.
    public func expectEnd() throws(WireError) {
        guard remaining == 0 else { throw WireError(.trailingBytes, "\(remaining) bytes after the \(context)") }
    }

    private mutating func span() throws(WireError) -> UnsafeRawBufferPointer {
        let length = try count()
        defer { index += length }
        return UnsafeRawBufferPointer(rebasing: input[index..<(index + length)])
    }
}
