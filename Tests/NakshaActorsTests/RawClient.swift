import NIOCore
import NIOPosix
import NakshaActors
import Synchronization

/// A plain TCP client that sends whatever bytes a test wants and records what comes back.
final class RawClient: Sendable {
    private final class Recorder: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let bytes = Mutex<[UInt8]>([])
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            if let chunk = buffer.readBytes(length: buffer.readableBytes) { bytes.withLock { $0 += chunk } }
        }
    }

    private let channel: any Channel
    private let recorder: Recorder

    private init(channel: any Channel, recorder: Recorder) {
        self.channel = channel
        self.recorder = recorder
    }

    static func connect(to address: NodeAddress) async throws -> RawClient {
        let recorder = Recorder()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(recorder) }
            }
            .connect(host: address.host, port: address.port).get()
        return RawClient(channel: channel, recorder: recorder)
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    var received: [UInt8] { recorder.bytes.withLock { $0 } }

    /// `true` if the other side closed the connection within `timeout`.
    func waitForClose(timeout: Duration) async throws -> Bool {
        try await waitUntil(timeout: timeout) { !channel.isActive }
    }

    func close() async throws {
        try await channel.close()
    }
}
