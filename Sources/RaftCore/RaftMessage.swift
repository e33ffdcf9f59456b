/// A message between two servers of a Raft group. Every field is a plain value so messages
/// can be compared in tests and encoded with any `Codable` format for the wire.
public struct RaftMessage: Equatable, Sendable, Codable {
    public var from: ReplicaID
    public var to: ReplicaID
    /// The sender's term, except pre-vote requests (the term the sender would campaign in)
    /// and granted pre-vote responses (the term of the request they grant).
    public var term: Term
    public var kind: Kind

    public init(from: ReplicaID, to: ReplicaID, term: Term, kind: Kind) {
        self.from = from
        self.to = to
        self.term = term
        self.kind = kind
    }

    public enum Kind: Equatable, Sendable, Codable {
        /// Pre-vote (thesis §9.6): would you vote for me if I campaigned in `term`?
        case preVote(lastLogIndex: LogIndex, lastLogTerm: Term)
        case preVoteResponse(granted: Bool)
        /// RequestVote RPC (Figure 2). `leaderTransfer` bypasses the leader-lease check.
        case requestVote(lastLogIndex: LogIndex, lastLogTerm: Term, leaderTransfer: Bool)
        case requestVoteResponse(granted: Bool)
        /// AppendEntries RPC carrying entries (Figure 2).
        case appendEntries(AppendEntries)
        case appendEntriesResponse(AppendEntriesResponse)
        /// An empty AppendEntries that only asserts leadership, advances the commit index up to
        /// what the follower is known to match, and confirms ReadIndex rounds.
        case heartbeat(commitIndex: LogIndex, readSequence: UInt64)
        case heartbeatResponse(readSequence: UInt64)
        /// InstallSnapshot RPC (§7); answered with an `appendEntriesResponse`.
        case installSnapshot(Snapshot)
        /// Leader transfer (thesis §3.10): start an election now, ignoring leases.
        case timeoutNow
    }
}
