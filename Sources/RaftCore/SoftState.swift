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
