import CoreMetrics
import RaftCore
import NakshaCore

/// The Raft shell's metrics, declared once:
/// `naksha_raft_term`, `naksha_raft_leader_changes_total`, `naksha_raft_commit_index`,
/// `naksha_raft_applied_index`, `naksha_raft_proposals_total{result}`,
/// `naksha_raft_commit_latency_seconds`, `naksha_wal_fsync_duration_seconds`,
/// `naksha_raft_snapshot_duration_seconds{kind}` (`taken` or `installed`),
/// `naksha_raft_snapshot_failures_total` (background snapshots not taken),
/// `naksha_raft_node_stopped` (1 once a storage failure stopped the node).
///
/// `result` is `ok` or a `RaftError` code name: a bounded set.
public final class RaftMetrics: Sendable {
    private let term: Gauge
    private let leaderChanges: Counter
    private let commitIndex: Gauge
    private let appliedIndex: Gauge
    private let proposalsOK: Counter
    private let factory: any MetricsFactory
    private let commitLatency: Timer
    private let fsyncDuration: Timer
    private let snapshotTaken: Timer
    private let snapshotInstalled: Timer
    private let snapshotFailures: Counter

    /// Metrics go to `factory`, or to the process-wide `MetricsSystem` when it is nil.
    public init(factory: (any MetricsFactory)? = nil) {
        let factory = factory ?? MetricsSystem.factory
        self.factory = factory
        term = Gauge(label: "naksha_raft_term", dimensions: [], factory: factory)
        leaderChanges = Counter(label: "naksha_raft_leader_changes_total", dimensions: [], factory: factory)
        commitIndex = Gauge(label: "naksha_raft_commit_index", dimensions: [], factory: factory)
        appliedIndex = Gauge(label: "naksha_raft_applied_index", dimensions: [], factory: factory)
        proposalsOK = Counter(label: "naksha_raft_proposals_total", dimensions: [("result", "ok")], factory: factory)
        commitLatency = Timer(label: "naksha_raft_commit_latency_seconds", dimensions: [], factory: factory)
        fsyncDuration = Timer(label: "naksha_wal_fsync_duration_seconds", dimensions: [], factory: factory)
        snapshotTaken = Timer(label: "naksha_raft_snapshot_duration_seconds", dimensions: [("kind", "taken")], factory: factory)
        snapshotInstalled = Timer(label: "naksha_raft_snapshot_duration_seconds", dimensions: [("kind", "installed")], factory: factory)
        snapshotFailures = Counter(label: "naksha_raft_snapshot_failures_total", dimensions: [], factory: factory)
    }

    func observe(term value: UInt64, commitIndex commit: UInt64, appliedIndex applied: UInt64) {
        term.record(Int64(clamping: value))
        commitIndex.record(Int64(clamping: commit))
        appliedIndex.record(Int64(clamping: applied))
    }

    func leaderChanged() { leaderChanges.increment() }

    func proposalCommitted(latency: Duration) {
        proposalsOK.increment()
        commitLatency.recordNanoseconds(latency.inNanoseconds)
    }

    /// Failures are rare; their counters are created on first use.
    func proposalFailed(_ code: RaftError.Code) {
        Counter(label: "naksha_raft_proposals_total", dimensions: [("result", "\(code)")], factory: factory).increment()
    }

    public func walSynced(duration: Duration) { fsyncDuration.recordNanoseconds(duration.inNanoseconds) }
    func snapshotTaken(duration: Duration) { snapshotTaken.recordNanoseconds(duration.inNanoseconds) }
    func snapshotInstalled(duration: Duration) { snapshotInstalled.recordNanoseconds(duration.inNanoseconds) }
    /// A background snapshot was not taken (a state machine could not encode, or the write
    /// failed, which also stops the node).
    func snapshotFailed() { snapshotFailures.increment() }
    /// The node stopped after a storage failure (fail-stop): `naksha_raft_node_stopped` is 1.
    func nodeStopped() { Gauge(label: "naksha_raft_node_stopped", dimensions: [], factory: factory).record(1) }
}
