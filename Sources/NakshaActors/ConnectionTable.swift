import NIOCore
import Synchronization

/// Which connection serves which peer, which dials are in progress, and which peers are
/// backing off after failed dials.
///
/// Invariant: at most one dial per peer is in progress; callers for a peer in backoff fail
/// fast with `.peerUnreachable` instead of piling up connection attempts.
final class ConnectionTable: Sendable {
    enum Lookup {
        case ready(PeerConnection)
        case inProgress(EventLoopFuture<PeerConnection>)
        case backingOff(until: ContinuousClock.Instant, lastError: String)
        case dial
    }

    private struct Failure {
        var attempts: Int
        var retryAt: ContinuousClock.Instant
        var lastError: String
    }

    private struct State {
        var established: [NodeAddress: PeerConnection] = [:]
        var dialing: [NodeAddress: EventLoopFuture<PeerConnection>] = [:]
        var failures: [NodeAddress: Failure] = [:]
        var all: [UInt64: PeerConnection] = [:]
    }

    private let state = Mutex(State())

    /// What a caller should do to reach `peer`; `.dial` also reserves the dial for it, so it
    /// must call `dialStarted` next.
    func lookup(_ peer: NodeAddress, now: ContinuousClock.Instant) -> Lookup {
        state.withLock { state in
            if let connection = state.established[peer], !connection.isClosed { return .ready(connection) }
            if let future = state.dialing[peer] { return .inProgress(future) }
            if let failure = state.failures[peer], failure.retryAt > now {
                return .backingOff(until: failure.retryAt, lastError: failure.lastError)
            }
            return .dial
        }
    }

    func dialStarted(_ peer: NodeAddress, future: EventLoopFuture<PeerConnection>) {
        state.withLock { $0.dialing[peer] = future }
    }

    func dialSucceeded(_ peer: NodeAddress, connection: PeerConnection) {
        state.withLock { state in
            state.dialing.removeValue(forKey: peer)
            state.failures.removeValue(forKey: peer)
            if !connection.isClosed { state.established[peer] = connection }
        }
    }

    /// Records a failed dial and returns the delay before the next attempt: doubling from
    /// `initial` up to `maximum`, with the upper half jittered so that peers do not retry in
    /// lockstep.
    @discardableResult
    func dialFailed(
        _ peer: NodeAddress, error: String, now: ContinuousClock.Instant, initial: Duration, maximum: Duration
    ) -> Duration {
        state.withLock { state in
            state.dialing.removeValue(forKey: peer)
            let attempts = (state.failures[peer]?.attempts ?? 0) + 1
            var delay = initial
            for _ in 1..<min(attempts, 30) where delay < maximum { delay *= 2 }
            delay = min(delay, maximum)
            let jittered = delay / 2 + delay / 2 * Double.random(in: 0...1)
            state.failures[peer] = Failure(attempts: attempts, retryAt: now + jittered, lastError: error)
            return jittered
        }
    }

    func track(_ connection: PeerConnection) {
        state.withLock { $0.all[connection.id] = connection }
    }

    /// Uses an accepted connection for calls to `peer` too, unless one is already established.
    func adopt(_ connection: PeerConnection, for peer: NodeAddress) {
        state.withLock { state in
            if state.established[peer] == nil || state.established[peer]?.isClosed == true {
                state.established[peer] = connection
                state.failures.removeValue(forKey: peer)
            }
        }
    }

    func remove(_ connection: PeerConnection) {
        state.withLock { state in
            state.all.removeValue(forKey: connection.id)
            for (peer, established) in state.established where established.id == connection.id {
                state.established.removeValue(forKey: peer)
            }
        }
    }

    func removeAll() -> [PeerConnection] {
        state.withLock { state in
            defer { state = State() }
            return Array(state.all.values)
        }
    }

    var openCount: Int { state.withLock { $0.all.count } }

    /// Calls `body` on every open connection (outside the lock).
    func forEach(_ body: (PeerConnection) -> Void) {
        let all = state.withLock { Array($0.all.values) }
        for connection in all { body(connection) }
    }
}
