extension RaftCore {
    /// Terms above this are treated as malformed input, so term arithmetic cannot overflow.
    static let maximumTerm: Term = 1 << 62

    /// Processes one message from a peer. Messages from stale terms are answered or ignored as
    /// Raft requires; malformed routing throws.
    public mutating func step(_ message: RaftMessage) throws(RaftError) {
        guard message.to == id else {
            throw .misaddressedMessage(to: message.to, at: id)
        }
        guard message.term <= Self.maximumTerm else {
            return  // no real group gets near 2^62 terms: a corrupt or hostile message
        }
        guard handleTerm(of: message) else { return }
        switch message.kind {
        case .preVote(let lastIndex, let lastTerm):
            handleVoteRequest(message, lastIndex: lastIndex, lastTerm: lastTerm, preVote: true)
        case .requestVote(let lastIndex, let lastTerm, _):
            handleVoteRequest(message, lastIndex: lastIndex, lastTerm: lastTerm, preVote: false)
        case .preVoteResponse(let granted):
            handleVoteResponse(message, granted: granted, preVote: true)
        case .requestVoteResponse(let granted):
            handleVoteResponse(message, granted: granted, preVote: false)
        case .appendEntries(let append):
            ticksSinceLeaderContact = 0
            becomeFollowerOfSender(message)
            handleAppendEntries(append, from: message.from)
        case .heartbeat(let commitIndex, let sequence):
            ticksSinceLeaderContact = 0
            becomeFollowerOfSender(message)
            handleHeartbeat(commitIndex: commitIndex, readSequence: sequence, from: message.from)
        case .installSnapshot(let snapshot):
            ticksSinceLeaderContact = 0
            becomeFollowerOfSender(message)
            handleInstallSnapshot(snapshot, from: message.from)
        case .appendEntriesResponse(let response):
            handleAppendEntriesResponse(response, from: message.from)
        case .heartbeatResponse(let sequence):
            handleHeartbeatResponse(readSequence: sequence, from: message.from)
        case .timeoutNow:
            handleTimeoutNow(from: message.from)
        }
    }

    /// Figure 2, "Rules for Servers / All Servers": a higher term converts us to follower.
    /// Returns false when the message must not be processed further.
    private mutating func handleTerm(of message: RaftMessage) -> Bool {
        if message.term > term {
            return handleHigherTerm(message)
        }
        if message.term < term {
            handleLowerTerm(message)
            return false
        }
        return true
    }

    private mutating func handleHigherTerm(_ message: RaftMessage) -> Bool {
        switch message.kind {
        case .preVote, .requestVote:
            if isInLeaderLease && !isLeaderTransferVote(message) {
                // Check-quorum (thesis §4.2.3): a server that recently heard from a leader
                // disregards campaigns, so a partitioned or removed server cannot disrupt it.
                return false
            }
            if case .preVote = message.kind {
                return true // pre-vote never changes our term
            }
            becomeFollower(term: message.term, leader: nil)
            return true
        case .preVoteResponse(let granted):
            if granted { return true } // a grant carries the term we asked for
            becomeFollower(term: message.term, leader: nil)
            return true
        case .appendEntries, .heartbeat, .installSnapshot:
            becomeFollower(term: message.term, leader: message.from)
            return true
        case .requestVoteResponse, .appendEntriesResponse, .heartbeatResponse, .timeoutNow:
            becomeFollower(term: message.term, leader: nil)
            return true
        }
    }

    private mutating func handleLowerTerm(_ message: RaftMessage) {
        switch message.kind {
        case .appendEntries, .heartbeat, .installSnapshot:
            // Tell a stale leader about the newer term so it steps down; with pre-vote or
            // check-quorum it could otherwise never learn it (etcd-io/raft does the same).
            if configuration.checkQuorum || configuration.preVote {
                send(.appendEntriesResponse(AppendEntriesResponse(success: false, index: 0)), to: message.from)
            }
        case .preVote:
            send(.preVoteResponse(granted: false), to: message.from)
        case .requestVote, .preVoteResponse, .requestVoteResponse, .appendEntriesResponse,
            .heartbeatResponse, .timeoutNow:
            break
        }
    }

    /// Check-quorum's lease: a server that heard from a leader less than an election timeout
    /// ago (or restarted less than one ago) does not help anyone else become leader. This is
    /// also what makes the leader's lease reads safe.
    private var isInLeaderLease: Bool {
        configuration.checkQuorum && ticksSinceLeaderContact < configuration.electionTimeoutTicks
    }

    private func isLeaderTransferVote(_ message: RaftMessage) -> Bool {
        if case .requestVote(_, _, let leaderTransfer) = message.kind {
            return leaderTransfer
        }
        return false
    }

    /// A candidate (or pre-candidate) that hears from a leader of its term steps down.
    private mutating func becomeFollowerOfSender(_ message: RaftMessage) {
        switch role {
        case .candidate, .preCandidate:
            becomeFollower(term: term, leader: message.from)
        case .follower:
            if leader != message.from {
                leader = message.from
            }
            electionElapsed = 0
        case .leader:
            break // impossible: two leaders in one term; ignore rather than crash on input
        }
    }
}
