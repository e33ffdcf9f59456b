import NakshaWire
import Testing

/// Every kind of bad frame input yields its typed error, and the decoder stays failed.
@Suite struct BadFrameTests {
    static func validFrame(payload: [UInt8] = [1, 2, 3, 4]) throws -> [UInt8] {
        try FrameEncoder(compressionThreshold: .max).encode(Frame(kind: .call, streamID: 77, payload: payload))
    }

    static func decode(_ bytes: [UInt8], limits: WireLimits = .default) -> WireError? {
        var decoder = FrameDecoder(limits: limits)
        decoder.append(bytes)
        do {
            while try decoder.nextFrame() != nil {}
            try decoder.finish()
            return nil
        } catch {
            return error
        }
    }

    /// Recomputes the CRC so that a test reaches the check it means to exercise.
    static func resealed(_ bytes: [UInt8]) -> [UInt8] {
        var copy = bytes
        let crc = CRC32C.finalize(CRC32C.update(CRC32C.update(CRC32C.initial, copy[0..<20]), copy[24...]))
        withUnsafeBytes(of: crc.littleEndian) { copy.replaceSubrange(20..<24, with: $0) }
        return copy
    }

    @Test func badMagicIsRejectedFromTheFirstByte() {
        #expect(Self.decode([0x47])?.code == .badMagic)  // "G" as in "GET / HTTP/1.1"
        #expect(Self.decode(Array("GET / HTTP/1.1\r\n\r\n".utf8))?.code == .badMagic)
    }

    @Test func unknownVersionIsRejected() throws {
        var bytes = try Self.validFrame()
        bytes[4] = 2
        #expect(Self.decode(Self.resealed(bytes))?.code == .unsupportedVersion)
    }

    @Test func unknownFrameKindIsRejected() throws {
        var bytes = try Self.validFrame()
        bytes[5] = 200
        #expect(Self.decode(Self.resealed(bytes))?.code == .unknownFrameKind)
    }

    @Test func reservedFlagBitsAreRejected() throws {
        var bytes = try Self.validFrame()
        bytes[7] = 0x80
        #expect(Self.decode(Self.resealed(bytes))?.code == .reservedFlagsSet)
    }

    @Test(arguments: [8, 12, 15, 20, 23, 24, 27])
    func flippedByteFailsTheChecksum(offset: Int) throws {
        var bytes = try Self.validFrame()
        bytes[offset] ^= 0x01
        #expect(Self.decode(bytes)?.code == .checksumMismatch)
    }

    @Test func truncatedInputIsReportedAtFinish() throws {
        let bytes = try Self.validFrame()
        for cut in 1..<bytes.count {
            #expect(Self.decode(Array(bytes[..<cut]))?.code == .truncated, "cut at \(cut)")
        }
    }

    @Test func declaredLengthOverTheLimitIsRejectedBeforeThePayloadArrives() throws {
        var bytes = try Self.validFrame()
        withUnsafeBytes(of: UInt32(2000).littleEndian) { bytes.replaceSubrange(16..<20, with: $0) }
        let header = Array(bytes[..<FrameHeader.size])  // no payload at all
        #expect(Self.decode(header, limits: WireLimits(maxFrameBytes: 1000))?.code == .frameTooLarge)
    }

    @Test func maximumDeclaredLengthDoesNotAllocate() throws {
        var bytes = try Self.validFrame()
        bytes.replaceSubrange(16..<20, with: [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(Self.decode(Array(bytes[..<FrameHeader.size]))?.code == .frameTooLarge)
    }

    @Test func zstdPayloadThatExpandsPastTheLimitIsRejected() throws {
        // Compressed under a generous limit, decoded under a small one.
        let big = [UInt8](repeating: 1, count: 100_000)
        let bytes = try FrameEncoder(compressionThreshold: 1).encode(Frame(kind: .reply, streamID: 1, payload: big))
        #expect(bytes.count < 1000)
        #expect(Self.decode(bytes, limits: WireLimits(maxFrameBytes: 10_000))?.code == .decompressedTooLarge)
    }

    @Test func garbageMarkedCompressedIsRejected() throws {
        var bytes = try Self.validFrame(payload: Array("not zstd at all".utf8))
        bytes[6] |= 1
        #expect(Self.decode(Self.resealed(bytes))?.code == .decompressionFailed)
    }

    @Test func decoderStaysFailedAfterAnError() throws {
        var decoder = FrameDecoder()
        decoder.append([0x00])
        #expect(throws: WireError.self) { try decoder.nextFrame() }
        decoder.append(try Self.validFrame())
        #expect(throws: WireError.self) { try decoder.nextFrame() }
    }
}
