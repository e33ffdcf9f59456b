/// The arguments of an AppendEntries RPC.
public struct AppendEntries: Equatable, Sendable, Codable {
    public var prevLogIndex: LogIndex
    public var prevLogTerm: Term
    public var entries: [LogEntry]
    public var leaderCommit: LogIndex

    public init(prevLogIndex: LogIndex, prevLogTerm: Term, entries: [LogEntry], leaderCommit: LogIndex) {
        self.prevLogIndex = prevLogIndex
        self.prevLogTerm = prevLogTerm
        self.entries = entries
        self.leaderCommit = leaderCommit
    }
}

/// The result of an AppendEntries or InstallSnapshot RPC.
public struct AppendEntriesResponse: Equatable, Sendable, Codable {
    public var success: Bool
    /// On success the index the follower now matches; on rejection the rejected `prevLogIndex`.
    public var index: LogIndex
    /// Fast backtracking (on rejection): the follower's last index at or below `prevLogIndex`
    /// whose term is at most `prevLogTerm`, and that entry's term.
    public var conflictIndex: LogIndex
    public var conflictTerm: Term

    public init(success: Bool, index: LogIndex, conflictIndex: LogIndex = 0, conflictTerm: Term = 0) {
        self.success = success
        self.index = index
        self.conflictIndex = conflictIndex
        self.conflictTerm = conflictTerm
    }
}
