extension RaftCore {
    /// Requests a linearizable read (thesis §6.4). When confirmed, a `ReadState` with
    /// `requestID` appears in a later `Ready`; the shell serves the read once it has applied
    /// that state's index. Reads wait until the leader has committed an entry of its term;
    /// if leadership is lost first they are dropped (the client retries).
    public mutating func readIndex(requestID: UInt64) throws(RaftError) {
        guard role == .leader else {
            throw .notLeader(leaderHint: leader)
        }
        guard hasCommittedInCurrentTerm else {
            readsAwaitingTermCommit.append(requestID)
            return
        }
        if membership.voters == [id] || (configuration.readMode == .leaseBased && holdsLease) {
            readStates.append(ReadState(requestID: requestID, index: log.committed))
            return
        }
        pendingReads.append((requestID: requestID, index: log.committed, sequence: readSequence + 1))
        broadcastHeartbeat()
    }

    /// Lease (thesis §6.4.1): a quorum acknowledged a heartbeat sent less than an election
    /// timeout (minus one tick of margin) ago, so none of them will vote for another leader yet.
    /// Forfeited once this leader started a leadership transfer (the target ignores leases).
    var holdsLease: Bool {
        guard configuration.checkQuorum, !leaseForfeited else { return false }
        let confirmed = quorumAcknowledgedSequence
        guard let round = heartbeatRounds.first(where: { $0.sequence == confirmed }) else { return false }
        return leaderTicks - round.sentAt + 1 < UInt64(configuration.electionTimeoutTicks)
    }

    var quorumAcknowledgedSequence: UInt64 {
        var acknowledged: [UInt64] = []
        for voter in membership.voters {
            acknowledged.append(voter == id ? readSequence : progress[voter]?.readAcknowledged ?? 0)
        }
        guard !acknowledged.isEmpty else { return 0 }
        acknowledged.sort(by: >)
        return acknowledged[membership.quorum - 1]
    }

    mutating func serveReadsAwaitingTermCommit() {
        let waiting = readsAwaitingTermCommit
        readsAwaitingTermCommit = []
        for requestID in waiting {
            do {
                try readIndex(requestID: requestID)
            } catch {
                return // not leader any more; the reads are dropped
            }
        }
    }

    /// Releases every pending read whose heartbeat round a quorum of voters acknowledged.
    mutating func releaseConfirmedReads() {
        guard !pendingReads.isEmpty else { return }
        let confirmed = quorumAcknowledgedSequence
        while let first = pendingReads.first, first.sequence <= confirmed {
            readStates.append(ReadState(requestID: first.requestID, index: first.index))
            pendingReads.removeFirst()
        }
    }
}
