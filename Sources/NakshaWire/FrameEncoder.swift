/// Turns `Frame`s into bytes.
///
/// Compression rule: a payload of at least `compressionThreshold` bytes is zstd-compressed,
/// and the compressed form is sent only when it is strictly smaller; otherwise the payload
/// goes raw. Encoding is deterministic for a given configuration.
public struct FrameEncoder: Sendable {
    /// Payloads of this many bytes or more are compressed (default 4 KiB). `Int.max` disables
    /// compression.
    public var compressionThreshold: Int
    /// zstd level (default 1: fast; frames are latency-sensitive).
    public var compressionLevel: Int32
    /// The limits shared with the decoder on the other side.
    public var limits: WireLimits

    public init(compressionThreshold: Int = 4096, compressionLevel: Int32 = 1, limits: WireLimits = .default) {
        self.compressionThreshold = compressionThreshold
        self.compressionLevel = compressionLevel
        self.limits = limits
    }

    /// The encoded bytes of `frame`.
    public func encode(_ frame: Frame) throws(WireError) -> [UInt8] {
        var output: [UInt8] = []
        try encode(frame, into: &output)
        return output
    }

    /// Appends the encoded bytes of `frame` to `output`.
    ///
    /// Throws `.frameTooLarge` when the payload is over `limits.maxFrameBytes` (the peer
    /// would reject it), so an oversized message fails at the sender with a clear error.
    public func encode(_ frame: Frame, into output: inout [UInt8]) throws(WireError) {
        if frame.payload.count > limits.maxFrameBytes {
            throw WireError(
                .frameTooLarge,
                "payload of \(frame.payload.count) bytes is over the frame limit of \(limits.maxFrameBytes) bytes"
            )
        }
        var flags = frame.flags.subtracting(.compressed)
        var compressed: [UInt8]? = nil
        if frame.payload.count >= compressionThreshold {
            let candidate = try Zstd.compress(frame.payload, level: compressionLevel)
            if candidate.count < frame.payload.count {
                compressed = candidate
                flags.insert(.compressed)
            }
        }
        let start = output.count
        output.reserveCapacity(start + FrameHeader.size + (compressed?.count ?? frame.payload.count))
        output.append(contentsOf: FrameHeader.magic)
        output.append(FrameHeader.version)
        output.append(frame.kind.rawValue)
        output.appendLittleEndian(flags.rawValue)
        output.appendLittleEndian(frame.streamID)
        let body = compressed ?? frame.payload
        output.appendLittleEndian(UInt32(body.count))
        let headerCRC = output.withUnsafeBytes { buffer in
            CRC32C.update(CRC32C.initial, UnsafeRawBufferPointer(rebasing: buffer[start..<(start + FrameHeader.checksumOffset)]))
        }
        let crc = CRC32C.finalize(body.withUnsafeBytes { CRC32C.update(headerCRC, $0) })
        output.appendLittleEndian(crc)
        output.append(contentsOf: body)
    }
}

extension Array where Element == UInt8 {
    @inline(__always)
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        var little = value.littleEndian
        Swift.withUnsafeBytes(of: &little) { append(contentsOf: $0) }
    }
}
