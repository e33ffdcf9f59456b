import RaftCore
import Testing

/// Raft paper §5.3–§5.5 (Figure 2 "AppendEntries RPC" and "Rules for Servers / Leaders").
@Suite("Raft paper §5.3-5.5: log replication and safety")
struct PaperReplicationTests {
    private func appends(_ messages: [RaftMessage]) -> [(to: ReplicaID, append: AppendEntries)] {
        messages.compactMap { message in
            if case .appendEntries(let append) = message.kind { return (message.to, append) }
            return nil
        }
    }

    @Test("§5.3: the leader appends a proposal to its log and sends AppendEntries to every follower")
    func leaderAppendsAndReplicates() throws {
        var leader = Fixture.node(1)
        leader.elect()
        leader.drain()
        for peer: UInt64 in [2, 3] {
            try leader.step(Fixture.message(peer, 1, term: 1, .appendEntriesResponse(AppendEntriesResponse(success: true, index: 1))))
        }
        leader.drain()
        let index = try leader.propose([42])
        #expect(index == 2)
        let ready = leader.drain()
        #expect(ready.entries == [LogEntry(term: 1, index: 2, payload: .command([42]))])
        let sent = appends(ready.messages)
        #expect(sent.map(\.to) == [2, 3])
        #expect(sent.allSatisfy { $0.append.prevLogIndex == 1 && $0.append.prevLogTerm == 1 && $0.append.entries.count == 1 })
    }

    @Test("§5.3: an entry is committed once a majority stores it, and then handed out for applying")
    func commitOnMajority() throws {
        var leader = Fixture.node(1, voters: 5)
        leader.elect()
        leader.drain()
        #expect(leader.commitIndex == 0)
        try leader.step(Fixture.message(2, 1, term: 1, .appendEntriesResponse(AppendEntriesResponse(success: true, index: 1))))
        #expect(leader.commitIndex == 0)
        try leader.step(Fixture.message(3, 1, term: 1, .appendEntriesResponse(AppendEntriesResponse(success: true, index: 1))))
        #expect(leader.commitIndex == 1)
        let ready = leader.drain()
        #expect(ready.committedEntries.map(\.index) == [1])
        #expect(ready.hardState?.commit == 1)
    }

    @Test("§5.3: the leader counts itself only once its own entries are persisted")
    func leaderCountsItselfAfterPersisting() throws {
        var leader = Fixture.node(1)
        leader.elect()
        // Not yet persisted: the follower's acknowledgement alone is not a majority of 3.
        try leader.step(Fixture.message(2, 1, term: 1, .appendEntriesResponse(AppendEntriesResponse(success: true, index: 1))))
        #expect(leader.commitIndex == 0)
        leader.drain()
        #expect(leader.commitIndex == 1)
    }

    @Test("§5.3: a follower applies entries up to leaderCommit (bounded by what it received)")
    func followerCommitsFromLeaderCommit() throws {
        var follower = Fixture.node(2)
        let entries = [LogEntry(term: 1, index: 1, payload: .command([1])), LogEntry(term: 1, index: 2, payload: .command([2]))]
        try follower.step(Fixture.message(1, 2, term: 1, .appendEntries(AppendEntries(prevLogIndex: 0, prevLogTerm: 0, entries: entries, leaderCommit: 5))))
        #expect(follower.commitIndex == 2)
        let ready = follower.drain()
        #expect(ready.entries == entries)
        #expect(ready.committedEntries == entries)
        #expect(ready.messages.last?.kind == .appendEntriesResponse(AppendEntriesResponse(success: true, index: 2)))
    }

    @Test("§5.3: a follower rejects AppendEntries whose previous entry it lacks, with a backtracking hint")
    func followerRejectsMismatch() throws {
        var follower = Fixture.node(2, terms: [1, 1, 2, 2], term: 2)
        let append = AppendEntries(prevLogIndex: 6, prevLogTerm: 3, entries: [], leaderCommit: 0)
        try follower.step(Fixture.message(1, 2, term: 3, .appendEntries(append)))
        let response = AppendEntriesResponse(success: false, index: 6, conflictIndex: 4, conflictTerm: 2)
        #expect(follower.sent().last?.kind == .appendEntriesResponse(response))
    }

    @Test("§5.3: a follower deletes a conflicting entry and everything after it, then appends")
    func followerTruncatesConflicts() throws {
        var follower = Fixture.node(2, terms: [1, 1, 2, 2], term: 2)
        follower.drain()
        let replacement = [LogEntry(term: 3, index: 3, payload: .command([9]))]
        try follower.step(Fixture.message(1, 2, term: 3, .appendEntries(AppendEntries(prevLogIndex: 2, prevLogTerm: 1, entries: replacement, leaderCommit: 0))))
        #expect(follower.lastIndex == 3)
        #expect(follower.term(at: 3) == 3)
        #expect(follower.drain().entries == replacement)
    }

    @Test("§5.3: a follower keeps entries that already match (duplicate AppendEntries are harmless)")
    func followerIgnoresDuplicateAppend() throws {
        var follower = Fixture.node(2, terms: [1, 1, 1], term: 1)
        follower.drain()
        let stale = [LogEntry(term: 1, index: 1, payload: .command([0]))]
        try follower.step(Fixture.message(1, 2, term: 1, .appendEntries(AppendEntries(prevLogIndex: 0, prevLogTerm: 0, entries: stale, leaderCommit: 0))))
        #expect(follower.lastIndex == 3)
        #expect(follower.drain().entries.isEmpty)
    }

    @Test("§5.3: the leader backtracks to the last matching entry and repairs a divergent follower")
    func leaderRepairsFollowerLog() {
        var cluster = TestCluster(voters: 3)
        // Node 3 holds an uncommitted suffix from an old term that must be overwritten.
        cluster.nodes[3] = Fixture.node(3, terms: [1, 2, 2, 2, 2], term: 2)
        cluster.nodes[1] = Fixture.node(1, terms: [1, 3], term: 3)
        cluster.nodes[2] = Fixture.node(2, terms: [1, 3], term: 3)
        cluster.nodes[1]?.elect()
        cluster.deliverAll()
        #expect(cluster.nodes[1]?.role == .leader)
        #expect(cluster.nodes[3]?.lastIndex == 3)
        #expect(cluster.nodes[3]?.term(at: 2) == 3)
        #expect(cluster.nodes[3]?.term(at: 3) == 4)
        #expect(cluster.nodes[3]?.commitIndex == 3)
    }

    @Test("§5.4.2 / Figure 8: a leader does not commit an entry of an earlier term by counting replicas")
    func figure8NoCommitByCountingPreviousTerm() throws {
        // S1 was leader in term 2 and wrote index 2; it is re-elected in term 4 (Figure 8 (c)).
        var leader = Fixture.node(1, voters: 5, terms: [1, 2], term: 3, commit: 1)
        leader.elect()
        #expect(leader.term == 4)
        leader.drain()  // persists the term-4 empty entry at index 3
        for peer: UInt64 in [2, 3] {
            try leader.step(Fixture.message(peer, 1, term: 4, .appendEntriesResponse(AppendEntriesResponse(success: true, index: 2))))
        }
        // Index 2 (term 2) is on S1, S2, S3 — a majority — but must not be committed.
        #expect(leader.commitIndex == 1)
        for peer: UInt64 in [2, 3] {
            try leader.step(Fixture.message(peer, 1, term: 4, .appendEntriesResponse(AppendEntriesResponse(success: true, index: 3))))
        }
        // Once an entry of term 4 is on a majority, it and everything before it commit.
        #expect(leader.commitIndex == 3)
    }

    @Test("§5.4.2 teeth: the test-only fault commits the earlier-term entry by counting")
    func figure8FaultCommitsEarly() throws {
        let configuration = Fixture.configuration(1, faults: .commitPreviousTermEntries)
        var leader = Fixture.node(1, voters: 5, terms: [1, 2], term: 3, commit: 1, configuration: configuration)
        leader.elect()
        leader.drain()
        for peer: UInt64 in [2, 3] {
            try leader.step(Fixture.message(peer, 1, term: 4, .appendEntriesResponse(AppendEntriesResponse(success: true, index: 2))))
        }
        #expect(leader.commitIndex == 2)
    }

    @Test("§5.4.2 / Figure 8 end to end: the term-2 entry is overwritten only while uncommitted")
    func figure8Scenario() {
        // (a)-(b): S5 becomes leader of term 3 holding index 2 of term 3; S1 holds index 2 of
        // term 2 on S1 and S2. (d): S5 may overwrite index 2 because it was never committed.
        var cluster = TestCluster(voters: 5)
        cluster.nodes[1] = Fixture.node(1, voters: 5, terms: [1, 2], term: 2)
        cluster.nodes[2] = Fixture.node(2, voters: 5, terms: [1, 2], term: 2)
        cluster.nodes[3] = Fixture.node(3, voters: 5, terms: [1], term: 2)
        cluster.nodes[4] = Fixture.node(4, voters: 5, terms: [1], term: 2)
        cluster.nodes[5] = Fixture.node(5, voters: 5, terms: [1, 3], term: 3)
        cluster.nodes[5]?.campaign()
        cluster.deliverAll()
        #expect(cluster.nodes[5]?.role == .leader)
        for id: UInt64 in 1...5 {
            #expect(cluster.nodes[ReplicaID(id)]?.term(at: 2) == 3)
        }
        #expect(cluster.nodes[1]?.commitIndex == 3)
    }

    @Test("§5.5: a follower's response to a repeated AppendEntries is the same (RPCs are idempotent)")
    func idempotentAppend() throws {
        var follower = Fixture.node(2)
        let append = AppendEntries(prevLogIndex: 0, prevLogTerm: 0, entries: [LogEntry(term: 1, index: 1, payload: .empty)], leaderCommit: 0)
        try follower.step(Fixture.message(1, 2, term: 1, .appendEntries(append)))
        let first = follower.sent()
        try follower.step(Fixture.message(1, 2, term: 1, .appendEntries(append)))
        let second = follower.sent()
        #expect(first.last == second.last)
        #expect(follower.lastIndex == 1)
    }

    @Test("a proposal to a follower fails with notLeader and a hint")
    func proposeOnFollowerFails() throws {
        var follower = Fixture.node(2)
        try follower.step(Fixture.message(1, 2, term: 1, .heartbeat(commitIndex: 0, readSequence: 0)))
        #expect(throws: RaftError.notLeader(leaderHint: 1)) {
            try follower.propose([1])
        }
    }

    @Test("batching: one AppendEntries carries at most maxMessageBytes (at least one entry)")
    func batchingRespectsMaxBytes() throws {
        var leader = Fixture.node(1, configuration: Fixture.configuration(1, maxMessageBytes: 100))
        leader.elect()
        // Follower 2 is in probe state (paused after the first append): proposals queue up.
        for _ in 0..<3 { _ = try leader.propose([UInt8](repeating: 1, count: 30)) }
        leader.drain()
        try leader.step(Fixture.message(2, 1, term: 1, .appendEntriesResponse(AppendEntriesResponse(success: true, index: 1))))
        let toTwo = appends(leader.drain().messages).filter { $0.to == 2 }
        // Each entry counts 16 + 30 bytes: two fit in 100 bytes, the third goes alone.
        #expect(toTwo.map(\.append.entries.count) == [2, 1])
    }

    @Test("pipelining: at most maxInflightMessages unacknowledged appends per follower")
    func pipeliningRespectsInflight() throws {
        var leader = Fixture.node(1, configuration: Fixture.configuration(1, maxInflight: 2))
        leader.elect()
        leader.drain()
        try leader.step(Fixture.message(2, 1, term: 1, .appendEntriesResponse(AppendEntriesResponse(success: true, index: 1))))
        leader.drain()
        for _ in 0..<5 { _ = try leader.propose([1]) }
        let toTwo = appends(leader.drain().messages).filter { $0.to == 2 && !$0.append.entries.isEmpty }
        #expect(toTwo.count == 2)
        try leader.step(Fixture.message(2, 1, term: 1, .appendEntriesResponse(AppendEntriesResponse(success: true, index: 2))))
        let more = appends(leader.drain().messages).filter { $0.to == 2 && !$0.append.entries.isEmpty }
        #expect(more.count == 1)
    }

    @Test("probe state: a follower with unknown match gets one append at a time")
    func probeSendsOneAtATime() throws {
        var leader = Fixture.node(1)
        leader.elect()
        for _ in 0..<3 { _ = try leader.propose([1]) }
        let toTwo = appends(leader.drain().messages).filter { $0.to == 2 }
        #expect(toTwo.count == 1)
        #expect(toTwo.first?.append.prevLogIndex == 0)
    }

    @Test("§8: a new leader appends an empty entry of its term and replicates it")
    func newLeaderAppendsEmptyEntry() {
        var leader = Fixture.node(1, terms: [1, 1], term: 1)
        leader.elect()
        let ready = leader.drain()
        #expect(ready.entries == [LogEntry(term: 2, index: 3, payload: .empty)])
        #expect(appends(ready.messages).map(\.to) == [2, 3])
    }

    @Test("§5.3 Leader Append-Only: a rejection never changes the leader's own log")
    func leaderAppendOnly() throws {
        var leader = Fixture.node(1, terms: [1, 1, 2], term: 2)
        leader.elect()
        leader.drain()
        let before = (1...4).map { leader.term(at: LogIndex($0)) }
        try leader.step(Fixture.message(2, 1, term: 3, .appendEntriesResponse(AppendEntriesResponse(success: false, index: 3, conflictIndex: 1, conflictTerm: 1))))
        #expect((1...4).map { leader.term(at: LogIndex($0)) } == before)
        let retry = appends(leader.sent()).first { $0.to == 2 }
        #expect(retry?.append.prevLogIndex == 1)
        #expect(retry?.append.entries.map(\.index) == [2, 3, 4])
    }

    @Test("§5.4.1: RequestVote carries the candidate's last log index and term")
    func requestVoteCarriesLastEntry() {
        var node = Fixture.node(1, terms: [1, 3, 3], term: 3)
        node.campaign()
        let kinds = node.sent().map(\.kind)
        #expect(kinds.allSatisfy { $0 == .requestVote(lastLogIndex: 3, lastLogTerm: 3, leaderTransfer: false) })
    }
}

@Suite("Flow control")
struct FlowControlTests {
    @Test("a leader refuses proposals while maxUncommittedEntries are uncommitted")
    func uncommittedLimit() throws {
        var configuration = Fixture.configuration(1)
        configuration.maxUncommittedEntries = 3
        var leader = Fixture.node(1, configuration: configuration)
        leader.elect()
        _ = try leader.propose([1])
        _ = try leader.propose([2])
        #expect(throws: RaftError.tooManyUncommittedEntries) {
            try leader.propose([3])
        }
    }
}
