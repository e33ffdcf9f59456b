extension RaftCore {
    /// Appends a client command to the leader's log and starts replicating it.
    /// Throws `notLeader(leaderHint:)` on a non-leader.
    @discardableResult
    public mutating func propose(_ data: [UInt8]) throws(RaftError) -> LogIndex {
        try checkCanPropose()
        guard log.lastIndex - log.committed < LogIndex(configuration.maxUncommittedEntries) else {
            throw .tooManyUncommittedEntries
        }
        let index = appendAsLeader(.command(data))
        broadcastAppend()
        return index
    }

    func checkCanPropose() throws(RaftError) {
        guard role == .leader else {
            throw .notLeader(leaderHint: leader)
        }
        guard leadTransferee == nil else {
            throw .leaderTransferInProgress
        }
    }

    @discardableResult
    mutating func appendAsLeader(_ payload: LogEntry.Payload) -> LogIndex {
        let entry = LogEntry(term: term, index: log.lastIndex + 1, payload: payload)
        log.append([entry])
        if entry.membershipChange != nil {
            recomputeMembership()
        }
        return entry.index
    }

    mutating func broadcastAppend() {
        for peer in membership.members where peer != id {
            sendAppend(to: peer, sendIfEmpty: true)
        }
    }

    mutating func broadcastHeartbeat() {
        readSequence += 1
        heartbeatRounds.append((sequence: readSequence, sentAt: leaderTicks))
        if heartbeatRounds.count > 64 { heartbeatRounds.removeFirst(heartbeatRounds.count - 64) }
        for peer in membership.members where peer != id {
            guard let peerProgress = progress[peer] else { continue }
            let commit = min(peerProgress.match, log.committed)
            send(.heartbeat(commitIndex: commit, readSequence: readSequence), to: peer)
        }
    }

    /// Sends `peer` the next batch of entries (at most `maxMessageBytes`), or a snapshot if the
    /// entries it needs are compacted. Returns false if nothing was sent.
    @discardableResult
    mutating func sendAppend(to peer: ReplicaID, sendIfEmpty: Bool) -> Bool {
        guard var peerProgress = progress[peer],
            !peerProgress.isPaused(maxInflight: configuration.maxInflightMessages)
        else { return false }
        let prevIndex = peerProgress.next - 1
        guard let prevTerm = log.term(at: prevIndex),
            let entries = log.entries(from: peerProgress.next, maxBytes: configuration.maxMessageBytes)
        else {
            return sendSnapshot(to: peer)
        }
        if entries.isEmpty && !sendIfEmpty {
            return false
        }
        let append = AppendEntries(
            prevLogIndex: prevIndex, prevLogTerm: prevTerm, entries: entries, leaderCommit: log.committed)
        send(.appendEntries(append), to: peer)
        peerProgress.sent(lastIndex: entries.last?.index ?? prevIndex, entryCount: entries.count)
        progress[peer] = peerProgress
        return true
    }

    private mutating func sendSnapshot(to peer: ReplicaID) -> Bool {
        guard latestSnapshot.metadata.index >= log.snapshotIndex, latestSnapshot.metadata.index > 0 else {
            return false
        }
        send(.installSnapshot(latestSnapshot), to: peer)
        progress[peer]?.becomeSnapshot(latestSnapshot.metadata.index)
        return true
    }

    /// A snapshot is resent only when it is known to have stalled: one election timeout after
    /// the shell reported its stream finished without the follower answering, or — for a
    /// stream never reported (a shell that does not report, or a report lost with a crash) —
    /// after `snapshotStreamTimeoutTicks`. A transfer in progress is never restarted.
    mutating func retryStalledSnapshots() {
        for peer in membership.members where peer != id {
            guard var peerProgress = progress[peer], case .snapshot = peerProgress.state else { continue }
            peerProgress.snapshotTicks += 1
            let limit = peerProgress.snapshotDelivered ? configuration.electionTimeoutTicks : configuration.snapshotStreamTimeoutTicks
            if peerProgress.snapshotTicks >= limit {
                peerProgress.becomeProbe()
            }
            progress[peer] = peerProgress
        }
    }

    /// The shell's report on the snapshot stream to `peer` (etcd's `ReportSnapshot`):
    /// `finished` once its last chunk was delivered, or not when the stream failed, which
    /// makes the leader probe and, if still needed, send a snapshot again. Ignored unless
    /// leader with that peer in snapshot state.
    public mutating func reportSnapshot(to peer: ReplicaID, finished: Bool) {
        guard role == .leader, var peerProgress = progress[peer], case .snapshot = peerProgress.state else { return }
        if finished {
            peerProgress.snapshotDelivered = true
            peerProgress.snapshotTicks = 0
        } else {
            peerProgress.becomeProbe()
        }
        progress[peer] = peerProgress
    }

    /// Leader: a follower answered an AppendEntries or InstallSnapshot.
    mutating func handleAppendEntriesResponse(_ response: AppendEntriesResponse, from peer: ReplicaID) {
        guard role == .leader, var peerProgress = progress[peer], response.index <= log.lastIndex else { return }
        peerProgress.recentActive = true
        if !response.success {
            var hint = min(response.conflictIndex, log.lastIndex)
            if response.conflictTerm > 0 {
                hint = log.lastIndex(atOrBelow: response.conflictIndex, withTermAtMost: response.conflictTerm).index
            }
            if peerProgress.decrease(rejected: response.index, hint: hint) {
                if case .replicate = peerProgress.state {
                    peerProgress.becomeProbe()
                }
                progress[peer] = peerProgress
                sendAppend(to: peer, sendIfEmpty: true)
            } else {
                progress[peer] = peerProgress
            }
            return
        }
        let advanced = peerProgress.acknowledge(response.index)
        switch peerProgress.state {
        case .probe:
            if advanced || peerProgress.match == response.index { peerProgress.becomeReplicate() }
        case .snapshot(let pendingIndex):
            if peerProgress.match >= pendingIndex || peerProgress.match >= log.snapshotIndex {
                peerProgress.becomeProbe()
                peerProgress.becomeReplicate()
            }
        case .replicate:
            peerProgress.freeInflight(through: response.index)
        }
        progress[peer] = peerProgress
        if advanced && maybeCommit() {
            broadcastAppend()
        }
        while sendAppend(to: peer, sendIfEmpty: false) {}
        if peer == leadTransferee && peerProgress.match == log.lastIndex {
            send(.timeoutNow, to: peer)
        }
    }

    mutating func handleHeartbeatResponse(readSequence sequence: UInt64, from peer: ReplicaID) {
        guard role == .leader, var peerProgress = progress[peer] else { return }
        peerProgress.recentActive = true
        peerProgress.probeSent = false
        peerProgress.readAcknowledged = max(peerProgress.readAcknowledged, sequence)
        if case .replicate = peerProgress.state,
            peerProgress.inflight.count >= configuration.maxInflightMessages
        {
            peerProgress.freeFirstInflight()
        }
        progress[peer] = peerProgress
        if peerProgress.match < log.lastIndex {
            sendAppend(to: peer, sendIfEmpty: true)
        }
        releaseConfirmedReads()
    }

    /// Figure 2, "Rules for Servers / Leaders": commit the largest index replicated on a
    /// quorum of voters, but only if its entry is from the current term (§5.4.2).
    @discardableResult
    mutating func maybeCommit() -> Bool {
        var matches: [LogIndex] = []
        for voter in membership.voters {
            if voter == id {
                matches.append(min(log.stableIndex, log.lastIndex))
            } else {
                matches.append(progress[voter]?.match ?? 0)
            }
        }
        guard !matches.isEmpty else { return false }
        matches.sort(by: >)
        let quorumIndex = matches[membership.quorum - 1]
        guard quorumIndex > log.committed else { return false }
        let countsPreviousTerms = configuration.testingFaults.contains(.commitPreviousTermEntries)
        guard log.term(at: quorumIndex) == term || countsPreviousTerms else { return false }
        let hadCommittedInTerm = hasCommittedInCurrentTerm
        log.commit(to: quorumIndex)
        if !hadCommittedInTerm && hasCommittedInCurrentTerm {
            serveReadsAwaitingTermCommit()
        }
        return true
    }

    var hasCommittedInCurrentTerm: Bool {
        log.term(at: log.committed) == term
    }
}
