import RaftCore

/// What one simulation run does. Everything not given here is drawn from `seed`.
public struct SimulationOptions: Sendable, Equatable {
    public var seed: UInt64
    /// Voters at start (3 or 5 typically); learners may be added during the run.
    public var nodeCount: Int
    /// Ticks with faults injected; invariants are checked after every tick.
    public var safetyTicks: Int
    /// Tick budget, after healing every fault, for a leader to commit a new entry.
    public var livenessTicks: Int
    /// TEST-ONLY broken rules passed to every node (see `RaftCore.TestingFaults`).
    public var testingFaults: RaftCore.TestingFaults
    /// Overrides of settings otherwise drawn from the seed.
    public var preVote: Bool?
    public var checkQuorum: Bool?
    public var readMode: RaftCore.ReadMode?
    public var maxMessageBytes: Int?
    /// Crash probability per tick, in thousandths.
    public var crashPerMille: UInt64?
    /// Probability, in thousandths, that a node crashes while carrying out a `Ready` (half
    /// before the sync, half after the sync but before sending).
    public var readyCrashPerMille: UInt64?
    /// Keep a human-readable trace of every event (slower).
    public var recordTrace: Bool

    public init(
        seed: UInt64,
        nodeCount: Int = 3,
        safetyTicks: Int = 200,
        livenessTicks: Int = 400,
        testingFaults: RaftCore.TestingFaults = [],
        preVote: Bool? = nil,
        checkQuorum: Bool? = nil,
        readMode: RaftCore.ReadMode? = nil,
        maxMessageBytes: Int? = nil,
        crashPerMille: UInt64? = nil,
        readyCrashPerMille: UInt64? = nil,
        recordTrace: Bool = false
    ) {
        self.readyCrashPerMille = readyCrashPerMille
        self.maxMessageBytes = maxMessageBytes
        self.crashPerMille = crashPerMille
        self.seed = seed
        self.nodeCount = nodeCount
        self.safetyTicks = safetyTicks
        self.livenessTicks = livenessTicks
        self.testingFaults = testingFaults
        self.preVote = preVote
        self.checkQuorum = checkQuorum
        self.readMode = readMode
        self.recordTrace = recordTrace
    }
}

/// The outcome of one run. Equal seeds and options give equal results, traces included.
public struct SimulationResult: Sendable, Equatable {
    public var seed: UInt64
    public var violations: [String]
    /// A digest of every event of the run (messages delivered, faults, proposals, applies).
    public var digest: UInt64
    public var trace: [String]
    public var stats: SimulationStats

    public var passed: Bool { violations.isEmpty }

    /// The line to print on failure; `NAKSHA_SIM_SEED=<n>` replays the run.
    public var replayLine: String { "NAKSHA_SIM_SEED=\(seed)" }
}

/// Counters describing what a run exercised.
public struct SimulationStats: Sendable, Equatable {
    public var ticks = 0
    public var messagesDelivered = 0
    public var proposals = 0
    public var highestCommitted: LogIndex = 0
    public var leadersElected = 0
    public var crashes = 0
    public var restarts = 0
    public var readsConfirmed = 0
    public var membershipChanges = 0
    public var leaderTransfers = 0
    public var compactions = 0
    public var snapshotsInstalled = 0
    public var livenessTicksUsed = 0

    public init() {}
}

/// Fault and workload rates drawn from the seed, so seeds explore different regimes.
struct SimulationProfile: Sendable {
    var dropPercent: UInt64
    var duplicatePercent: UInt64
    var maxDelayTicks: UInt64
    var crashPerMille: UInt64
    var readyCrashPerMille: UInt64
    var restartPercent: UInt64
    var partitionPerMille: UInt64
    var healPercent: UInt64
    var proposePercent: UInt64
    var readPercent: UInt64
    var membershipPerMille: UInt64
    var transferPerMille: UInt64
    var compactionPerMille: UInt64
    var maxMessageBytes: Int
    var maxInflightMessages: Int
    var preVote: Bool
    var checkQuorum: Bool
    var readMode: RaftCore.ReadMode
}
