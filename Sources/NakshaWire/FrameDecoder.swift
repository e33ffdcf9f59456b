/// Incremental, pure frame parser: feed it bytes as they arrive, take frames out.
///
/// It holds no socket and no event loop, so it is used as is by tests and files, and wrapped
/// by a NIO `ByteToMessageDecoder` in the transport shell.
///
/// Invariants:
/// - Bytes may arrive split at any boundary, and one `append` may hold many frames; the frames
///   that come out are the same either way.
/// - A header is validated as soon as its bytes are present (magic even from the first
///   byte), so an oversized or foreign stream is refused before its payload is buffered.
/// - No allocation is sized by an unchecked length: the payload length is checked against
///   `limits.maxFrameBytes` before waiting for it, and decompression is bounded the same way.
/// - After the first error the decoder is failed: every later call throws that error again.
public struct FrameDecoder: Sendable {
    /// The limits enforced on every frame.
    public let limits: WireLimits
    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var failure: WireError? = nil

    public init(limits: WireLimits = .default) {
        self.limits = limits
    }

    /// Bytes received but not yet returned as frames.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// Adds received bytes.
    public mutating func append<Bytes: Collection<UInt8>>(_ bytes: Bytes) {
        if readIndex > 0 && readIndex >= buffer.count / 2 {
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame, or `nil` when more bytes are needed.
    public mutating func nextFrame() throws(WireError) -> Frame? {
        if let failure { throw failure }
        do {
            return try parseNext()
        } catch {
            failure = error
            throw error
        }
    }

    /// Checks that the input ended on a frame boundary (call when the stream closes).
    public mutating func finish() throws(WireError) {
        if let failure { throw failure }
        if bufferedByteCount > 0 {
            let error = WireError(.truncated, "stream ended inside a frame (\(bufferedByteCount) bytes left over)")
            failure = error
            throw error
        }
    }

    private mutating func parseNext() throws(WireError) -> Frame? {
        let available = buffer.count - readIndex
        let magicBytes = min(available, FrameHeader.magic.count)
        for offset in 0..<magicBytes where buffer[readIndex + offset] != FrameHeader.magic[offset] {
            throw WireError(.badMagic, "frame does not start with the Naksha magic \"NKSH\"; not a Naksha peer?")
        }
        guard available >= FrameHeader.size else { return nil }
        let header = try parseHeader(at: readIndex)
        guard available >= FrameHeader.size + header.wireLength else { return nil }
        let payloadStart = readIndex + FrameHeader.size
        let payloadEnd = payloadStart + header.wireLength
        let computed = buffer.withUnsafeBytes { raw in
            let headerPart = CRC32C.update(
                CRC32C.initial, UnsafeRawBufferPointer(rebasing: raw[readIndex..<(readIndex + FrameHeader.checksumOffset)]))
            return CRC32C.finalize(CRC32C.update(headerPart, UnsafeRawBufferPointer(rebasing: raw[payloadStart..<payloadEnd])))
        }
        if computed != header.checksum {
            throw WireError(.checksumMismatch, "frame checksum mismatch (stream \(header.streamID)): corrupted in transit")
        }
        let payload: [UInt8]
        if header.flags.contains(.compressed) {
            payload = try Zstd.decompress(buffer[payloadStart..<payloadEnd], limit: limits.maxFrameBytes)
        } else {
            payload = Array(buffer[payloadStart..<payloadEnd])
        }
        readIndex = payloadEnd
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            readIndex = 0
        }
        return Frame(kind: header.kind, flags: header.flags, streamID: header.streamID, payload: payload)
    }

    private struct Header {
        var kind: FrameKind
        var flags: FrameFlags
        var streamID: UInt64
        var wireLength: Int
        var checksum: UInt32
    }

    private func parseHeader(at start: Int) throws(WireError) -> Header {
        let version = buffer[start + 4]
        if version != FrameHeader.version {
            throw WireError(.unsupportedVersion, "frame version \(version) is not supported (this build speaks version \(FrameHeader.version))")
        }
        guard let kind = FrameKind(rawValue: buffer[start + 5]) else {
            throw WireError(.unknownFrameKind, "unknown frame kind \(buffer[start + 5])")
        }
        let flags = FrameFlags(rawValue: readLittleEndian(UInt16.self, at: start + 6))
        if !flags.isSubset(of: .known) {
            throw WireError(.reservedFlagsSet, "reserved frame flag bits set: 0x\(String(flags.rawValue, radix: 16))")
        }
        let streamID = readLittleEndian(UInt64.self, at: start + 8)
        let length = readLittleEndian(UInt32.self, at: start + 16)
        if UInt64(length) > UInt64(limits.maxFrameBytes) {
            throw WireError(.frameTooLarge, "frame declares \(length) payload bytes, over the limit of \(limits.maxFrameBytes)")
        }
        let checksum = readLittleEndian(UInt32.self, at: start + FrameHeader.checksumOffset)
        return Header(kind: kind, flags: flags, streamID: streamID, wireLength: Int(length), checksum: checksum)
    }

    private func readLittleEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        buffer.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }
}
