extension RaftCore {
    /// AppendEntries receiver rules (Figure 2, steps 1-5; §5.3), with fast-backtracking hints.
    mutating func handleAppendEntries(_ append: AppendEntries, from sender: ReplicaID) {
        guard Self.isWellFormed(append) else {
            return  // a malformed message from a peer is dropped, never trusted
        }
        if append.prevLogIndex < log.committed {
            // Everything through our commit index is known to match; say so.
            send(.appendEntriesResponse(AppendEntriesResponse(success: true, index: log.committed)), to: sender)
            return
        }
        guard log.matchTerm(append.prevLogIndex, append.prevLogTerm) else {
            let hint = log.lastIndex(
                atOrBelow: min(append.prevLogIndex, log.lastIndex), withTermAtMost: append.prevLogTerm)
            let response = AppendEntriesResponse(
                success: false, index: append.prevLogIndex, conflictIndex: hint.index, conflictTerm: hint.term)
            send(.appendEntriesResponse(response), to: sender)
            return
        }
        let lastNewIndex = append.prevLogIndex + LogIndex(append.entries.count)
        if let conflict = log.firstConflict(in: append.entries) {
            guard conflict.index > log.committed else {
                return  // would overwrite a committed entry: only a faulty leader sends this
            }
            let suffix = append.entries.filter { $0.index >= conflict.index }
            let truncatedAt = log.append(suffix)
            if truncatedAt != nil || suffix.contains(where: { $0.membershipChange != nil }) {
                recomputeMembership()
            }
        }
        log.commit(to: min(append.leaderCommit, lastNewIndex))
        send(.appendEntriesResponse(AppendEntriesResponse(success: true, index: lastNewIndex)), to: sender)
    }

    /// Entries must follow `prevLogIndex` contiguously with non-decreasing terms.
    static func isWellFormed(_ append: AppendEntries) -> Bool {
        guard append.prevLogIndex < LogIndex.max - LogIndex(append.entries.count) else { return false }
        var expectedIndex = append.prevLogIndex + 1
        var previousTerm = append.prevLogTerm
        for entry in append.entries {
            guard entry.index == expectedIndex, entry.term >= previousTerm else { return false }
            expectedIndex += 1
            previousTerm = entry.term
        }
        return true
    }

    mutating func handleHeartbeat(commitIndex: LogIndex, readSequence: UInt64, from sender: ReplicaID) {
        // The leader sends min(match, commit), so everything through it matches its log.
        log.commit(to: min(commitIndex, log.lastIndex))
        send(.heartbeatResponse(readSequence: readSequence), to: sender)
    }

    /// InstallSnapshot receiver rules (§7).
    mutating func handleInstallSnapshot(_ snapshot: Snapshot, from sender: ReplicaID) {
        let metadata = snapshot.metadata
        if metadata.index <= log.committed {
            send(.appendEntriesResponse(AppendEntriesResponse(success: true, index: log.committed)), to: sender)
            return
        }
        if log.matchTerm(metadata.index, metadata.term) {
            // We already hold the snapshot's last entry: keep the log, just commit through it.
            log.commit(to: metadata.index)
            send(.appendEntriesResponse(AppendEntriesResponse(success: true, index: log.committed)), to: sender)
            return
        }
        log.restore(snapshot)
        latestSnapshot = snapshot
        snapshotMembership = metadata.membership
        recomputeMembership()
        send(.appendEntriesResponse(AppendEntriesResponse(success: true, index: metadata.index)), to: sender)
    }
}
