import NakshaCore

/// A sans-I/O Raft server: a value stepped by ticks, messages and proposals, which returns
/// what to persist, send and apply through `ready()`.
///
/// Usage: call `tick()` on every logical clock tick, `step(_:)` for each received message,
/// `propose(_:)` for client commands; whenever `hasReady`, take `ready()`, carry it out in the
/// order its documentation states, then call `advance(_:)`.
public struct RaftCore: Sendable {
    public let configuration: Configuration
    public var id: ReplicaID { configuration.id }

    public internal(set) var term: Term
    public internal(set) var vote: ReplicaID?
    public internal(set) var role: RaftRole = .follower
    public internal(set) var leader: ReplicaID?
    /// The latest membership in the log (in force as soon as it is appended, thesis §4.1).
    public internal(set) var membership: Membership

    var log: RaftLog
    var snapshotMembership: Membership
    /// The latest snapshot (with data) this server holds, sent to followers that lag behind
    /// the compacted prefix.
    var latestSnapshot: Snapshot
    var progress: [ReplicaID: Progress] = [:]
    var votes: [ReplicaID: Bool] = [:]
    /// Whether the current campaign answers a leader's `timeoutNow` (its vote requests then
    /// ask voters to disregard the old leader's lease).
    var campaignIsLeaderTransfer = false
    var electionElapsed = 0
    var heartbeatElapsed = 0
    var randomizedElectionTimeout = 0
    var generator: SeededGenerator
    var leadTransferee: ReplicaID?
    /// Index of the latest membership-change entry in the log (0 if none).
    var pendingMembershipIndex: LogIndex = 0

    /// Ticks since a leader of the current or an earlier term last contacted this server;
    /// starts at 0 so a restarted server also waits an election timeout before voting.
    var ticksSinceLeaderContact = 0
    /// Ticks spent as leader in the current term (the leader's lease clock).
    var leaderTicks: UInt64 = 0
    /// Heartbeat rounds of this term: sequence number and `leaderTicks` when sent.
    var heartbeatRounds: [(sequence: UInt64, sentAt: UInt64)] = []
    /// Set once this leader started a transfer: the target may campaign ignoring leases.
    var leaseForfeited = false
    var readSequence: UInt64 = 0
    var pendingReads: [(requestID: UInt64, index: LogIndex, sequence: UInt64)] = []
    var readsAwaitingTermCommit: [UInt64] = []

    var outbox: [RaftMessage] = []
    var readStates: [ReadState] = []
    var handedOutHardState: HardState
    var handedOutSoftState: SoftState

    /// Restores a server from `state` (use `PersistentState.bootstrap(voters:)` for a new group).
    public init(configuration: Configuration, state: PersistentState) {
        configuration.validate()
        self.configuration = configuration
        let snapshot = state.snapshot
        self.term = state.hardState.term
        self.vote = state.hardState.vote
        self.log = RaftLog(
            snapshotIndex: snapshot.metadata.index,
            snapshotTerm: snapshot.metadata.term,
            entries: state.entries,
            committed: state.hardState.commit
        )
        self.snapshotMembership = snapshot.metadata.membership
        self.membership = snapshot.metadata.membership
        self.latestSnapshot = snapshot
        self.generator = SeededGenerator(seed: configuration.randomSeed)
        self.handedOutHardState = state.hardState
        self.handedOutSoftState = SoftState(role: .follower, leader: nil)
        recomputeMembership()
        becomeFollower(term: term, leader: nil)
        // A restarted server may have acknowledged a leader's lease just before it crashed, so
        // it waits an election timeout before helping elect anyone; a brand-new one (term 0)
        // never acknowledged anything.
        ticksSinceLeaderContact = term == 0 ? configuration.electionTimeoutTicks : 0
        handedOutHardState = hardState
    }

    public var hardState: HardState {
        HardState(term: term, vote: vote, commit: log.committed)
    }

    public var softState: SoftState {
        SoftState(role: role, leader: leader)
    }

    public var commitIndex: LogIndex { log.committed }
    public var lastIndex: LogIndex { log.lastIndex }
    public var firstIndex: LogIndex { log.firstIndex }
    public var snapshotIndex: LogIndex { log.snapshotIndex }
    /// The term of the entry at `index`, nil if compacted or absent.
    public func term(at index: LogIndex) -> Term? { log.term(at: index) }
    /// The entry at `index`, nil if compacted or absent.
    public func entry(at index: LogIndex) -> LogEntry? { log.entry(at: index) }
    /// True while this server counts in elections and quorums.
    public var isVoter: Bool { membership.isVoter(id) }
    /// The follower this leader is handing leadership to, if any.
    public var leaderTransferTarget: ReplicaID? { leadTransferee }

    /// The match index the leader tracks for `peer` (nil unless leader and `peer` a member).
    public func matchIndex(of peer: ReplicaID) -> LogIndex? {
        guard role == .leader else { return nil }
        if peer == id { return log.stableIndex }
        return progress[peer]?.match
    }

    // MARK: - Ticks

    /// Advances logical time by one tick.
    public mutating func tick() {
        if ticksSinceLeaderContact < Int.max { ticksSinceLeaderContact += 1 }
        switch role {
        case .leader:
            tickLeader()
        case .follower, .preCandidate, .candidate:
            tickElection()
        }
    }

    // MARK: - Ready / advance

    /// True when `ready()` has something to persist, send, apply or report.
    public var hasReady: Bool {
        softState != handedOutSoftState
            || hardState != handedOutHardState
            || log.unstableSnapshot != nil
            || log.stableIndex < log.lastIndex
            || log.committed > log.applied
            || !outbox.isEmpty
            || !readStates.isEmpty
    }

    /// Collects pending work; see `Ready` for the order in which the shell must carry it out.
    public mutating func ready() -> Ready {
        var result = Ready()
        if softState != handedOutSoftState {
            result.softState = softState
            handedOutSoftState = softState
        }
        if hardState != handedOutHardState {
            result.hardState = hardState
            handedOutHardState = hardState
        }
        result.snapshot = log.unstableSnapshot
        result.entries = log.unstableEntries
        result.committedEntries = log.entriesToApply
        if let last = result.committedEntries.last {
            log.markHandedOutForApply(through: last.index)
        }
        result.messages = outbox
        outbox = []
        result.readStates = readStates
        readStates = []
        return result
    }

    /// Acknowledges that `ready` was carried out (persisted, sent, applied).
    public mutating func advance(_ ready: Ready) {
        if let snapshot = ready.snapshot {
            log.markSnapshotStable(index: snapshot.metadata.index)
        }
        if let last = ready.entries.last {
            log.markStable(through: last.index, term: last.term)
            if role == .leader {
                // The leader counts itself only for what it has persisted.
                if maybeCommit() {
                    broadcastAppend()
                }
            }
        }
    }

    // MARK: - Messages out

    mutating func send(_ kind: RaftMessage.Kind, to peer: ReplicaID, term messageTerm: Term? = nil) {
        outbox.append(RaftMessage(from: id, to: peer, term: messageTerm ?? term, kind: kind))
    }

    mutating func resetRandomizedElectionTimeout() {
        let base = configuration.electionTimeoutTicks
        randomizedElectionTimeout = base + Int(generator.next(below: UInt64(base)))
    }
}
