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

extension Simulation {
    /// After a restart, what the real storage recovered must be what was last synced: the
    /// oracle (`SimulatedNode.storage`), or — if the node stopped on a failed batch or
    /// snapshot — the oracle with any prefix of that batch (the failed write may have partly
    /// reached the disk). Term and vote must match exactly; the commit index may lag the
    /// oracle's (a commit-only hard state is written without a sync) but never lead it.
    mutating func checkRecovery(_ position: Int, loaded: PersistentState?) {
        let node = nodes[position]
        stats.recoveriesChecked += 1
        let model = node.storage
        guard let recovered = loaded else {
            if model.hardState.term > 0 || !model.entries.isEmpty || model.snapshot.metadata.index > 0 {
                checker.fail("Recovery: \(node.id) recovered nothing, but had synced term \(model.hardState.term), \(model.entries.count) entries, snapshot \(model.snapshot.metadata.index)")
            }
            return
        }
        var candidates = [model]
        if let failed = node.failedBatch {
            var bases = [model]
            if let snapshot = failed.snapshot {
                var installed = model
                installed.install(snapshot)
                bases.append(installed)
            }
            for base in bases {
                for count in 0...failed.entries.count {
                    var candidate = base
                    _ = candidate.append(Array(failed.entries.prefix(count)))
                    candidates.append(candidate)
                    if count == failed.entries.count, let hardState = failed.hardState {
                        candidate.hardState = hardState
                        candidates.append(candidate)
                    }
                }
            }
        }
        if let snapshot = node.failedSnapshot {
            var compacted = model
            compacted.compact(snapshot)
            candidates.append(compacted)
        }
        var reasons: [String] = []
        for candidate in candidates {
            guard let reason = Self.mismatch(recovered: recovered, synced: candidate) else {
                // Adopt what the disk says: it is one of the states the node may have synced.
                nodes[position].storage = SimulatedStorage(state: recovered)
                nodes[position].storage.hardState.commit = recovered.hardState.commit
                return
            }
            reasons.append(reason)
        }
        checker.fail("Recovery: \(node.id) recovered a state it never synced: \(reasons.first ?? "")")
    }

    /// Why `recovered` is not `synced` (as the storage would load it), or nil if it is.
    static func mismatch(recovered: PersistentState, synced: SimulatedStorage) -> String? {
        var hardState = synced.hardState
        let lastTerm = synced.term(at: synced.lastIndex) ?? 0
        if hardState.term < lastTerm {
            hardState = HardState(term: lastTerm, vote: nil, commit: hardState.commit)  // as load() lifts a torn hard state
        }
        if recovered.hardState.term != hardState.term || recovered.hardState.vote != hardState.vote {
            return "hard state term \(recovered.hardState.term) vote \(String(describing: recovered.hardState.vote)), synced term \(hardState.term) vote \(String(describing: hardState.vote))"
        }
        if recovered.hardState.commit > max(hardState.commit, synced.snapshot.metadata.index) {
            return "commit index \(recovered.hardState.commit) past the synced \(hardState.commit)"
        }
        let recoveredLast = recovered.snapshot.metadata.index + LogIndex(recovered.entries.count)
        if recoveredLast != synced.lastIndex {
            return "last index \(recoveredLast), synced \(synced.lastIndex)"
        }
        let from = max(recovered.snapshot.metadata.index, synced.snapshot.metadata.index)
        let recoveredTermAtFrom = from == recovered.snapshot.metadata.index
            ? recovered.snapshot.metadata.term
            : recovered.entries.first(where: { $0.index == from })?.term
        if from > 0, recoveredTermAtFrom != synced.term(at: from) {
            return "term at index \(from) is \(String(describing: recoveredTermAtFrom)), synced \(String(describing: synced.term(at: from)))"
        }
        for entry in recovered.entries where entry.index > from {
            guard let position = synced.entries.firstIndex(where: { $0.index == entry.index }), synced.entries[position] == entry else {
                return "entry \(entry.index) (term \(entry.term)) differs from the synced one"
            }
        }
        return nil
    }
}
