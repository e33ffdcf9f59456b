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

/// Volatile facts a shell may want to observe (for metrics, forwarding): never persisted.
public struct SoftState: Equatable, Sendable, Codable {
    public var role: RaftRole
    public var leader: ReplicaID?

    public init(role: RaftRole, leader: ReplicaID?) {
        self.role = role
        self.leader = leader
    }
}

/// The role of a server (Raft §5.1 plus pre-vote's pre-candidate, thesis §9.6).
public enum RaftRole: Equatable, Sendable, Codable {
    case follower
    case preCandidate
    case candidate
    case leader
}

/// The result of a ReadIndex request: once the state machine has applied `index`, the read
/// identified by `requestID` may be served from local state and is linearizable.
public struct ReadState: Equatable, Sendable, Codable {
    public var requestID: UInt64
    public var index: LogIndex

    public init(requestID: UInt64, index: LogIndex) {
        self.requestID = requestID
        self.index = index
    }
}
