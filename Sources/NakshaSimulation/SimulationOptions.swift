import NakshaRaftStorage
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
    /// TEST-ONLY: re-introduce fixed storage bugs (the mutation check, docs/raft.md).
    public var storageMutations: RaftStorage.Mutations
    public var replicaMutations: RaftReplica.Mutations
    /// Disk fault rate per storage call, in parts per ten thousand (drawn from the seed if
    /// nil; 0 turns disk faults off).
    public var diskFaultsPerTenThousand: UInt64?

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
        recordTrace: Bool = false,
        storageMutations: RaftStorage.Mutations = [],
        replicaMutations: RaftReplica.Mutations = [],
        diskFaultsPerTenThousand: UInt64? = nil
    ) {
        self.storageMutations = storageMutations
        self.replicaMutations = replicaMutations
        self.diskFaultsPerTenThousand = diskFaultsPerTenThousand
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
