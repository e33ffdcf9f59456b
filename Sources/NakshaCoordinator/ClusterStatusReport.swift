import NakshaRaft

/// The cluster's status as `GET /v1/cluster` and `naksha cluster status --json` show it.
///
/// The view is the leader's whenever the answering node can reach it (only the leader
/// knows each follower's match index), else the answering node's own.
public struct ClusterStatusReport: Sendable, Codable, Equatable {
    public struct Member: Sendable, Codable, Equatable {
        public var id: UInt64
        /// `leader`, `follower` (a voter that does not lead) or `learner`.
        public var role: String
        /// The member's peer (actor-transport) address.
        public var address: String?
        /// The highest log index the leader knows to be on this member; `null` when the view
        /// is not the leader's.
        public var matchIndex: UInt64?

        public init(id: UInt64, role: String, address: String?, matchIndex: UInt64?) {
            self.id = id
            self.role = role
            self.address = address
            self.matchIndex = matchIndex
        }
    }

    /// The leader's node id, or `null` while there is none (an election is running).
    public var leader: UInt64?
    public var term: UInt64
    /// The highest log index known to be committed (in `servedBy`'s view).
    public var commitIndex: UInt64
    /// The highest log index applied to `servedBy`'s state machine.
    public var appliedIndex: UInt64
    /// The node whose view this is.
    public var servedBy: UInt64
    /// The node that answered the request.
    public var answeredBy: UInt64
    public var members: [Member]

    public init(leader: UInt64?, term: UInt64, commitIndex: UInt64, appliedIndex: UInt64, servedBy: UInt64, answeredBy: UInt64, members: [Member]) {
        self.leader = leader
        self.term = term
        self.commitIndex = commitIndex
        self.appliedIndex = appliedIndex
        self.servedBy = servedBy
        self.answeredBy = answeredBy
        self.members = members
    }

    init(status: RaftNode.Status, answeredBy: UInt64) {
        leader = status.leader
        term = status.term
        commitIndex = status.commitIndex
        appliedIndex = status.appliedIndex
        servedBy = status.id
        self.answeredBy = answeredBy
        members = status.members.map { member in
            let role = member.role == "learner" ? "learner" : (member.id == status.leader ? "leader" : "follower")
            return Member(id: member.id, role: role, address: member.address, matchIndex: member.matchIndex)
        }
    }
}
