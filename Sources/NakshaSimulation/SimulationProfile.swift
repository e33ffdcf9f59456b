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
}
