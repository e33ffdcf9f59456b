/// The leader's view of one follower's replication (etcd-io/raft `tracker.Progress`).
struct Progress: Sendable, Equatable {
    enum State: Sendable, Equatable {
        /// Unknown match: send one append at a time and wait for its answer.
        case probe
        /// Match known: stream appends, up to `maxInflight` unacknowledged.
        case replicate
        /// A snapshot through `pendingIndex` is on its way; send nothing else.
        case snapshot(pendingIndex: LogIndex)
    }

    var match: LogIndex = 0
    var next: LogIndex
    var state: State = .probe
    /// In probe state: an append is outstanding.
    var probeSent = false
    /// Last index of each unacknowledged append (replicate state), oldest first.
    var inflight: [LogIndex] = []
    /// Heard from since the last check-quorum round.
    var recentActive = false
    /// Ticks spent in snapshot state since the snapshot was sent or its stream reported
    /// finished; see `RaftCore.retryStalledSnapshots`.
    var snapshotTicks = 0
    /// Whether the shell reported the snapshot stream to this peer finished
    /// (`reportSnapshot`): until then the transfer may still be in progress.
    var snapshotDelivered = false
    /// The highest ReadIndex sequence this follower acknowledged.
    var readAcknowledged: UInt64 = 0

    init(next: LogIndex) {
        self.next = next
    }

    func isPaused(maxInflight: Int) -> Bool {
        switch state {
        case .probe: return probeSent
        case .replicate: return inflight.count >= maxInflight
        case .snapshot: return true
        }
    }

    /// Records an acknowledgement of `index`; true if `match` advanced.
    mutating func acknowledge(_ index: LogIndex) -> Bool {
        var updated = false
        if index > match {
            match = index
            updated = true
            probeSent = false
        }
        next = max(next, index + 1)
        return updated
    }

    /// Handles a rejection of the append whose previous index was `rejected`; `hint` is the
    /// leader's estimate of the follower's last matching index. False if stale.
    mutating func decrease(rejected: LogIndex, hint: LogIndex) -> Bool {
        switch state {
        case .replicate:
            guard rejected > match else { return false }
            next = match + 1
            return true
        case .probe, .snapshot:
            guard next > 0, next - 1 == rejected else { return false }
            next = max(min(rejected, hint + 1), match + 1)
            probeSent = false
            return true
        }
    }

    mutating func becomeProbe() {
        switch state {
        case .snapshot(let pendingIndex):
            next = max(match + 1, pendingIndex + 1)
        case .probe, .replicate:
            next = match + 1
        }
        state = .probe
        probeSent = false
        inflight = []
        snapshotTicks = 0
    }

    mutating func becomeReplicate() {
        state = .replicate
        next = match + 1
        probeSent = false
        inflight = []
    }

    mutating func becomeSnapshot(_ index: LogIndex) {
        state = .snapshot(pendingIndex: index)
        probeSent = false
        inflight = []
        snapshotTicks = 0
        snapshotDelivered = false
    }

    /// Records that an append whose last entry is `lastIndex` was sent.
    mutating func sent(lastIndex: LogIndex, entryCount: Int) {
        switch state {
        case .replicate:
            if entryCount > 0 {
                next = lastIndex + 1
                inflight.append(lastIndex)
            }
        case .probe:
            probeSent = true
        case .snapshot:
            break
        }
    }

    mutating func freeInflight(through index: LogIndex) {
        inflight.removeAll { $0 <= index }
    }

    mutating func freeFirstInflight() {
        if !inflight.isEmpty { inflight.removeFirst() }
    }
}
