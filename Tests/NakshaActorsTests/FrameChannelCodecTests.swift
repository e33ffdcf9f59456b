import NIOCore
import NIOEmbedded
import NakshaActors
import NakshaWire
import Testing

@Suite struct FrameChannelCodecTests {
    func makeChannel(limits: WireLimits = .default) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameChannelDecoder(limits: limits)))
        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(FrameChannelEncoder()))
        return channel
    }

    @Test func framesWrittenComeOutAsBytesThatDecodeBack() throws {
        let channel = try makeChannel()
        let frame = Frame(kind: .call, streamID: 12, payload: Array(repeating: 3, count: 10_000))
        try channel.writeOutbound(frame)
        var wire = try #require(try channel.readOutbound(as: ByteBuffer.self))
        try channel.writeInbound(wire.readSlice(length: wire.readableBytes))
        #expect(try channel.readInbound(as: Frame.self) == frame)
        _ = try channel.finish()
    }

    @Test func bytesSplitAcrossReadsAndManyFramesPerReadDecode() throws {
        let channel = try makeChannel()
        let frames = (0..<20).map { Frame(kind: .reply, streamID: UInt64($0), payload: Array(repeating: UInt8($0), count: $0 * 37)) }
        var bytes: [UInt8] = []
        for frame in frames { try FrameEncoder().encode(frame, into: &bytes) }
        var offset = 0
        var chunk = 1
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            try channel.writeInbound(ByteBuffer(bytes: bytes[offset..<end]))
            offset = end
            chunk = chunk * 3 % 997 + 1
        }
        var received: [Frame] = []
        while let frame = try channel.readInbound(as: Frame.self) { received.append(frame) }
        #expect(received == frames)
        _ = try channel.finish()
    }

    @Test func garbageIsATypedErrorInThePipeline() throws {
        let channel = try makeChannel()
        #expect(throws: WireError.self) {
            try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\n"))
        }
        _ = try? channel.finish()
    }

    @Test func streamEndingInsideAFrameIsReportedAsTruncated() throws {
        let channel = try makeChannel()
        let bytes = try FrameEncoder().encode(Frame(kind: .ping, streamID: 1, payload: [1, 2, 3]))
        try channel.writeInbound(ByteBuffer(bytes: bytes.dropLast()))
        #expect(try channel.readInbound(as: Frame.self) == nil)
        #expect(throws: WireError.self) { _ = try channel.finish() }
    }
}
