/// The voters and learners of a group. Arrays are kept sorted so iteration is deterministic.
///
/// Invariant: `voters` and `learners` are sorted, without duplicates, and disjoint — also
/// when decoded from a peer or a file (decoding goes through the initialiser).
public struct Membership: Equatable, Sendable, Codable {
    public private(set) var voters: [ReplicaID]
    public private(set) var learners: [ReplicaID]

    public init(voters: [ReplicaID] = [], learners: [ReplicaID] = []) {
        self.voters = Array(Set(voters)).sorted()
        self.learners = Array(Set(learners).subtracting(voters)).sorted()
    }

    private enum CodingKeys: String, CodingKey {
        case voters
        case learners
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            voters: try container.decode([ReplicaID].self, forKey: .voters),
            learners: try container.decode([ReplicaID].self, forKey: .learners))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(voters, forKey: .voters)
        try container.encode(learners, forKey: .learners)
    }

    /// Every member, voters first, each list sorted.
    public var members: [ReplicaID] { voters + learners }

    /// Votes (or acknowledgements) needed for a decision: a strict majority of voters.
    public var quorum: Int { voters.count / 2 + 1 }

    public func isVoter(_ id: ReplicaID) -> Bool { voters.contains(id) }
    public func isLearner(_ id: ReplicaID) -> Bool { learners.contains(id) }
    public func contains(_ id: ReplicaID) -> Bool { isVoter(id) || isLearner(id) }

    /// The membership after `change`, or a description of why the change is invalid.
    public func applying(_ change: MembershipChange) -> Result<Membership, RaftError> {
        switch change {
        case .addLearner(let id):
            guard !contains(id) else {
                return .failure(.invalidMembershipChange("\(id) is already a member"))
            }
            return .success(Membership(voters: voters, learners: learners + [id]))
        case .promoteLearner(let id):
            guard isLearner(id) else {
                return .failure(.invalidMembershipChange("\(id) is not a learner"))
            }
            return .success(Membership(voters: voters + [id], learners: learners.filter { $0 != id }))
        case .remove(let id):
            guard contains(id) else {
                return .failure(.invalidMembershipChange("\(id) is not a member"))
            }
            guard !(isVoter(id) && voters.count == 1) else {
                return .failure(.invalidMembershipChange("cannot remove the last voter \(id)"))
            }
            return .success(Membership(voters: voters.filter { $0 != id }, learners: learners.filter { $0 != id }))
        }
    }
}

/// A single-server membership change (Raft thesis §4.1). Voters are added only as learners
/// that are later promoted, so a new server never counts towards a quorum before it has the log.
public enum MembershipChange: Equatable, Sendable, Codable {
    case addLearner(ReplicaID)
    case promoteLearner(ReplicaID)
    case remove(ReplicaID)
}
