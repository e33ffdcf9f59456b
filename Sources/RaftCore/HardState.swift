/// The state every server must persist before it answers a message (Raft Figure 2,
/// "Persistent state on all servers"), plus the commit index as a restart hint.
public struct HardState: Equatable, Sendable, Codable {
    public var term: Term
    public var vote: ReplicaID?
    public var commit: LogIndex

    public init(term: Term = 0, vote: ReplicaID? = nil, commit: LogIndex = 0) {
        self.term = term
        self.vote = vote
        self.commit = commit
    }
}
