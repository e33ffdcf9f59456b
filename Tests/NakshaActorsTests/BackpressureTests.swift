import NIOCore
import NIOPosix
import NakshaActors
import NakshaWire
import Synchronization
import Testing

/// A peer that completes the handshake (as an acceptor with no cluster secret: hello, then
/// proof) and then stops reading: its socket buffers fill and our sends queue up.
final class StalledPeer: Sendable {
    private final class Handler: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        private let decoder = Mutex((decoder: FrameDecoder(), handshakes: 0))

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            let (before, after) = decoder.withLock { state -> (Int, Int) in
                let before = state.handshakes
                state.decoder.append(bytes)
                while state.handshakes < 2, let frame = try? state.decoder.nextFrame(), frame.kind == .handshake {
                    state.handshakes += 1
                }
                return (before, state.handshakes)
            }
            // Answer the dialler's hello with ours, and its proof with ours (the same bytes:
            // no secret, empty proof).
            for _ in before..<after {
                if let frame = try? rawHandshakeFrame(incarnation: 9) {
                    context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: frame)), promise: nil)
                }
            }
            if after == 2 {
                context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
            }
        }
    }

    let channel: any Channel

    init() async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Handler()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    var address: NodeAddress { NodeAddress(host: "127.0.0.1", port: channel.localAddress?.port ?? 0) }

    func close() async { try? await channel.close() }
}

/// Calls that have ended.
final class FinishedCalls: Sendable {
    let count = Atomic<Int>(0)
}

/// The largest queue and in-flight count the sampler saw.
final class Peaks: Sendable {
    let value = Mutex((queued: 0, inFlight: 0))
}

@Suite struct BackpressureTests {
    @Test func slowPeerBoundsQueuedBytesAndWaitingCallsStillMeetTheirDeadline() async throws {
        let peer = try await StalledPeer()
        let limit = 1 << 20
        let system = try await NakshaActorSystem.start(ActorSystemConfiguration(maxQueuedBytesPerConnection: limit))
        let remote = try NodeDiagnostics.resolve(id: NodeDiagnostics.id(on: peer.address), using: system)
        // Incompressible, so that zstd does not shrink it to nothing on the wire.
        var random = SystemRandomNumberGenerator()
        let payload = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &random) }
        let calls = 40
        let observed = Peaks()
        let started = ContinuousClock.now
        let finished = FinishedCalls()
        let outcomes = try await withThrowingTaskGroup(of: RemoteCallError.Code?.self) { group in
            for _ in 0..<calls {
                group.addTask {
                    defer { finished.count.add(1, ordering: .relaxed) }
                    do {
                        _ = try await NakshaActorSystem.$callTimeout.withValue(.seconds(2)) { try await remote.echo(payload) }
                        return nil
                    } catch let error as RemoteCallError {
                        return error.code
                    }
                }
            }
            group.addTask {
                // Sample the queue until every call has ended (not for a fixed time: under a
                // loaded parallel test run this task may start late).
                var samples = 0
                while samples < 3 || finished.count.load(ordering: .relaxed) < calls {
                    samples += 1
                    let queued = system.maxQueuedBytes
                    let inFlight = system.inFlightOutgoingCalls
                    observed.value.withLock { $0 = (max($0.queued, queued), max($0.inFlight, inFlight)) }
                    try await Task.sleep(for: .milliseconds(5))
                }
                return .cancelled  // marker for the sampler; filtered below
            }
            var codes: [RemoteCallError.Code?] = []
            for try await code in group { codes.append(code) }
            return codes
        }
        let callOutcomes = outcomes.filter { $0 != .cancelled }
        #expect(callOutcomes.count == calls)
        #expect(callOutcomes.allSatisfy { $0 == .deadlineExceeded }, "\(callOutcomes)")
        #expect(ContinuousClock.now - started < .seconds(10))
        let peak = observed.value.withLock { $0 }
        // At most one frame past the limit is ever queued, and some callers waited instead
        // of queueing (they never registered as in flight).
        #expect(peak.queued <= limit + payload.count + 1024, "peak queued \(peak.queued)")
        #expect(peak.queued > 0)
        #expect(peak.inFlight < calls, "every call was queued at once: no backpressure")
        await system.shutdown()
        await peer.close()
    }
}
