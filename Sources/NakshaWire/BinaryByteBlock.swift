/// A byte container that the binary codec writes as one length-prefixed block, exactly as
/// it writes `[UInt8]` (so the two are interchangeable on the wire), with one copy each way.
///
/// NIO's `ByteBuffer` conforms in `NakshaActors`; the codec itself knows no NIO types.
public protocol BinaryByteBlock: Codable {
    /// Calls `body` with the contents.
    func withBinaryBlockBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
    /// A value holding a copy of `bytes`.
    init(binaryBlockBytes bytes: UnsafeRawBufferPointer)
}
