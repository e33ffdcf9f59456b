import NakshaCore
import RaftCore
import Testing

/// Nothing a peer sends may crash the core: random and malformed messages are handled.
@Suite("Robustness against arbitrary peer input")
struct RobustnessTests {
    private static func randomIndex(_ random: inout SeededGenerator) -> LogIndex {
        switch random.next(below: 4) {
        case 0: return LogIndex.max - random.next(below: 3)
        case 1: return random.next(below: 3)
        default: return random.next(below: 12)
        }
    }

    private static func randomMessage(_ random: inout SeededGenerator, to: ReplicaID) -> RaftMessage {
        let from = ReplicaID(1 + random.next(below: 4))
        let term = random.next(below: 8) == 0 ? Term.max : random.next(below: 6)
        let index = randomIndex(&random)
        let otherTerm = random.next(below: 6)
        let kind: RaftMessage.Kind
        switch random.next(below: 10) {
        case 0: kind = .preVote(lastLogIndex: index, lastLogTerm: otherTerm)
        case 1: kind = .preVoteResponse(granted: random.next(below: 2) == 0)
        case 2: kind = .requestVote(lastLogIndex: index, lastLogTerm: otherTerm, leaderTransfer: random.next(below: 2) == 0)
        case 3: kind = .requestVoteResponse(granted: random.next(below: 2) == 0)
        case 4:
            let count = Int(random.next(below: 4))
            let entries = (0..<count).map { offset in
                LogEntry(term: random.next(below: 6), index: randomIndex(&random) &+ LogIndex(offset), payload: .command([1]))
            }
            kind = .appendEntries(AppendEntries(prevLogIndex: index, prevLogTerm: otherTerm, entries: entries, leaderCommit: randomIndex(&random)))
        case 5:
            kind = .appendEntriesResponse(AppendEntriesResponse(
                success: random.next(below: 2) == 0, index: index, conflictIndex: randomIndex(&random), conflictTerm: otherTerm))
        case 6: kind = .heartbeat(commitIndex: index, readSequence: random.next())
        case 7: kind = .heartbeatResponse(readSequence: random.next())
        case 8:
            let metadata = SnapshotMetadata(index: random.next(below: 20), term: otherTerm, membership: Membership(voters: [1, 2, 3]))
            kind = .installSnapshot(Snapshot(metadata: metadata, data: []))
        default: kind = .timeoutNow
        }
        return RaftMessage(from: from, to: to, term: term, kind: kind)
    }

    @Test("random messages never crash a follower or a leader", arguments: 0..<8)
    func randomMessages(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        var follower = Fixture.node(2, terms: [1, 1, 2], term: 2, commit: 1)
        var leader = Fixture.node(1, terms: [1, 1, 2], term: 2, commit: 1)
        leader.elect()
        for _ in 0..<2_000 {
            try? follower.step(Self.randomMessage(&random, to: 2))
            try? leader.step(Self.randomMessage(&random, to: 1))
            if random.next(below: 5) == 0 {
                follower.tick()
                leader.tick()
                _ = try? leader.propose([1])
            }
            follower.drain()
            leader.drain()
            #expect(follower.commitIndex <= follower.lastIndex)
            #expect(leader.commitIndex <= leader.lastIndex)
        }
    }

    @Test("a misaddressed message is rejected with a typed error")
    func misaddressed() {
        var node = Fixture.node(1)
        #expect(throws: RaftError.misaddressedMessage(to: 2, at: 1)) {
            try node.step(Fixture.message(3, 2, term: 1, .timeoutNow))
        }
    }
}
