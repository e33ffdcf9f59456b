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
        /// Encoded frames not yet handed to the channel, in send order.
        var unwritten: [[UInt8]] = []
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

    /// Encodes `frame` and queues it for the socket now (no waiting). Replies, pongs and
    /// cancels use this; calls pass the bytes they reserved with `waitForCapacity`.
    ///
    /// Frames queued by any number of tasks before the connection's event loop next runs
    /// go out together: copied into few buffers, one channel write each, and one flush (one
    /// `writev`). Writing each small frame through the pipeline with its own promise cost
    /// more than the system call.
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
        metrics.recordBytes(sent: size)
        let first = state.withLock { state -> Bool in
            state.queuedBytes += size - reserved
            state.unwritten.append(bytes)
            return state.unwritten.count == 1
        }
        if first {
            channel.eventLoop.execute { [self] in writeQueued() }
        }
    }

    /// Writes and flushes every queued frame, in the order they were queued. Runs on the
    /// channel's event loop.
    func writeQueued() {
        let frames = state.withLock { state -> [[UInt8]] in
            defer { state.unwritten = [] }
            return state.unwritten
        }
        guard !frames.isEmpty else { return }
        var index = 0
        while index < frames.count {
            // Up to `Self.writeChunkBytes` per buffer; a larger frame gets one of its own.
            var total = frames[index].count
            var end = index + 1
            while end < frames.count, total + frames[end].count <= Self.writeChunkBytes {
                total += frames[end].count
                end += 1
            }
            let size = total
            var buffer = channel.allocator.buffer(capacity: size)
            for frame in frames[index..<end] { buffer.writeBytes(frame) }
            let promise = channel.eventLoop.makePromise(of: Void.self)
            promise.futureResult.whenComplete { [self] _ in released(size) }
            channel.write(buffer, promise: promise)
            index = end
        }
        channel.flush()
    }

    /// Frames are coalesced into buffers of at most this many bytes.
    static let writeChunkBytes = 256 * 1024

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
