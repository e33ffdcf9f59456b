import RaftCore

extension Simulation {
    /// "Committed means electorally safe": once index `index` (term `term`) is committed, no
    /// server whose persisted log lacks it may be able to collect a quorum of votes on log
    /// comparison alone (§5.4.1). This is the heart of Leader Completeness, checked at the
    /// moment of commit instead of waiting for the unlucky election that would expose it (as in
    /// Figure 8, where counting replicas of an earlier-term entry breaks it).
    mutating func checkCommitIsElectionProof(index: LogIndex, term: Term) {
        for candidate in nodes.indices where !nodes[candidate].decommissioned {
            let storage = nodes[candidate].storage
            if index <= storage.snapshot.metadata.index || storage.term(at: index) == term { continue }
            let membership = persistedMembership(of: candidate)
            guard membership.isVoter(nodes[candidate].id) else { continue }
            let candidateLast = (index: storage.lastIndex, term: storage.term(at: storage.lastIndex) ?? 0)
            var votes: [ReplicaID] = []
            for voter in membership.voters {
                guard let position = position(of: voter), !nodes[position].decommissioned else { continue }
                let voterStorage = nodes[position].storage
                let voterLastTerm = voterStorage.term(at: voterStorage.lastIndex) ?? 0
                let grants = candidateLast.term > voterLastTerm
                    || (candidateLast.term == voterLastTerm && candidateLast.index >= voterStorage.lastIndex)
                if grants { votes.append(voter) }
            }
            if votes.count >= membership.quorum {
                checker.fail("Committed entry not durable: index \(index) term \(term) is committed, yet \(nodes[candidate].id) lacks it and could be elected by \(votes)")
                return
            }
        }
    }

    /// The membership a node would use after a restart: the latest change in its persisted log,
    /// else its snapshot's.
    func persistedMembership(of position: Int) -> Membership {
        let storage = nodes[position].storage
        for entry in storage.entries.reversed() {
            if let membership = entry.resultingMembership { return membership }
        }
        return storage.snapshot.metadata.membership
    }
}
