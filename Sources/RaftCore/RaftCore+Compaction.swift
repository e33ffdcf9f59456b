extension RaftCore {
    /// Compacts the log through `index` (at most the applied index), recording `data` — the
    /// state machine's snapshot at exactly `index` — for lagging followers. Returns the
    /// snapshot, which the shell persists before dropping its stored entries through `index`.
    @discardableResult
    public mutating func compact(through index: LogIndex, snapshotData data: [UInt8]) throws(RaftError) -> Snapshot {
        guard index > log.snapshotIndex else {
            throw .invalidCompaction("index \(index) is not after the current snapshot \(log.snapshotIndex)")
        }
        guard index <= log.applied, index <= log.stableIndex, let snapshotTerm = log.term(at: index) else {
            throw .invalidCompaction("index \(index) is not applied and persisted yet (applied \(log.applied))")
        }
        let metadata = SnapshotMetadata(index: index, term: snapshotTerm, membership: membership(at: index))
        let snapshot = Snapshot(metadata: metadata, data: data)
        snapshotMembership = metadata.membership
        log.compact(through: index)
        latestSnapshot = snapshot
        return snapshot
    }

    /// The snapshot this server would send to a lagging follower.
    public var snapshot: Snapshot { latestSnapshot }
}
