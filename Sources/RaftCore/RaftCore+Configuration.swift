extension RaftCore {
    /// How a `RaftCore` behaves. All durations are in ticks of the shell's logical clock.
    public struct Configuration: Equatable, Sendable {
        /// This server's identity.
        public var id: ReplicaID
        /// A follower campaigns after a randomized timeout in
        /// `electionTimeoutTicks..<2*electionTimeoutTicks` without hearing from a leader.
        public var electionTimeoutTicks: Int
        /// A leader sends heartbeats every `heartbeatIntervalTicks` (must be < election timeout).
        public var heartbeatIntervalTicks: Int
        /// Upper bound on the payload bytes of one AppendEntries (at least one entry is sent).
        public var maxMessageBytes: Int
        /// Unacknowledged appends per follower in replicate state (pipelining depth).
        public var maxInflightMessages: Int
        /// A leader refuses proposals (`tooManyUncommittedEntries`) while this many entries
        /// are uncommitted, so a leader cut off from its quorum cannot build an unbounded
        /// backlog that followers must later replay.
        public var maxUncommittedEntries: Int
        /// Pre-vote (thesis §9.6): probe for a winnable election before bumping the term.
        public var preVote: Bool
        /// Check-quorum: a leader that has not heard from a quorum within an election timeout
        /// steps down; followers that heard from a leader within the timeout ignore campaigns.
        public var checkQuorum: Bool
        /// How ReadIndex requests are served.
        public var readMode: ReadMode
        /// Seed of the generator for randomized election timeouts.
        public var randomSeed: UInt64
        /// A snapshot stream the shell never reports on (`reportSnapshot`) is presumed lost
        /// after this many ticks, and the leader probes again; a reported one is retried one
        /// election timeout after its report. Default: 20 election timeouts.
        public var snapshotStreamTimeoutTicks: Int
        /// TEST-ONLY: deliberately broken rules, so the simulator can prove it catches them.
        /// Must be empty in production.
        public var testingFaults: TestingFaults

        public init(
            id: ReplicaID,
            electionTimeoutTicks: Int = 10,
            heartbeatIntervalTicks: Int = 1,
            maxMessageBytes: Int = 1 << 20,
            maxInflightMessages: Int = 256,
            maxUncommittedEntries: Int = 4096,
            preVote: Bool = true,
            checkQuorum: Bool = true,
            readMode: ReadMode = .safe,
            randomSeed: UInt64 = 0,
            snapshotStreamTimeoutTicks: Int? = nil,
            testingFaults: TestingFaults = []
        ) {
            self.snapshotStreamTimeoutTicks = snapshotStreamTimeoutTicks ?? electionTimeoutTicks * 20
            self.id = id
            self.electionTimeoutTicks = electionTimeoutTicks
            self.heartbeatIntervalTicks = heartbeatIntervalTicks
            self.maxMessageBytes = maxMessageBytes
            self.maxInflightMessages = maxInflightMessages
            self.maxUncommittedEntries = maxUncommittedEntries
            self.preVote = preVote
            self.checkQuorum = checkQuorum
            self.readMode = readMode
            self.randomSeed = randomSeed
            self.testingFaults = testingFaults
        }

        func validate() {
            precondition(electionTimeoutTicks > 0, "electionTimeoutTicks must be positive")
            precondition(heartbeatIntervalTicks > 0, "heartbeatIntervalTicks must be positive")
            precondition(heartbeatIntervalTicks < electionTimeoutTicks, "heartbeat interval must be below the election timeout")
            precondition(maxInflightMessages > 0, "maxInflightMessages must be positive")
            precondition(maxUncommittedEntries > 0, "maxUncommittedEntries must be positive")
            precondition(snapshotStreamTimeoutTicks >= electionTimeoutTicks, "snapshotStreamTimeoutTicks must be at least the election timeout")
            precondition(readMode == .safe || checkQuorum, "lease-based reads need checkQuorum")
        }
    }

    /// How linearizable reads are confirmed.
    public enum ReadMode: Equatable, Sendable {
        /// ReadIndex (thesis §6.4): the leader confirms it is still leader with a heartbeat
        /// round acknowledged by a quorum before answering. Safe without clock assumptions.
        case safe
        /// Lease (thesis §6.4.1): the leader answers at once, relying on check-quorum and on
        /// clocks (tick rates) not drifting beyond the election timeout. Off by default.
        case leaseBased
    }

    /// TEST-ONLY switches that break one Raft rule each. They exist so that tests can show
    /// the simulator detects each violation; never set them outside tests.
    public struct TestingFaults: OptionSet, Equatable, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// Commit by counting replicas of a previous-term entry (breaks §5.4.2, Figure 8).
        public static let commitPreviousTermEntries = TestingFaults(rawValue: 1 << 0)
        /// Grant votes without the log up-to-date check (breaks §5.4.1).
        public static let voteWithoutLogCheck = TestingFaults(rawValue: 1 << 1)
        /// Skip pre-vote's term rules: a pre-vote grant is counted as a vote without checking
        /// that it answers a real vote request for the current term.
        public static let skipPreVoteTermRules = TestingFaults(rawValue: 1 << 2)
    }
}
