import NIOCore
import NakshaWire

/// The NIO shell around the pure `FrameDecoder`: bytes in, `Frame`s out.
///
/// It makes no decisions of its own: every rule (magic, version, limits, checksum,
/// decompression bound) lives in `FrameDecoder`. A `WireError` is fired as an inbound error;
/// the pipeline's error handler closes the connection.
public struct FrameChannelDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Frame

    private var decoder: FrameDecoder

    public init(limits: WireLimits = .default) {
        self.decoder = FrameDecoder(limits: limits)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if buffer.readableBytes > 0 {
            buffer.withUnsafeReadableBytes { decoder.append($0) }
            buffer.moveReaderIndex(to: buffer.writerIndex)
        }
        while let frame = try decoder.nextFrame() {
            context.fireChannelRead(wrapInboundOut(frame))
        }
        return .needMoreData
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        _ = try decode(context: context, buffer: &buffer)
        if seenEOF {
            try decoder.finish()
        }
        return .needMoreData
    }
}

/// The NIO shell around `FrameEncoder`: `Frame`s out as bytes.
public struct FrameChannelEncoder: MessageToByteEncoder {
    public typealias OutboundIn = Frame

    private let encoder: FrameEncoder

    public init(encoder: FrameEncoder = FrameEncoder()) {
        self.encoder = encoder
    }

    public func encode(data: Frame, out: inout ByteBuffer) throws {
        let bytes = try encoder.encode(data)
        out.writeBytes(bytes)
    }
}
