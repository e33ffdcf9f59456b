import NIOCore
import NakshaWire

/// `ByteBuffer` as an argument or result of a `distributed func`: on the wire it is one
/// length-prefixed block, the same bytes as a `[UInt8]` of its readable contents, written and
/// read with one copy (`BinaryByteBlock`), not NIO's own `Codable` form (a base64 string),
/// which other encoders still use.
extension ByteBuffer: BinaryByteBlock {
    public func withBinaryBlockBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeReadableBytes(body)
    }

    public init(binaryBlockBytes bytes: UnsafeRawBufferPointer) {
        self = ByteBuffer(bytes: bytes)
    }
}
