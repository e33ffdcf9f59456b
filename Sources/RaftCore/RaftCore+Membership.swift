extension RaftCore {
    /// Proposes a single-server membership change (thesis §4.1). The change takes effect on
    /// each server as soon as the entry is in its log. Only one change may be uncommitted at a
    /// time, and only after the leader has committed an entry of its own term (the fix to the
    /// single-server change bug described in Ongaro's raft-dev post of 2015).
    @discardableResult
    public mutating func proposeMembershipChange(_ change: MembershipChange) throws(RaftError) -> LogIndex {
        try checkCanPropose()
        guard hasCommittedInCurrentTerm, pendingMembershipIndex <= log.committed else {
            throw .membershipChangePending
        }
        switch change {
        case .remove(let target) where target == id:
            throw .invalidMembershipChange("the leader cannot remove itself; transfer leadership first")
        case .promoteLearner(let target):
            let match = progress[target]?.match ?? 0
            guard membership.isLearner(target), match >= log.committed else {
                throw .invalidMembershipChange("\(target) is not a learner that has caught up (match \(match), commit \(log.committed))")
            }
        case .addLearner, .remove:
            break
        }
        let resulting: Membership
        switch membership.applying(change) {
        case .failure(let error):
            throw error
        case .success(let next):
            resulting = next
        }
        let index = appendAsLeader(.membershipChange(change, resulting: resulting))
        broadcastAppend()
        return index
    }

    /// Recomputes the membership — the latest membership entry in the log, else the
    /// snapshot's — after the log gained a change or lost a suffix; on a leader, adds and drops
    /// progress trackers.
    mutating func recomputeMembership() {
        membership = snapshotMembership
        pendingMembershipIndex = 0
        for entry in log.entries.reversed() {
            if let resulting = entry.resultingMembership {
                membership = resulting
                pendingMembershipIndex = entry.index
                break
            }
        }
        guard role == .leader else { return }
        for peer in membership.members where peer != id && progress[peer] == nil {
            var peerProgress = Progress(next: log.lastIndex)
            peerProgress.recentActive = true
            progress[peer] = peerProgress
        }
        for peer in progress.keys.sorted() where !membership.contains(peer) {
            progress[peer] = nil
            if leadTransferee == peer { leadTransferee = nil }
        }
        // A smaller voter set may already form a quorum for a higher index.
        if maybeCommit() {
            broadcastAppend()
        }
    }

    /// The membership in force at `index` (used for snapshot metadata).
    func membership(at index: LogIndex) -> Membership {
        var current = snapshotMembership
        for entry in log.entries where entry.index <= index {
            if let resulting = entry.resultingMembership {
                current = resulting
            }
        }
        return current
    }
}
