import Distributed
import NakshaActors
import NakshaRaftStorage
import RaftCore

/// A membership change as an operator asks for it. Changes are single-server (see
/// docs/raft.md): a new node joins as a learner, is promoted once it has caught up, and a
/// member is removed one at a time.
public enum MembershipRequest: Sendable, Codable, Equatable {
    /// Adds node `id`, listening at `address`, as a non-voting learner.
    case addLearner(id: UInt64, address: NodeAddress)
    /// Makes learner `id` a voter (refused until it has caught up with the commit index).
    case promote(id: UInt64)
    /// Removes member `id` (the leader cannot remove itself: transfer leadership first).
    case remove(id: UInt64)
}

extension RaftNode {
    /// What `naksha cluster status` and `GET /v1/cluster` show.
    public struct Status: Sendable, Codable, Equatable {
        public struct Member: Sendable, Codable, Equatable {
            public var id: UInt64
            /// `voter` or `learner`.
            public var role: String
            public var address: String?
            /// The highest log index known to be on that member (the leader's view; the
            /// leader's own is its last index). `nil` on a follower's status.
            public var matchIndex: UInt64?
        }

        /// The node that produced this status.
        public var id: UInt64
        /// Its Raft role: `leader`, `follower`, `candidate` or `preCandidate`.
        public var role: String
        public var term: UInt64
        /// The leader this node knows of, if any.
        public var leader: UInt64?
        public var commitIndex: UInt64
        public var appliedIndex: UInt64
        public var lastIndex: UInt64
        /// The last index covered by this node's latest durable snapshot: a restart begins
        /// there. (A snapshot being written in the background counts once it is on disk.)
        public var snapshotIndex: UInt64
        /// A member that knows a leader and has applied up to the commit index it learned
        /// when it first heard of one after starting.
        public var ready: Bool
        public var members: [Member]
        /// The members this node has received Raft messages from since its process started
        /// (a restarted member whose data directory is empty asks for this: if a peer heard
        /// from it, it was a member and lost its log).
        public var heardFrom: [UInt64]
    }

    public distributed func status() -> Status {
        let membership = core.membership
        let isLeader = core.role == .leader
        let members = membership.members.map { member in
            Status.Member(
                id: member.rawValue, role: membership.isVoter(member) ? "voter" : "learner",
                address: addresses[member.rawValue].map { "\($0)" },
                matchIndex: member == core.id ? (isLeader ? core.lastIndex : nil) : core.matchIndex(of: member))
        }
        return Status(
            id: core.id.rawValue, role: "\(core.role)", term: core.term, leader: core.leader?.rawValue,
            commitIndex: core.commitIndex, appliedIndex: applied, lastIndex: core.lastIndex, snapshotIndex: durableSnapshotIndex,
            ready: isReady, members: members, heardFrom: heardFrom.sorted())
    }

    /// How long a leadership transfer or membership change waits for the group to settle:
    /// two of the longest randomised election timeouts (each up to twice the configured one).
    private var twoElectionTimeouts: Duration { options.tickInterval * (options.electionTimeoutTicks * 4) }

    /// Whether this node can serve: it knows a leader and has caught up with what was
    /// committed when it learned of one.
    public var isReady: Bool {
        guard core.leader != nil, let readyIndex else { return false }
        return core.membership.contains(core.id) && applied >= readyIndex
    }

    /// Hands leadership to voter `target` (Raft thesis §3.10) and returns once `target`
    /// leads, or throws if it did not within two election timeouts. Only the leader can.
    public distributed func transferLeadership(to target: UInt64) async throws {
        guard core.leader != ReplicaID(target) else { return }
        try replica.withCore { core throws(RaftError) in try core.transferLeadership(to: ReplicaID(target)) }
        try processReady()
        let deadline = ContinuousClock.now + twoElectionTimeouts
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: options.tickInterval)
            if core.leader == ReplicaID(target) { return }
        }
        throw RaftError(
            code: .leaderTransferInProgress, leaderHint: core.leader,
            detail: "node \(target) did not take over within two election timeouts; the leader is \(core.leader.map { "\($0)" } ?? "unknown")")
    }

    /// Applies one membership change through the log and returns once it is applied here.
    /// Only the leader can; a follower throws `notLeader` with a hint. A promotion waits up
    /// to two election timeouts for the learner to catch up, and any change as long for a
    /// pending one to commit, before it is refused.
    public distributed func changeMembership(_ change: MembershipRequest) async throws {
        guard core.role == .leader else { throw RaftError.notLeader(leaderHint: core.leader) }
        let coreChange: MembershipChange
        switch change {
        case .addLearner(let id, let address):
            if addresses[id] != address {
                try await appendAddress(id: id, address: address)
            }
            coreChange = .addLearner(ReplicaID(id))
        case .promote(let id):
            // A learner must have caught up; give one that is close a moment to get there
            // (its last append response may still be on the way).
            let learner = ReplicaID(id)
            let deadline = ContinuousClock.now + twoElectionTimeouts
            while core.membership.isLearner(learner), (core.matchIndex(of: learner) ?? 0) < core.commitIndex, ContinuousClock.now < deadline {
                try await Task.sleep(for: options.tickInterval)
            }
            coreChange = .promoteLearner(learner)
        case .remove(let id):
            coreChange = .remove(ReplicaID(id))
        }
        // A change waits for the previous one (and, on a new leader, for its first commit).
        let deadline = ContinuousClock.now + twoElectionTimeouts
        while true {
            do {
                let index = try replica.withCore { core throws(RaftError) in try core.proposeMembershipChange(coreChange) }
                _ = try await waitForApply(index, requestID: nil)
                return
            } catch let error as RaftError where error.code == .membershipChangePending && ContinuousClock.now < deadline {
                try await Task.sleep(for: options.tickInterval)
            }
        }
    }
}
