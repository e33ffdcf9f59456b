/// Everything a server restores from stable storage at start-up: the hard state, the latest
/// snapshot (at index 0 for a fresh server, carrying the bootstrap membership) and the log
/// entries after the snapshot.
public struct PersistentState: Equatable, Sendable, Codable {
    public var hardState: HardState
    public var snapshot: Snapshot
    public var entries: [LogEntry]

    public init(hardState: HardState, snapshot: Snapshot, entries: [LogEntry]) {
        self.hardState = hardState
        self.snapshot = snapshot
        self.entries = entries
    }

    /// The state of a brand-new server of a new group whose initial voters are `voters`.
    public static func bootstrap(voters: [ReplicaID]) -> PersistentState {
        let metadata = SnapshotMetadata(index: 0, term: 0, membership: Membership(voters: voters))
        return PersistentState(hardState: HardState(), snapshot: Snapshot(metadata: metadata, data: []), entries: [])
    }

    /// The state of a brand-new server that will join an existing group (as a learner): it knows
    /// no members and waits for the leader to send it the log or a snapshot.
    public static var joining: PersistentState {
        bootstrap(voters: [])
    }
}
