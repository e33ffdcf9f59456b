extension RaftCore {
    /// Starts an election now (as on an election timeout), if this server is a voter.
    public mutating func campaign() {
        guard isVoter, role != .leader else { return }
        startCampaign(preVote: configuration.preVote, leaderTransfer: false)
    }

    mutating func tickElection() {
        electionElapsed += 1
        if isVoter && electionElapsed >= randomizedElectionTimeout {
            electionElapsed = 0
            startCampaign(preVote: configuration.preVote, leaderTransfer: false)
        } else if role == .preCandidate || role == .candidate, electionElapsed % configuration.heartbeatIntervalTicks == 0 {
            askUnansweredVotersAgain()
        }
    }

    /// Every heartbeat interval, a (pre-)candidate asks the voters that have not answered
    /// again, in the same term, rather than wait a whole new randomized timeout:
    /// - a pre-vote is dropped unanswered by a voter still inside a leader's lease, and a
    ///   peer that heard the old leader up to a heartbeat interval (plus a tick of phase)
    ///   after us is still inside it when our earliest timeout fires; pre-votes change no
    ///   state, so repeating them is harmless;
    /// - a vote request can be lost on the way (the shell drops a batch it cannot deliver);
    ///   repeating it is safe, since a voter grants at most one candidate per term and grants
    ///   the same one again.
    private mutating func askUnansweredVotersAgain() {
        for voter in membership.voters where voter != id && votes[voter] == nil {
            askForVote(voter)
        }
    }

    /// Sends the current campaign's pre-vote or vote request to `voter`.
    private mutating func askForVote(_ voter: ReplicaID) {
        if role == .preCandidate {
            send(.preVote(lastLogIndex: log.lastIndex, lastLogTerm: log.lastTerm), to: voter, term: term + 1)
        } else {
            send(
                .requestVote(lastLogIndex: log.lastIndex, lastLogTerm: log.lastTerm, leaderTransfer: campaignIsLeaderTransfer),
                to: voter)
        }
    }

    mutating func tickLeader() {
        ticksSinceLeaderContact = 0
        leaderTicks += 1
        heartbeatElapsed += 1
        electionElapsed += 1
        if electionElapsed >= configuration.electionTimeoutTicks {
            electionElapsed = 0
            if configuration.checkQuorum && !quorumRecentlyActive() {
                becomeFollower(term: term, leader: nil)
                return
            }
            leadTransferee = nil // a transfer that did not finish within a timeout is abandoned
        }
        retryStalledSnapshots()
        if heartbeatElapsed >= configuration.heartbeatIntervalTicks {
            heartbeatElapsed = 0
            broadcastHeartbeat()
        }
    }

    /// Check-quorum: true if a quorum of voters was heard from since the last round; resets.
    private mutating func quorumRecentlyActive() -> Bool {
        var active = 0
        for voter in membership.voters {
            if voter == id {
                active += 1
            } else if progress[voter]?.recentActive == true {
                active += 1
            }
        }
        for peer in membership.members where peer != id {
            progress[peer]?.recentActive = false
        }
        return active >= membership.quorum
    }

    mutating func startCampaign(preVote: Bool, leaderTransfer: Bool) {
        if preVote {
            role = .preCandidate
            leader = nil
            votes = [:]
        } else {
            resetTermState(term: term + 1)
            role = .candidate
            vote = id
        }
        campaignIsLeaderTransfer = leaderTransfer
        electionElapsed = 0
        resetRandomizedElectionTimeout()
        votes[id] = true
        if wonElection() {
            concludeCampaign(preVote: preVote)
            return
        }
        for voter in membership.voters where voter != id {
            askForVote(voter)
        }
    }

    private func wonElection() -> Bool {
        membership.voters.filter { votes[$0] == true }.count >= membership.quorum
    }

    private func lostElection() -> Bool {
        membership.voters.filter { votes[$0] == false }.count >= membership.quorum
    }

    private mutating func concludeCampaign(preVote: Bool) {
        if preVote {
            startCampaign(preVote: false, leaderTransfer: false)
        } else {
            becomeLeader()
        }
    }

    /// RequestVote and pre-vote receiver rules (Figure 2; §5.2, §5.4.1; thesis §9.6).
    mutating func handleVoteRequest(_ message: RaftMessage, lastIndex: LogIndex, lastTerm: Term, preVote: Bool) {
        let canVote = vote == message.from
            || (vote == nil && leader == nil)
            || (preVote && message.term > term)
        let upToDate = configuration.testingFaults.contains(.voteWithoutLogCheck)
            || log.isUpToDate(lastIndex: lastIndex, lastTerm: lastTerm)
        let grant = canVote && upToDate
        if preVote {
            send(.preVoteResponse(granted: grant), to: message.from, term: grant ? message.term : term)
            return
        }
        if grant {
            vote = message.from
            electionElapsed = 0
        }
        send(.requestVoteResponse(granted: grant), to: message.from)
    }

    mutating func handleVoteResponse(_ message: RaftMessage, granted: Bool, preVote: Bool) {
        switch role {
        case .preCandidate:
            guard preVote else { return }
        case .candidate:
            let countsAsVote = !preVote
                || (granted && configuration.testingFaults.contains(.skipPreVoteTermRules))
            guard countsAsVote else { return }
        case .follower, .leader:
            return
        }
        if votes[message.from] == nil {
            votes[message.from] = granted
        }
        if wonElection() {
            concludeCampaign(preVote: role == .preCandidate)
        } else if lostElection() {
            becomeFollower(term: term, leader: nil)
        }
    }

    mutating func handleTimeoutNow(from sender: ReplicaID) {
        guard isVoter, role != .leader else { return }
        startCampaign(preVote: false, leaderTransfer: true)
    }

    // MARK: - Role transitions

    mutating func resetTermState(term newTerm: Term) {
        if newTerm != term {
            term = newTerm
            vote = nil
        }
        leader = nil
        votes = [:]
        electionElapsed = 0
        heartbeatElapsed = 0
        leadTransferee = nil
        leaderTicks = 0
        heartbeatRounds = []
        leaseForfeited = false
        pendingReads = []
        readsAwaitingTermCommit = []
        resetRandomizedElectionTimeout()
    }

    mutating func becomeFollower(term newTerm: Term, leader newLeader: ReplicaID?) {
        resetTermState(term: newTerm)
        role = .follower
        leader = newLeader
        progress = [:]
    }

    /// Becomes leader: resets every follower's progress to probe at our last index + 1 and
    /// appends an empty entry of the new term, so entries of earlier terms can commit (§5.4.2, §8).
    mutating func becomeLeader() {
        resetTermState(term: term)
        role = .leader
        leader = id
        progress = [:]
        for peer in membership.members where peer != id {
            var peerProgress = Progress(next: log.lastIndex + 1)
            peerProgress.recentActive = true
            progress[peer] = peerProgress
        }
        appendAsLeader(.empty)
        broadcastAppend()
    }
}
