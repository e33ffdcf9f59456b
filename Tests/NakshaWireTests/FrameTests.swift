import NakshaCore
import NakshaWire
import Testing

@Suite struct FrameTests {
    static let sampleFrames: [Frame] = [
        Frame(kind: .call, streamID: 1, payload: Array("hello".utf8)),
        Frame(kind: .reply, streamID: 0xFFFF_FFFF_FFFF_FFFF, payload: []),
        Frame(kind: .ping, streamID: 42),
        Frame(kind: .response, flags: .endOfStream, streamID: 7, payload: [UInt8](repeating: 0xAB, count: 10_000)),
        Frame(kind: .request, streamID: 9, payload: (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }),
    ]

    static func encodeAll(_ frames: [Frame], encoder: FrameEncoder = FrameEncoder()) throws -> [UInt8] {
        var bytes: [UInt8] = []
        for frame in frames { try encoder.encode(frame, into: &bytes) }
        return bytes
    }

    static func decodeAll(_ decoder: inout FrameDecoder) throws -> [Frame] {
        var frames: [Frame] = []
        while let frame = try decoder.nextFrame() { frames.append(frame) }
        return frames
    }

    @Test func manyFramesInOneReadAllDecode() throws {
        let bytes = try Self.encodeAll(Self.sampleFrames)
        var decoder = FrameDecoder()
        decoder.append(bytes)
        #expect(try Self.decodeAll(&decoder) == Self.sampleFrames)
        try decoder.finish()
    }

    @Test func framesSplitAtEveryByteBoundaryDecode() throws {
        let frames = Array(Self.sampleFrames.prefix(3)) + [Frame(kind: .cancel, streamID: 3, payload: [1, 2, 3])]
        let bytes = try Self.encodeAll(frames)
        for split in 0...bytes.count {
            var decoder = FrameDecoder()
            decoder.append(bytes[..<split])
            var decoded = try Self.decodeAll(&decoder)
            decoder.append(bytes[split...])
            decoded += try Self.decodeAll(&decoder)
            #expect(decoded == frames, "split at \(split)")
        }
    }

    @Test func oneByteAtATimeDecodes() throws {
        let bytes = try Self.encodeAll(Self.sampleFrames)
        var decoder = FrameDecoder()
        var decoded: [Frame] = []
        for byte in bytes {
            decoder.append(CollectionOfOne(byte))
            decoded += try Self.decodeAll(&decoder)
        }
        #expect(decoded == Self.sampleFrames)
    }

    @Test func payloadAboveThresholdIsCompressedAndRoundTrips() throws {
        let frame = Frame(kind: .reply, streamID: 5, payload: [UInt8](repeating: 7, count: 64 << 10))
        let bytes = try FrameEncoder(compressionThreshold: 1024).encode(frame)
        #expect(bytes.count < 1024, "64 KiB of one byte value should compress far below 1 KiB")
        #expect(bytes[6] & 1 == 1, "compressed flag bit set")
        var decoder = FrameDecoder()
        decoder.append(bytes)
        #expect(try decoder.nextFrame() == frame)
    }

    @Test func payloadBelowThresholdIsSentRaw() throws {
        let frame = Frame(kind: .reply, streamID: 5, payload: [UInt8](repeating: 7, count: 100))
        let bytes = try FrameEncoder(compressionThreshold: 1024).encode(frame)
        #expect(bytes.count == FrameHeader.size + 100)
        #expect(bytes[6] & 1 == 0)
    }

    @Test func incompressiblePayloadIsSentRaw() throws {
        var random = SeededGenerator(seed: 1)
        let payload = (0..<8192).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let bytes = try FrameEncoder(compressionThreshold: 1024).encode(Frame(kind: .call, streamID: 1, payload: payload))
        #expect(bytes.count == FrameHeader.size + payload.count)
        #expect(bytes[6] & 1 == 0)
    }

    @Test func encoderRefusesPayloadOverTheLimit() {
        let encoder = FrameEncoder(limits: WireLimits(maxFrameBytes: 1000))
        #expect(throws: WireError.self) {
            try encoder.encode(Frame(kind: .call, streamID: 1, payload: [UInt8](repeating: 0, count: 1001)))
        }
    }

    @Test func sixteenMebibytePayloadRoundTripsAtTheDefaultLimit() throws {
        let payload = (0..<(16 << 20)).map { UInt8(truncatingIfNeeded: $0 >> 9) }
        let frame = Frame(kind: .reply, streamID: 1, payload: payload)
        var decoder = FrameDecoder()
        decoder.append(try FrameEncoder().encode(frame))
        #expect(try decoder.nextFrame() == frame)
    }
}
