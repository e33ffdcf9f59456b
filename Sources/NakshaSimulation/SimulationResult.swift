import RaftCore

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
    /// Commands of the workload's state machine applied (each index counted once).
    public var workloadCommandsApplied = 0
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
    /// Storage failures that stopped a node (fail-stop), injected disk faults, restarts
    /// checked against the synced state, restarts refused for a contradicting member list.
    public var persistFailures = 0
    public var diskFaults = 0
    public var recoveriesChecked = 0
    public var refusedStarts = 0

    public init() {}
}
