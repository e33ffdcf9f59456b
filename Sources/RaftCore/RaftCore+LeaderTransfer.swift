extension RaftCore {
    /// Hands leadership to `target` (thesis §3.10): stop accepting proposals, bring the target
    /// up to date, then send it `timeoutNow` so it campaigns at once. Abandoned after an
    /// election timeout. Throws `notLeader` on a non-leader.
    public mutating func transferLeadership(to target: ReplicaID) throws(RaftError) {
        guard role == .leader else {
            throw .notLeader(leaderHint: leader)
        }
        guard target != id else { return }
        guard membership.isVoter(target), progress[target] != nil else {
            throw .invalidMembershipChange("leadership can only move to a voter; \(target) is not one")
        }
        if leadTransferee == target { return }
        leadTransferee = target
        leaseForfeited = true
        electionElapsed = 0
        if progress[target]?.match == log.lastIndex {
            send(.timeoutNow, to: target)
        } else {
            sendAppend(to: target, sendIfEmpty: true)
        }
    }
}
