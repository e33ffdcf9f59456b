import RaftCore

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
    /// Storage-call failure rate (EIO, ENOSPC, torn writes), per ten thousand calls.
    var diskFaultsPerTenThousand: UInt64
    /// Restarts of a node with `--peers` listing only itself, per thousand restarts.
    var loneRestartPerMille: UInt64
    /// Small segments, so that rotation and segment removal happen within a run.
    var segmentSizeBytes: Int
    /// Of the proposals, the share sent to a stale leader when one exists (a client that has
    /// not heard of the new leader): this builds the uncommitted suffixes a new leader later
    /// overwrites.
    var staleLeaderProposalPercent: UInt64
    /// Crashes right after a compaction deleted segments, per hundred compactions.
    var crashAfterCompactionPercent: UInt64
}
