import NIOCore
import NakshaWire
import Synchronization

/// One TCP connection to a peer node, usable for calls in both directions once the
/// handshake is done.
///
/// Backpressure: bytes written but not yet flushed to the socket are counted; a sender that
/// would push the count over `maxQueuedBytes` waits until the socket drains, so a slow peer
/// cannot make this process grow without bound.
final class PeerConnection: Sendable {
    let id: UInt64
    let channel: any Channel
    let maxQueuedBytes: Int
    let encoder: FrameEncoder
    let metrics: ActorMetrics

    private struct State {
        var queuedBytes = 0
        var waiters: [(deadline: ContinuousClock.Instant, continuation: CheckedContinuation<Void, any Error>)] = []
        var closed = false
        var peer: HandshakeMessage? = nil
        var flushScheduled = false
    }

    private let state = Mutex(State())

    init(id: UInt64, channel: any Channel, maxQueuedBytes: Int, encoder: FrameEncoder, metrics: ActorMetrics) {
        self.id = id
        self.channel = channel
        self.maxQueuedBytes = maxQueuedBytes
        self.encoder = encoder
        self.metrics = metrics
    }

    /// The peer's handshake, once received.
    var peer: HandshakeMessage? { state.withLock { $0.peer } }

    func setPeer(_ handshake: HandshakeMessage) {
        state.withLock { $0.peer = handshake }
    }

    /// Waits until the queue has room; throws `.connectionLost` if the connection closes and
    /// `.deadlineExceeded` if `deadline` passes first (the system's sweeper enforces it).
    /// Does not suspend when there is room, so calls started in order are sent in order.
    ///
    /// On success `bytes` are reserved in the queue (admission and accounting are one step, so
    /// many callers cannot all pass the check at once); pass the same number to `send`.
    func waitForCapacity(reserving bytes: Int, deadline: ContinuousClock.Instant) async throws {
        while true {
            let admitted = state.withLock { state -> Bool in
                guard !state.closed, state.queuedBytes < maxQueuedBytes else { return false }
                state.queuedBytes += bytes
                return true
            }
            if admitted { return }
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, RemoteCallError>? = state.withLock { state in
                    if state.closed { return .failure(RemoteCallError(.connectionLost, "connection closed")) }
                    if state.queuedBytes < maxQueuedBytes { return .success(()) }
                    state.waiters.append((deadline, continuation))
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        }
    }

    /// Fails senders still waiting for room after their deadline.
    func expireWaiters(now: ContinuousClock.Instant) {
        let expired = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            let due = state.waiters.filter { $0.deadline <= now }.map(\.continuation)
            if !due.isEmpty { state.waiters.removeAll { $0.deadline <= now } }
            return due
        }
        for waiter in expired {
            waiter.resume(throwing: RemoteCallError(.deadlineExceeded, "the peer did not drain its connection before the call's deadline"))
        }
    }

    /// Bytes written to the channel and not yet on the socket (for tests and diagnostics).
    var queuedBytes: Int { state.withLock { $0.queuedBytes } }

    /// Encodes and writes `frame` now (no waiting). Replies, pongs and cancels use this;
    /// calls pass the bytes they reserved with `waitForCapacity`.
    func send(_ frame: Frame, reserved: Int = 0) {
        let bytes: [UInt8]
        do {
            bytes = try encoder.encode(frame)
        } catch {
            released(reserved)
            channel.close(promise: nil)
            return
        }
        let size = bytes.count
        state.withLock { $0.queuedBytes += size - reserved }
        metrics.recordBytes(sent: size)
        let promise = channel.eventLoop.makePromise(of: Void.self)
        promise.futureResult.whenComplete { [self] _ in released(size) }
        var buffer = channel.allocator.buffer(capacity: size)
        buffer.writeBytes(bytes)
        channel.write(buffer, promise: promise)
        // One flush (one syscall) for every frame written before it runs: frames sent by many
        // tasks in the same event-loop tick go out together.
        let scheduleFlush = state.withLock { state in
            defer { state.flushScheduled = true }
            return !state.flushScheduled
        }
        if scheduleFlush {
            channel.eventLoop.execute { [self] in
                state.withLock { $0.flushScheduled = false }
                channel.flush()
            }
        }
    }

    private func released(_ size: Int) {
        let ready: [CheckedContinuation<Void, any Error>] = state.withLock { state in
            state.queuedBytes -= size
            guard state.queuedBytes < maxQueuedBytes else { return [] }
            defer { state.waiters.removeAll() }
            return state.waiters.map(\.continuation)
        }
        for waiter in ready { waiter.resume() }
    }

    /// Marks the connection closed and releases every waiting sender.
    func markClosed() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.closed = true
            defer { state.waiters.removeAll() }
            return state.waiters.map(\.continuation)
        }
        for waiter in waiters { waiter.resume(throwing: RemoteCallError(.connectionLost, "connection closed")) }
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    func close() {
        channel.close(promise: nil)
    }
}
