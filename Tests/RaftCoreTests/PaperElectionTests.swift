import RaftCore
import Testing

/// Raft paper §5.1–§5.2 (Figure 2 "Rules for Servers" and "RequestVote RPC"), one test per
/// rule, after etcd-io/raft's raft_paper_test.go.
@Suite("Raft paper §5.1-5.2: terms and leader election")
struct PaperElectionTests {
    @Test("§5.1: a server seeing a higher term adopts it and becomes follower", arguments: [RaftRole.follower, .candidate, .leader])
    func higherTermMakesFollower(role: RaftRole) throws {
        var node = Fixture.node(1)
        switch role {
        case .follower: break
        case .candidate, .preCandidate: node.campaign()
        case .leader: node.elect()
        }
        #expect(node.role == role)
        try node.step(Fixture.message(2, 1, term: 9, .heartbeat(commitIndex: 0, readSequence: 0)))
        #expect(node.role == .follower)
        #expect(node.term == 9)
        #expect(node.leader == ReplicaID(2))
    }

    @Test("§5.1: a request with a stale term is rejected (not applied)")
    func staleTermIgnored() throws {
        var node = Fixture.node(1, terms: [1, 2], term: 3)
        let append = AppendEntries(prevLogIndex: 2, prevLogTerm: 2, entries: [LogEntry(term: 2, index: 3, payload: .empty)], leaderCommit: 3)
        try node.step(Fixture.message(2, 1, term: 2, .appendEntries(append)))
        #expect(node.lastIndex == 2)
        #expect(node.commitIndex == 0)
        #expect(node.term == 3)
    }

    @Test("§5.2: servers start as followers")
    func startAsFollower() {
        let node = Fixture.node(1)
        #expect(node.role == .follower)
        #expect(node.term == 0)
    }

    @Test("§5.2: a leader sends heartbeats to every follower each heartbeat interval")
    func leaderSendsHeartbeats() {
        var node = Fixture.node(1)
        node.elect()
        node.drain()
        node.tick()
        let heartbeats = node.sent().filter {
            if case .heartbeat = $0.kind { return true }
            return false
        }
        #expect(heartbeats.map(\.to) == [2, 3])
    }

    @Test("§5.2: on election timeout a follower increments its term, votes for itself and requests votes")
    func followerStartsElection() {
        var node = Fixture.node(1)
        node.ticks(20)
        #expect(node.role == .candidate)
        #expect(node.term == 1)
        #expect(node.vote == ReplicaID(1))
        let requests = node.sent().filter {
            if case .requestVote = $0.kind { return true }
            return false
        }
        #expect(Set(requests.map(\.to)) == [2, 3])
        #expect(requests.allSatisfy { $0.term == 1 })
    }

    @Test("§5.2: a candidate that times out starts a new election in a new term")
    func candidateRestartsElection() {
        var node = Fixture.node(1)
        node.campaign()
        #expect(node.term == 1)
        node.ticks(20)
        #expect(node.role == .candidate)
        #expect(node.term == 2)
    }

    @Test("§5.2: a candidate wins with votes from a majority", arguments: [
        (voters: UInt64(1), granted: 0, expected: RaftRole.leader),
        (voters: 3, granted: 1, expected: .leader),
        (voters: 3, granted: 0, expected: .candidate),
        (voters: 5, granted: 2, expected: .leader),
        (voters: 5, granted: 1, expected: .candidate),
    ])
    func majorityWins(voters: UInt64, granted: Int, expected: RaftRole) throws {
        var node = Fixture.node(1, voters: voters)
        node.campaign()
        for peer in (2...max(voters, 2)).prefix(granted) {
            try node.step(Fixture.message(peer, 1, term: 1, .requestVoteResponse(granted: true)))
        }
        #expect(node.role == expected)
    }

    @Test("§5.2: a candidate rejected by a majority steps down")
    func majorityRejectionStepsDown() throws {
        var node = Fixture.node(1)
        node.campaign()
        try node.step(Fixture.message(2, 1, term: 1, .requestVoteResponse(granted: false)))
        try node.step(Fixture.message(3, 1, term: 1, .requestVoteResponse(granted: false)))
        #expect(node.role == .follower)
    }

    @Test("§5.2: each server grants at most one vote per term, first come first served")
    func oneVotePerTerm() throws {
        var node = Fixture.node(1)
        try node.step(Fixture.message(2, 1, term: 1, .requestVote(lastLogIndex: 0, lastLogTerm: 0, leaderTransfer: false)))
        try node.step(Fixture.message(3, 1, term: 1, .requestVote(lastLogIndex: 0, lastLogTerm: 0, leaderTransfer: false)))
        try node.step(Fixture.message(2, 1, term: 1, .requestVote(lastLogIndex: 0, lastLogTerm: 0, leaderTransfer: false)))
        let responses = node.sent().map { ($0.to, $0.kind) }
        #expect(responses.count == 3)
        #expect(responses[0].0 == 2 && responses[0].1 == .requestVoteResponse(granted: true))
        #expect(responses[1].0 == 3 && responses[1].1 == .requestVoteResponse(granted: false))
        #expect(responses[2].0 == 2 && responses[2].1 == .requestVoteResponse(granted: true))
        #expect(node.vote == ReplicaID(2))
    }

    @Test("§5.2: the vote is part of the persisted hard state, so it survives a restart")
    func voteIsPersisted() throws {
        var node = Fixture.node(1)
        try node.step(Fixture.message(2, 1, term: 1, .requestVote(lastLogIndex: 0, lastLogTerm: 0, leaderTransfer: false)))
        let ready = node.ready()
        #expect(ready.hardState == HardState(term: 1, vote: 2, commit: 0))
    }

    @Test("§5.2: a candidate receiving AppendEntries from a leader of its term becomes follower")
    func candidateYieldsToLeader() throws {
        var node = Fixture.node(1)
        node.campaign()
        try node.step(Fixture.message(2, 1, term: 1, .appendEntries(AppendEntries(prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0))))
        #expect(node.role == .follower)
        #expect(node.leader == ReplicaID(2))
    }

    @Test("§5.2: election timeouts are randomized in [timeout, 2*timeout)")
    func randomizedTimeouts() {
        var observed = Set<Int>()
        for seed in 0..<40 as Range<UInt64> {
            var node = Fixture.node(1, configuration: Fixture.configuration(1, seed: seed))
            var elapsed = 0
            while node.role == .follower && elapsed < 100 {
                node.tick()
                elapsed += 1
            }
            #expect(elapsed >= 10 && elapsed < 20)
            observed.insert(elapsed)
        }
        #expect(observed.count > 3)
    }

    @Test("§5.4.1: a voter denies its vote to a candidate whose log is less up-to-date", arguments: [
        (lastIndex: LogIndex(2), lastTerm: Term(1), granted: false),  // lower last term
        (lastIndex: 1, lastTerm: 2, granted: false),  // same term, shorter
        (lastIndex: 2, lastTerm: 2, granted: true),  // same
        (lastIndex: 3, lastTerm: 2, granted: true),  // longer
        (lastIndex: 1, lastTerm: 3, granted: true),  // higher last term
    ])
    func upToDateCheck(lastIndex: LogIndex, lastTerm: Term, granted: Bool) throws {
        var node = Fixture.node(1, terms: [1, 2], term: 2)
        try node.step(Fixture.message(2, 1, term: 3, .requestVote(lastLogIndex: lastIndex, lastLogTerm: lastTerm, leaderTransfer: false)))
        #expect(node.sent().last?.kind == .requestVoteResponse(granted: granted))
    }

    @Test("§5.4.1 teeth: with the test-only fault the up-to-date check is skipped")
    func upToDateFaultGrants() throws {
        var node = Fixture.node(1, terms: [1, 2], term: 2, configuration: Fixture.configuration(1, faults: .voteWithoutLogCheck))
        try node.step(Fixture.message(2, 1, term: 3, .requestVote(lastLogIndex: 0, lastLogTerm: 0, leaderTransfer: false)))
        #expect(node.sent().last?.kind == .requestVoteResponse(granted: true))
    }
}
