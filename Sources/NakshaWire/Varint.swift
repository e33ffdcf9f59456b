/// LEB128 varints (7 bits a byte, least significant group first, high bit = more) and
/// zigzag for signed values, as in protobuf.
///
/// Invariant: `read` consumes at most 10 bytes and rejects encodings that overflow 64 bits.
public enum Varint {
    /// The longest encoding of a 64-bit value.
    public static let maxBytes = 10

    @inline(__always)
    public static func append(_ value: UInt64, to output: inout [UInt8]) {
        var remaining = value
        while remaining >= 0x80 {
            output.append(UInt8(truncatingIfNeeded: remaining) | 0x80)
            remaining >>= 7
        }
        output.append(UInt8(remaining))
    }

    /// Reads one varint from `bytes` at `index`, advancing `index` past it.
    @inline(__always)
    public static func read(from bytes: UnsafeRawBufferPointer, at index: inout Int) throws(WireError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var position = index
        while true {
            guard position < bytes.count else {
                throw WireError(.truncated, "input ended inside a varint")
            }
            let byte = bytes[position]
            position += 1
            if shift == 63 && byte > 1 {
                throw WireError(.invalidVarint, "varint overflows 64 bits")
            }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 {
                index = position
                return result
            }
            shift += 7
            if shift > 63 {
                throw WireError(.invalidVarint, "varint longer than \(maxBytes) bytes")
            }
        }
    }

    @inline(__always)
    static func zigzag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    @inline(__always)
    static func unzigzag(_ value: UInt64) -> Int64 {
        Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }
}
