/// What a snapshot covers: the log prefix through `index` (whose last entry had `term`) and
/// the membership in force at that index.
public struct SnapshotMetadata: Equatable, Sendable, Codable {
    public var index: LogIndex
    public var term: Term
    public var membership: Membership

    public init(index: LogIndex, term: Term, membership: Membership) {
        self.index = index
        self.term = term
        self.membership = membership
    }
}

/// A state-machine snapshot: opaque application bytes plus the metadata Raft needs.
public struct Snapshot: Equatable, Sendable, Codable {
    public var metadata: SnapshotMetadata
    public var data: [UInt8]

    public init(metadata: SnapshotMetadata, data: [UInt8]) {
        self.metadata = metadata
        self.data = data
    }
}
